"""``flowzip decompress`` on the command line."""

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from flowzip import api
from flowzip.cli.main import main

from helpers import compressed_archive, one_error_line


def test_truncated_file_leaves_no_output(runner, tiny_models, image_path, tmp_path):
    fz = tmp_path / "photo.fz"
    runner.invoke(main, ["compress", str(image_path)])
    fz.write_bytes(fz.read_bytes()[:-5])
    out = tmp_path / "out.png"
    line = one_error_line(runner.invoke(main, ["decompress", str(fz), "-o", str(out)]))
    assert "truncated" in line
    assert not out.exists()
    assert not list(tmp_path.glob(".*.tmp"))


def test_output_format_is_checked_before_decoding(runner, tiny_models, image_path, tmp_path, monkeypatch):
    assert runner.invoke(main, ["compress", str(image_path)]).exit_code == 0

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded before the output was checked")

    monkeypatch.setattr(api.Archive, "decode_each", no_decoding)
    line = one_error_line(runner.invoke(main, ["decompress", str(tmp_path / "photo.fz"), "-o",
                                                str(tmp_path / "x.jpg")]))
    assert "lossless format" in line and not (tmp_path / "x.jpg").exists()


def test_an_archive_from_standard_input_needs_a_folder(tiny_models, tmp_path, monkeypatch):
    runner = CliRunner()
    archive, paths = compressed_archive(runner, tmp_path)
    monkeypatch.chdir(tmp_path)
    line = one_error_line(runner.invoke(main, ["decompress", "-"], input=archive.read_bytes()))
    assert "-o FOLDER" in line and not (tmp_path / "-").exists()
    result = runner.invoke(main, ["decompress", "-", "-o", "restored"], input=archive.read_bytes())
    assert result.exit_code == 0, result.output
    for p in paths:
        np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "restored" / p.name)), np.asarray(Image.open(p)))


def _alpha_png(path, mode="RGBA", seed=3):
    """Transparent pixels of every colour: what PPM, BMP and a careless WebP lose."""
    pixels = np.random.default_rng(seed).integers(0, 256, (12, 10, len(mode)), dtype=np.uint8)
    pixels[::2, :, -1] = 0
    Image.fromarray(pixels, mode).save(path)
    return pixels


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_is_written_exactly_or_refused_before_decoding(runner, tiny_models, tmp_path, monkeypatch, mode):
    pixels = _alpha_png(tmp_path / "a.png", mode)
    assert runner.invoke(main, ["compress", str(tmp_path / "a.png"), "-q"]).exit_code == 0
    fz = tmp_path / "a.fz"
    real = api.Archive.decode_each

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded before the output was checked")

    monkeypatch.setattr(api.Archive, "decode_each", no_decoding)
    refused = [".ppm", ".bmp"] + ([".webp"] if mode == "LA" else [])
    for suffix in refused:
        line = one_error_line(runner.invoke(main, ["decompress", str(fz), "-o", str(tmp_path / f"b{suffix}")]))
        assert line.startswith(f"flowzip: error: {fz}: ") and "cannot hold an" in line
        assert not (tmp_path / f"b{suffix}").exists()
    monkeypatch.setattr(api.Archive, "decode_each", real)
    for suffix in [".tif", ".png"] + ([".webp"] if mode == "RGBA" else []):
        result = runner.invoke(main, ["decompress", str(fz), "-o", str(tmp_path / f"b{suffix}")])
        assert result.exit_code == 0, result.output
        with Image.open(tmp_path / f"b{suffix}") as im:
            assert im.mode == mode
            np.testing.assert_array_equal(np.asarray(im).reshape(pixels.shape), pixels)


def test_an_archive_keeps_a_stored_suffix_only_where_it_holds_the_image(runner, tiny_models, tmp_path):
    rgba = _alpha_png(tmp_path / "a.png")
    Image.fromarray(rgba, "RGBA").save(tmp_path / "x.tif")
    Image.fromarray(rgba[..., :3]).save(tmp_path / "y.bmp")
    archive = tmp_path / "set.fz"
    assert runner.invoke(main, ["compress", str(tmp_path / "x.tif"), str(tmp_path / "y.bmp"), "-o", str(archive),
                                "-q"]).exit_code == 0
    from flowzip.cli.decompress import archive_outputs

    header = api.inspect(archive.read_bytes())
    header.entries[0].name = "x.bmp"  # an RGBA image under a BMP name goes to PNG
    assert [p.name for p in archive_outputs(header.entries, tmp_path)] == ["x.png", "y.bmp"]


def test_a_palette_is_said_to_be_one(runner, classical, tmp_path):
    image = Image.new("P", (6, 4))
    image.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0])
    image.save(tmp_path / "p.png")
    assert runner.invoke(main, ["compress", str(tmp_path / "p.png"), "-q"]).exit_code == 0
    result = runner.invoke(main, ["decompress", str(tmp_path / "p.fz"), "-o", str(tmp_path / "back.png")])
    assert result.exit_code == 0 and "6x4 palette of 3 colours" in result.output


def test_a_truncated_archive_is_said_truncated(runner, tiny_models, tmp_path):
    archive, _ = compressed_archive(runner, tmp_path)
    data = archive.read_bytes()
    for cut in (len(data) // 3, len(data) // 2, len(data) - 9):
        archive.write_bytes(data[:cut])
        line = one_error_line(runner.invoke(main, ["decompress", str(archive), "-o", str(tmp_path / "out")]))
        assert f"{archive}: truncated file" in line


def test_standard_input_is_never_read_from_a_terminal(monkeypatch):
    import sys

    from flowzip.cli import common
    from flowzip.errors import FlowzipError

    class Terminal:
        @staticmethod
        def isatty():
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    with pytest.raises(FlowzipError, match="refusing to read a .fz file from a terminal"):
        common.read(common.STDIO)


def test_an_archive_of_one_image_restored_says_one_image(runner, tiny_models, tmp_path):
    archive, paths = compressed_archive(runner, tmp_path)
    result = runner.invoke(main, ["decompress", str(archive), "--only", paths[0].name, "-o", str(tmp_path / "one")])
    assert result.exit_code == 0 and result.output.strip().endswith(": 1 image")
