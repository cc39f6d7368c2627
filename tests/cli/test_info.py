"""``flowzip info`` and ``flowzip list``."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

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


def _png(path, shape=(20, 30, 3), seed=0):
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)).save(path)
    return path


def _archive(runner, tmp_path, n=3):
    paths = [_png(tmp_path / f"im{i}.png", seed=i) for i in range(n)]
    archive = tmp_path / "set.fz"
    assert runner.invoke(main, ["compress", *map(str, paths), "-o", str(archive)]).exit_code == 0
    return archive, paths


def test_info_takes_several_files(runner, tiny_models, image_path, tmp_path):
    archive, _ = _archive(runner, tmp_path)
    assert runner.invoke(main, ["compress", str(image_path)]).exit_code == 0
    result = runner.invoke(main, ["info", str(tmp_path / "photo.fz"), str(archive), "--json"])
    assert result.exit_code == 0, result.output
    infos = json.loads(result.output)
    assert [i["file"] for i in infos] == [str(tmp_path / "photo.fz"), str(archive)]
    assert infos[0]["layout"] == "tiled" and infos[1]["images"] == 3
