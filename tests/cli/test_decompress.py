"""``flowzip decompress`` on the command line."""

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from flowzip import api
from flowzip.cli.main import main


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


def _png(path, shape=(20, 30, 3), seed=0):
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)).save(path)
    return path


def _archive(runner, tmp_path, n=3):
    paths = [_png(tmp_path / f"im{i}.png", seed=i) for i in range(n)]
    archive = tmp_path / "set.fz"
    assert runner.invoke(main, ["compress", *map(str, paths), "-o", str(archive)]).exit_code == 0
    return archive, paths


def test_truncated_file_leaves_no_output(runner, tiny_models, image_path, tmp_path):
    fz = tmp_path / "photo.fz"
    runner.invoke(main, ["compress", str(image_path)])
    fz.write_bytes(fz.read_bytes()[:-5])
    out = tmp_path / "out.png"
    line = _one_error_line(runner.invoke(main, ["decompress", str(fz), "-o", str(out)]))
    assert "truncated" in line
    assert not out.exists()
    assert not list(tmp_path.glob(".*.tmp"))


def test_output_format_is_checked_before_decoding(runner, tiny_models, image_path, tmp_path, monkeypatch):
    assert runner.invoke(main, ["compress", str(image_path)]).exit_code == 0

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded before the output was checked")

    monkeypatch.setattr(api.Archive, "decode_each", no_decoding)
    line = _one_error_line(runner.invoke(main, ["decompress", str(tmp_path / "photo.fz"), "-o",
                                                str(tmp_path / "x.jpg")]))
    assert "lossless format" in line and not (tmp_path / "x.jpg").exists()


def test_an_archive_from_standard_input_needs_a_folder(tiny_models, tmp_path, monkeypatch):
    runner = CliRunner()
    archive, paths = _archive(runner, tmp_path)
    monkeypatch.chdir(tmp_path)
    line = _one_error_line(runner.invoke(main, ["decompress", "-"], input=archive.read_bytes()))
    assert "-o FOLDER" in line and not (tmp_path / "-").exists()
    result = runner.invoke(main, ["decompress", "-", "-o", "restored"], input=archive.read_bytes())
    assert result.exit_code == 0, result.output
    for p in paths:
        np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "restored" / p.name)), np.asarray(Image.open(p)))
