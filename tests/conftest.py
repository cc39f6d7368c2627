"""Fixtures: the tiny models as the registry and the policy's defaults, and a user model folder of
the tests' own (helpers.py has the rest)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowzip import policy, zoo
from helpers import GLOW_CONFIG, TINY, random_glow, random_model, set_policy, tiny_config, tiny_policy


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
