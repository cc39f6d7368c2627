import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from flowzip.cli import main


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def image_path(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)).save(path)
    return path


def _one_error_line(result):
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert lines and lines[-1].startswith("flowzip: error:"), result.output
    assert "Traceback" not in result.output
    return lines[-1]


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
    line = _one_error_line(runner.invoke(main, ["compress", str(image_path)]))
    assert "already exists" in line
    assert fz.read_bytes() == b"precious"
    assert runner.invoke(main, ["compress", "-f", str(image_path)]).exit_code == 0
    assert fz.read_bytes() != b"precious"
    # decompressing next to the kept original must not replace it
    before = image_path.read_bytes()
    line = _one_error_line(runner.invoke(main, ["decompress", str(fz)]))
    assert "already exists" in line and image_path.read_bytes() == before


@pytest.mark.parametrize("args, expected", [
    (["compress", "missing.png"], "No such file"),
    (["decompress", "missing.fz"], "missing.fz"),
    (["compress", "-f", "--model", "nope", "IMAGE"], "unknown model"),
    (["decompress", "NOTFZ"], "not a flowzip file"),
    (["decompress", "FZ", "-o", "out.jpg"], "lossless format"),
    (["info", "NOTFZ"], "not a flowzip file"),
])
def test_bad_input_gives_one_line(runner, tiny_models, image_path, tmp_path, args, expected):
    fz = tmp_path / "photo.fz"
    runner.invoke(main, ["compress", str(image_path)])
    subs = {"IMAGE": str(image_path), "NOTFZ": str(image_path), "FZ": str(fz),
            "out.jpg": str(tmp_path / "out.jpg"), "missing.png": str(tmp_path / "missing.png"),
            "missing.fz": str(tmp_path / "missing.fz")}
    line = _one_error_line(runner.invoke(main, [subs.get(a, a) for a in args]))
    assert expected in line
    assert not (tmp_path / "out.jpg").exists()


def test_truncated_file_leaves_no_output(runner, tiny_models, image_path, tmp_path):
    fz = tmp_path / "photo.fz"
    runner.invoke(main, ["compress", str(image_path)])
    fz.write_bytes(fz.read_bytes()[:-5])
    out = tmp_path / "out.png"
    line = _one_error_line(runner.invoke(main, ["decompress", str(fz), "-o", str(out)]))
    assert "truncated" in line
    assert not out.exists()
    assert not list(tmp_path.glob(".*.tmp"))


def test_unwritable_output(runner, tiny_models, image_path, tmp_path):
    line = _one_error_line(runner.invoke(main, ["compress", str(image_path), "-o",
                                                str(tmp_path / "no" / "such" / "dir" / "x.fz")]))
    assert "no" in line


def test_models_lists_the_registry(runner, tiny_models):
    result = runner.invoke(main, ["models"])
    assert result.exit_code == 0 and "tiny-rgb" in result.output and "tiny-gray" in result.output


def test_debug_shows_the_traceback(runner, tiny_models, tmp_path):
    result = runner.invoke(main, ["--debug", "info", str(tmp_path / "nothing.fz")])
    assert result.exit_code != 0 and result.exception is not None


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
    assert "already exists" in _one_error_line(again)


def test_single_bits_back_file_through_the_cli(runner, tiny_models, image_path, tmp_path):
    fz = tmp_path / "glow.fz"
    result = runner.invoke(main, ["compress", str(image_path), "-m", "tiny-glow", "-o", str(fz)])
    assert result.exit_code == 0, result.output
    assert "glow (local bits-back" in runner.invoke(main, ["info", str(fz)]).output
    out = tmp_path / "back.png"
    assert runner.invoke(main, ["decompress", str(fz), "-o", str(out)]).exit_code == 0
    np.testing.assert_array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(image_path)))


def test_models_lists_both_families(runner, tiny_models):
    output = runner.invoke(main, ["models"]).output
    assert "tiny-glow" in output and "bits-back" in output and "integer discrete flow" in output
