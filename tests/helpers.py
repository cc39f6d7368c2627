"""Helpers of the tests: tiny random-weight models that keep most tests fast, policies made of
them, the threads coding uses, and where the test data are."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from flowzip import families, policy, zoo
from flowzip.fileformat import container
from flowzip.fileformat.checks import pixel_crc
from flowzip.architecture.localprior import OUTPUTS, LocalPriorConfig
from flowzip.models.localprior import LocalPrior

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TINY = {"tiny-rgb": 3, "tiny-gray": 1}

def tiny_config(channels: int) -> dict:
    return {"channels": channels, "levels": 3, "couplings": [2, 2, 2], "hidden": 8, "prior_hidden": 8}


def random_model(channels: int, seed: int = 0, scale: float = 0.05):
    """A tiny IDF with small random weights (non-trivial couplings and priors)."""
    torch.manual_seed(seed)
    model = families.by_name("idf").build(tiny_config(channels))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * scale)
    return model


GLOW_CONFIG = {"channels": 3, "levels": 2, "steps": [2, 2], "hidden": 8, "prior_hidden": 8}


def random_glow(seed: int = 0, scale: float = 0.05):
    """A tiny Glow, actnorm initialised on random images, with small random weights everywhere
    (so that couplings and priors are not the identity)."""
    torch.manual_seed(seed)
    model = families.by_name("glow").build(GLOW_CONFIG)
    model.initialize(torch.randint(0, 256, (8, 3, 16, 16)).float())
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * scale)
    return model.eval()


def tiny_policy() -> policy.Policy:
    """The defaults of the tiny models: integer flows only (tests add bits-back models and the
    classical coder)."""
    return policy.Policy(integer={3: "tiny-rgb", 1: "tiny-gray"}, integer_photo={}, bits_back={}, bits_back_photo={},
                         classical=None)


def set_policy(monkeypatch, **changes) -> policy.Policy:
    """The default policy, with ``changes``, for one test."""
    changed = dataclasses.replace(policy.DEFAULT, **changes)
    monkeypatch.setattr(policy, "DEFAULT", changed)
    return changed


@contextlib.contextmanager
def coding_threads(n: int):
    """Code with ``n`` threads where coding can use threads: BLAS (the exact networks' matrix
    products, through threadpoolctl) and numba (as many as it has); restored afterwards."""
    import numba
    from threadpoolctl import threadpool_info, threadpool_limits

    before = numba.get_num_threads()
    with threadpool_limits(limits=n):
        assert all(pool["num_threads"] == n for pool in threadpool_info() if pool["user_api"] == "blas")
        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
        try:
            yield
        finally:
            numba.set_num_threads(before)


def shipped_model_available() -> bool:
    """Whether the shipped models are present (a checkout with pretrained/); damaged or unloadable
    ones then make the tests that use them fail, not skip."""
    return (zoo.pretrained_dir() / f"{policy.Policy().integer[3]}.json").is_file()


def one_error_line(result):
    """The one line a failing command says: an error, no traceback."""
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert lines and lines[-1].startswith("flowzip: error:"), result.output
    assert "Traceback" not in result.output
    return lines[-1]


def png_file(path, shape=(20, 30, 3), seed=0):
    """A random PNG at ``path``."""
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)).save(path)
    return path


def compressed_archive(runner, tmp_path, n=3):
    """``n`` random PNGs compressed through the command line into ``set.fz``: (archive, PNG paths)."""
    from flowzip.cli.main import main

    paths = [png_file(tmp_path / f"im{i}.png", seed=i) for i in range(n)]
    archive = tmp_path / "set.fz"
    assert runner.invoke(main, ["compress", *map(str, paths), "-o", str(archive)]).exit_code == 0
    return archive, paths


def tiny_prior(channels: int = 3, seed: int = 0, **overrides) -> tuple[LocalPrior, zoo.LoadedModel]:
    """A tiny local prior with small random weights and scales of a few pixel values."""
    config = LocalPriorConfig(**{**dict(channels=channels, horizon=2, width=8, layers=1, mixture=3), **overrides})
    torch.manual_seed(seed)
    model = LocalPrior(config)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
        for c in range(channels):  # scales of a few pixel values, like a trained model's
            model.out.bias[OUTPUTS.log_scales(config, c)] += 2.0
    return model.eval(), zoo.from_torch(model, "local", config.to_dict(), f"tiny-local-{channels}")


def tiny_guided(seed: int = 0) -> zoo.LoadedModel:
    """``tiny_prior``'s network guiding the classical coder (family ``guided``)."""
    model, _ = tiny_prior(3, seed)
    return zoo.from_torch(model, "guided", model.config.to_dict(), "tiny-guided")


def smooth_image(channels: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth uint8 picture with noise, channels offset from each other."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:height, :width]
    base = 100 + 60 * np.sin(x / 5.0) * np.cos(y / 7.0)
    img = base[None] + rng.normal(0, 6, (channels, height, width)) + np.arange(channels)[:, None, None] * 20
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def by_weights(data: bytes) -> bytes:
    """A numbered compact file (version 6) as version 5: the same header naming its models by
    their weights ids, the same coded bytes."""
    header, start = container.parse(data)
    return container.pack(dataclasses.replace(header, version=container.SEALED), data[start:])


def unsealed(data: bytes) -> bytes:
    """A sealed file as its plain layout: compact (version 5 or 6) as version 4, sealed chunks
    (version 7) as version 3: the same pictures coded by the same unadapted models on plain stacks,
    their pixel CRCs in the header (the models found by their weights)."""
    from flowzip import api
    from flowzip.pipelines import encode

    header = container.parse(data)[0]
    pixels = [picture.pixels for _, picture in api.decode(data)]
    header = dataclasses.replace(header, version=container.CHUNKED)
    for entry, image in zip(header.entries, pixels, strict=True):
        entry.pixel_crc = pixel_crc(image)
    models = [zoo.load_model(zoo.name_of(m.family, m.weights)) for m in header.models]
    return container.pack(header, encode(header, pixels, models)[0])
