"""Fixtures: the tiny models as the registry and the policy's defaults (with the tiny Glow as the
bits-back default, or archives cut into small chunks), a user model folder of the tests' own, and
a tree of photos (helpers.py and samples.py have the rest)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from flowzip import policy, zoo

from helpers import GLOW_CONFIG, TINY, random_glow, random_model, set_policy, tiny_config, tiny_policy
from samples import smooth


@pytest.fixture(scope="session")
def tiny_zoo_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("zoo")
    for name, channels in TINY.items():
        zoo.export(random_model(channels), "idf", tiny_config(channels), name, folder)
    zoo.export(random_model(3, seed=1), "idf", tiny_config(3), "tiny-rgb-photo", folder)
    zoo.export(random_model(1, seed=1), "idf", tiny_config(1), "tiny-gray-photo", folder)
    zoo.export(random_glow(), "glow", GLOW_CONFIG, "tiny-glow", folder)
    zoo.export(random_glow(seed=1), "glow", GLOW_CONFIG, "tiny-glow-photo", folder)
    return folder


@pytest.fixture(autouse=True, scope="session")
def user_model_folder(tmp_path_factory):
    """Tests never touch the real user model folder."""
    with pytest.MonkeyPatch.context() as mp:
        folder = tmp_path_factory.mktemp("user-models")
        mp.setenv(zoo.MODEL_DIR_VARIABLE, str(folder))
        yield folder


@pytest.fixture
def classical(tiny_models, monkeypatch):
    """The tiny models with the classical coder (the defaults' choice of coder per picture)."""
    set_policy(monkeypatch, classical=zoo.CLASSICAL)
    return tiny_models


@pytest.fixture
def tiny_models(tiny_zoo_dir, monkeypatch):
    """Make the tiny random models the registry and the policy's defaults for one test."""
    monkeypatch.setattr(zoo, "pretrained_dir", lambda: tiny_zoo_dir)
    monkeypatch.setattr(policy, "DEFAULT", tiny_policy())
    return tiny_zoo_dir


@pytest.fixture
def glow_default(tiny_models, monkeypatch):
    """The tiny Glow as the bits-back default for colour planes."""
    set_policy(monkeypatch, bits_back={3: "tiny-glow"})


@pytest.fixture
def small_chunks(tiny_models, monkeypatch):
    """Archives of the tests' small images cut into several chunks by default."""
    set_policy(monkeypatch, archive_chunk=3 * 16 * 16 * 3)


@pytest.fixture
def tree(tmp_path):
    """photos/a.png, photos/sub/b.png, photos/sub/deeper/c.bmp (and a text file, not an image)."""
    rng = np.random.default_rng(1)
    root = tmp_path / "photos"
    (root / "sub" / "deeper").mkdir(parents=True)
    for rel, shape in [("a.png", (20, 16, 3)), ("sub/b.png", (9, 30, 3)), ("sub/deeper/c.bmp", (16, 16, 3))]:
        Image.fromarray(smooth(rng, *shape)).save(root / rel)
    (root / "notes.txt").write_text("not an image")
    return root


@pytest.fixture
def tinyset(tmp_path):
    """tinyset/im0-2.png: three 8x8 colour images."""
    rng = np.random.default_rng(0)
    path = tmp_path / "tinyset"
    path.mkdir()
    for k in range(3):
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(path / f"im{k}.png")
    return path


@pytest.fixture(autouse=True)
def threads_restored():
    """A test that sets this process's threads (as a worker, the cluster's task or the command line
    does) leaves BLAS's and torch's as it found them."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    with threadpool_limits(limits=None):
        yield
    torch.set_num_threads(before)
