"""Fixtures of the command line's tests: a runner, and a small photo."""

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def image_path(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)).save(path)
    return path
