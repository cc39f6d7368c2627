"""The registry of models (``flowzip.zoo``): damaged or missing weights are refused."""

import pytest

from flowzip.errors import ModelError


def test_damaged_weights_are_refused(tiny_zoo_dir, tmp_path, monkeypatch):
    import shutil

    from flowzip import zoo

    folder = tmp_path / "zoo"
    shutil.copytree(tiny_zoo_dir, folder)
    weights = folder / "tiny-rgb.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\0")
    monkeypatch.setattr(zoo, "pretrained_dir", lambda: folder)
    with pytest.raises(ModelError, match="do not match"):
        zoo.load_model.__wrapped__("tiny-rgb")
    (folder / "tiny-rgb.safetensors").unlink()
    with pytest.raises(ModelError, match="missing"):
        zoo.load_model.__wrapped__("tiny-rgb")


def test_a_source_checkout_not_installed_finds_its_shipped_models(monkeypatch):
    """Run from a checkout with ``PYTHONPATH`` (no ``flowzip.pretrained`` package installed), the
    shipped models are the checkout's ``pretrained/`` folder."""
    from pathlib import Path

    from flowzip import zoo

    def not_installed(anchor):
        raise ModuleNotFoundError(f"No module named {anchor!r}")

    monkeypatch.setattr(zoo.resources, "files", not_installed)
    folder = zoo.pretrained_dir()
    assert folder == Path(zoo.__file__).resolve().parent.parent / "pretrained"
    assert (folder / "local-rgb-v1.json").exists()
