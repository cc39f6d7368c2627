"""``flowzip compress`` on the command line."""

import io

import numpy as np
from click.testing import CliRunner
from PIL import Image

from flowzip import api
from flowzip.cli.main import main

from helpers import one_error_line, png_file


def _progress_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("flowzip: ") and " % of " in line]


def test_round_trip_through_the_cli(runner, tiny_models, image_path, tmp_path):
    result = runner.invoke(main, ["compress", str(image_path)])
    assert result.exit_code == 0, result.output
    assert "bpd" in result.output and "PNG" in result.output
    fz = tmp_path / "photo.fz"
    assert fz.exists() and image_path.exists()
    out = tmp_path / "restored.png"
    result = runner.invoke(main, ["decompress", str(fz), "-o", str(out)])
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(image_path)))
    info = runner.invoke(main, ["info", str(fz)])
    assert info.exit_code == 0 and "height: 20" in info.output and "tiny-rgb" in info.output


def test_verify_and_several_files(runner, tiny_models, image_path, tmp_path):
    second = tmp_path / "second.bmp"
    Image.open(image_path).convert("L").save(second)
    out_dir = tmp_path / "out"
    result = runner.invoke(main, ["compress", "--verify", str(image_path), str(second), "-o", f"{out_dir}/"])
    assert result.exit_code == 0, result.output
    assert result.output.count("verified") == 2
    result = runner.invoke(main, ["decompress", str(out_dir / "photo.fz"), str(out_dir / "second.fz"),
                                  "-o", f"{tmp_path / 'back'}/"])
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "back" / "second.png")),
                                  np.asarray(Image.open(second)))


def test_refuses_to_overwrite_without_force(runner, tiny_models, image_path, tmp_path):
    fz = tmp_path / "photo.fz"
    fz.write_bytes(b"precious")
    line = one_error_line(runner.invoke(main, ["compress", str(image_path)]))
    assert "already exists" in line
    assert fz.read_bytes() == b"precious"
    assert runner.invoke(main, ["compress", "-f", str(image_path)]).exit_code == 0
    assert fz.read_bytes() != b"precious"
    # decompressing next to the kept original must not replace it
    before = image_path.read_bytes()
    line = one_error_line(runner.invoke(main, ["decompress", str(fz)]))
    assert "already exists" in line and image_path.read_bytes() == before


def test_unwritable_output(runner, tiny_models, image_path, tmp_path):
    line = one_error_line(runner.invoke(main, ["compress", str(image_path), "-o",
                                                str(tmp_path / "no" / "such" / "dir" / "x.fz")]))
    assert f"folder {tmp_path / 'no' / 'such' / 'dir'} does not exist" in line


def test_pipes_like_gzip(tiny_models, image_path):
    runner = CliRunner()
    compressed = runner.invoke(main, ["compress", "-"], input=image_path.read_bytes())
    assert compressed.exit_code == 0, compressed.output
    fz = compressed.stdout_bytes
    assert fz[:3] == b"FLZ"
    restored = runner.invoke(main, ["decompress", "-"], input=fz)
    assert restored.exit_code == 0
    import io
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(restored.stdout_bytes))),
                                  np.asarray(Image.open(image_path)))


def test_archive_round_trip(runner, tiny_models, tmp_path):
    rng = np.random.default_rng(1)
    paths = []
    for i, (shape, mode) in enumerate([((20, 30, 3), "RGB"), ((9, 7), "L"), ((16, 16, 4), "RGBA")]):
        path = tmp_path / f"im{i}.png"
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(path)
        paths.append(path)
    archive = tmp_path / "set.fz"
    result = runner.invoke(main, ["compress", *map(str, paths), "-o", str(archive), "-m", "tiny-glow", "--verify"])
    assert result.exit_code == 0, result.output
    assert "3 images" in result.output and "verified" in result.output
    info = runner.invoke(main, ["info", str(archive)])
    assert "bits-back" in info.output and "im1.png" in info.output and "images: 3" in info.output
    out = tmp_path / "restored"
    result = runner.invoke(main, ["decompress", str(archive), "-o", str(out)])
    assert result.exit_code == 0, result.output
    for path in paths:
        np.testing.assert_array_equal(np.asarray(Image.open(out / path.name)), np.asarray(Image.open(path)))
    again = runner.invoke(main, ["decompress", str(archive), "-o", str(out)])
    assert "already exists" in one_error_line(again)


def test_single_bits_back_file_through_the_cli(runner, tiny_models, image_path, tmp_path):
    fz = tmp_path / "glow.fz"
    result = runner.invoke(main, ["compress", str(image_path), "-m", "tiny-glow", "-o", str(fz)])
    assert result.exit_code == 0, result.output
    assert "glow (local bits-back" in runner.invoke(main, ["info", str(fz)]).output
    out = tmp_path / "back.png"
    assert runner.invoke(main, ["decompress", str(fz), "-o", str(out)]).exit_code == 0
    np.testing.assert_array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(image_path)))


def test_several_inputs_need_a_folder_or_ancompressed_archive(runner, tiny_models, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    a, b = png_file(tmp_path / "a.png"), png_file(tmp_path / "b.png", seed=1)
    line = one_error_line(runner.invoke(main, ["compress", str(a), str(b), "-o", "set"]))
    assert "-o ARCHIVE.fz" in line and not (tmp_path / "set").exists() and not list(tmp_path.glob("*.fz"))
    assert runner.invoke(main, ["compress", str(a), str(b)]).exit_code == 0
    line = one_error_line(runner.invoke(main, ["decompress", "a.fz", "b.fz", "-o", "one.png"]))
    assert "FOLDER/" in line and not (tmp_path / "one.png").exists()
    assert runner.invoke(main, ["decompress", "a.fz", "b.fz", "-o", "pngs/"]).exit_code == 0
    assert sorted(p.name for p in (tmp_path / "pngs").iterdir()) == ["a.png", "b.png"]


def test_two_inputs_for_one_output_are_refused_before_any_work(runner, tiny_models, tmp_path):
    png = png_file(tmp_path / "photo.png")
    Image.open(png).save(tmp_path / "photo.bmp")
    line = one_error_line(runner.invoke(main, ["compress", str(png), str(tmp_path / "photo.bmp")]))
    assert "both be written to" in line and not (tmp_path / "photo.fz").exists()


def test_archives_and_verification_show_progress(runner, tiny_models, tmp_path, monkeypatch):
    """Where stderr is not a terminal (a log), progress of long work is a line at each quarter."""
    from flowzip.cli import common

    monkeypatch.setattr(common.Progress, "LONG", 1)  # the tests' work is short
    paths = [png_file(tmp_path / f"im{i}.png", seed=i) for i in range(3)]
    archive = tmp_path / "set.fz"
    result = runner.invoke(main, ["compress", *map(str, paths), "-o", str(archive), "--verify"])
    assert result.exit_code == 0, result.output
    lines = _progress_lines(result)
    assert [line.split(": ")[1] for line in lines if "100 %" in line] == ["set.fz", f"verifying {archive}"]
    result = runner.invoke(main, ["decompress", str(archive), "-o", str(tmp_path / "out")])
    lines = _progress_lines(result)
    assert result.exit_code == 0 and lines[-1] == f"flowzip: {archive}: 100 % of 3 tiles"


def test_quiet_prints_nothing(runner, tiny_models, image_path, tmp_path):
    result = runner.invoke(main, ["compress", "-q", "--verify", str(image_path)])
    assert result.exit_code == 0 and result.output == ""
    result = runner.invoke(main, ["decompress", "-q", str(tmp_path / "photo.fz"), "-o", str(tmp_path / "b.png")])
    assert result.exit_code == 0 and result.output == ""


def test_a_larger_fz_than_its_input_is_said(runner, tiny_models, tmp_path):
    path = tmp_path / "photo.jpg"
    Image.fromarray(np.random.default_rng(3).integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(path, quality=20)
    result = runner.invoke(main, ["compress", str(path)])
    assert result.exit_code == 0, result.output
    warning = result.output.strip().splitlines()[-1]
    assert warning.startswith(f"flowzip: warning: {path}: the .fz file (") and "is larger than the input" in warning
    assert "lossy" in warning


def test_slow_efforts_say_what_they_do_on_a_log(runner, tiny_models, image_path, monkeypatch):
    """Where stderr is not a terminal, effort 7 says each stage (each way of coding, the unadapted
    first, then adapting), and the result line says which coder was kept."""
    from flowzip import policy

    monkeypatch.setitem(policy.EFFORTS, 7, policy.Effort("test", coders=policy.BEST, adapt=("norms", 2, 1e-3)))
    result = runner.invoke(main, ["compress", "-7", str(image_path)])
    assert result.exit_code == 0, result.output
    stages = [line for line in result.stderr.splitlines() if line.startswith(f"flowzip: {image_path}: ")]
    ways = [f"flowzip: {image_path}: coding with tiny-rgb ({k} of 3 ways)" for k in (1, 2, 3)]
    assert stages == ways + [f"flowzip: {image_path}: adapting tiny-rgb to the images"]
    assert "coded by tiny-rgb (the smallest of 3 ways)" in result.stdout


def test_adapting_is_skipped_where_the_unadapted_twin_is_far_from_the_best(runner, tiny_models, image_path,
                                                                          monkeypatch):
    from flowzip import policy

    monkeypatch.setitem(policy.EFFORTS, 7, policy.Effort("test", coders=policy.BEST, adapt=("norms", 2, 1e-3)))
    monkeypatch.setattr(api, "ADAPT_GAIN", -1.0)  # a twin never comes near enough
    result = runner.invoke(main, ["compress", "-7", str(image_path)])
    assert result.exit_code == 0, result.output
    assert f"{image_path}: adapting" not in result.stderr
    assert "(the smallest of 2 ways)" in result.stdout


def test_a_missing_output_folder_is_said_before_any_work(runner, tiny_models, image_path, tmp_path, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("coded before the output folder was checked")

    monkeypatch.setattr(api, "encode", no_work)
    other = png_file(tmp_path / "other.png", seed=1)
    for args in (["-o", str(tmp_path / "no" / "x.fz")], [str(other), "-o", str(tmp_path / "no" / "set.fz")]):
        line = one_error_line(runner.invoke(main, ["compress", str(image_path), *args]))
        assert f"folder {tmp_path / 'no'} does not exist" in line


def test_an_archive_of_one_image_says_one_image(runner, tiny_models, tmp_path):
    (tmp_path / "photos").mkdir()
    png_file(tmp_path / "photos" / "a.png")
    result = runner.invoke(main, ["compress", str(tmp_path / "photos"), "-r", "-o", str(tmp_path / "set.fz")])
    assert result.exit_code == 0 and result.stdout.startswith(f"1 image -> {tmp_path / 'set.fz'}: ")


def _tiff_with_a_broken_tag(path):
    """A TIFF whose Software tag (its last) points past the end of the file (Pillow skips the tag
    and warns); its pixels are whole."""
    import struct

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(4).integers(0, 256, (6, 7, 3), dtype=np.uint8)).save(
        buf, "TIFF", software="a scanner's name, long enough to lie elsewhere")
    data = bytearray(buf.getvalue())
    ifd = struct.unpack_from("<I", data, 4)[0]
    for i in range(struct.unpack_from("<H", data, ifd)[0]):
        at = ifd + 2 + 12 * i
        if struct.unpack_from("<H", data, at)[0] == 305:
            struct.pack_into("<I", data, at + 8, 0x7FFFFFF0)
    path.write_bytes(bytes(data))


def test_damage_a_reader_reads_past_is_said_in_one_line(runner, tiny_models, tmp_path):
    path = tmp_path / "scan.tif"
    _tiff_with_a_broken_tag(path)
    result = runner.invoke(main, ["compress", "--no-png", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith(f"flowzip: warning: {path}: the file is damaged, its reader said: ")
    assert "305" in lines[1] or "Truncated" in lines[1]
