"""Every implementation against its contract (tests/checks.py): both entropy stacks, the tile codec
of every model family (a new family adds a tiny model of itself to ``TINY_MODELS``), every bijection
the flows are made of, float and exact, and every pipeline."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from flowzip import api, families, pipelines, zoo
from flowzip.entropy.ans import AnsStack
from flowzip.entropy.rans import RansStack
from flowzip.fileformat import container
from flowzip.flows.idf import ExactIDF
from flowzip.images.image import Picture
from flowzip.models.glow import ActNorm, AffineCoupling, FlowStep, InvConv1x1
from flowzip.models.layers import AdditiveCoupling
from flowzip.pipelines.codecs import codec_for

from checks import check_bijection, check_pipeline, check_stack, check_tile_codec
from helpers import GLOW_CONFIG, random_glow, random_model, set_policy, tiny_config, tiny_guided, tiny_prior

STACKS = [AnsStack, RansStack]
TINY_MODELS = {  # family name -> a tiny loaded model of that family
    "idf": lambda: zoo.from_torch(random_model(3), "idf", tiny_config(3)),
    "glow": lambda: zoo.from_torch(random_glow(), "glow", GLOW_CONFIG),
    "classical": lambda: zoo.load_model(zoo.CLASSICAL),
    "local": lambda: tiny_prior()[1],
    "guided": tiny_guided,
}


def test_every_family_has_a_tiny_model_here():
    assert sorted(TINY_MODELS) == sorted(f.name for f in families.FAMILIES)


@pytest.mark.parametrize("stack", STACKS, ids=lambda s: s.__name__)
def test_entropy_stacks(stack):
    check_stack(stack)


@pytest.mark.parametrize("stack", STACKS, ids=lambda s: s.__name__)
@pytest.mark.parametrize("family", [f.name for f in families.FAMILIES])
def test_tile_codecs(family, stack):
    model = TINY_MODELS[family]()
    codec = codec_for(model)
    if stack not in getattr(codec, "entropy_stacks", STACKS):
        pytest.skip(f"the {family} codec codes on {', '.join(s.__name__ for s in codec.entropy_stacks)} only")
    rng = np.random.default_rng(7)
    tiles = rng.integers(0, 256, (3, model.channels or 3, 16, 32)).astype(np.uint8)
    check_tile_codec(codec, tiles, stack=stack)
    if not model.channels:  # a coder of any depth: 12-bit samples too
        check_tile_codec(codec, rng.integers(0, 4096, (2, 2, 8, 9)).astype(np.uint16), bits=12, stack=stack)


class _ExactLevel:
    """An exact IDF level's couplings as a bijection on integer tensors."""

    def __init__(self, model: ExactIDF, level: int):
        self.model, self.level = model, level

    def forward(self, x):
        return torch.from_numpy(self.model.transform(self.level, x.numpy().astype(np.int64)).copy()).double(), 0.0

    def inverse(self, y):
        return torch.from_numpy(self.model.untransform(self.level, y.numpy().astype(np.int64)).copy()).double(), 0.0


def _random_layer(layer, seed: int = 0):
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    return layer.double()


@pytest.mark.parametrize("channels", [2, 4, 12])
def test_integer_bijections(channels):
    x = torch.randint(-128, 128, (3, channels, 5, 7)).double()
    check_bijection(_random_layer(AdditiveCoupling(channels, hidden=8)), x, exact=True)
    exact = ExactIDF(tiny_config(3), zoo.from_torch(random_model(3), "idf", tiny_config(3)).weights)
    for level in range(len(exact.arch.levels)):
        c = exact.arch.levels[level].channels
        check_bijection(_ExactLevel(exact, level), torch.randint(-128, 128, (2, c, 4, 6)).double(), exact=True)


@pytest.mark.parametrize("make", [ActNorm, InvConv1x1, lambda c: AffineCoupling(c, 8), lambda c: FlowStep(c, 8)],
                         ids=["actnorm", "conv1x1", "coupling", "step"])
def test_float_bijections(make):
    check_bijection(_random_layer(make(4)), torch.randn(2, 4, 3, 2, dtype=torch.float64))


def test_the_float_glow_walks_back_up():
    glow = random_glow().double()
    v = torch.rand(2, 3, 8, 8, dtype=torch.float64) - 0.5
    with torch.no_grad():
        back = glow.generate(glow.latents(v), 2, 8, 8)
    torch.testing.assert_close(back, v, rtol=1e-9, atol=1e-9)


def _images(rng, shapes):
    return [(f"{i}.png", Picture(rng.integers(0, 256, shape).astype(np.uint8), {1: "L", 3: "RGB", 4: "RGBA"}[shape[2]]))
            for i, shape in enumerate(shapes)]


@pytest.mark.parametrize("layout", ["tiled", "stacked", "chunked"])
def test_pipelines(tiny_models, monkeypatch, layout):
    set_policy(monkeypatch, bits_back={3: "tiny-glow"}, classical=zoo.CLASSICAL)
    rng = np.random.default_rng(11)
    if layout == "tiled":
        pictures, options = _images(rng, [(20, 33, 4)]), dict(tile=16)
    else:
        pictures = _images(rng, [(20, 17, 3)] * 8 + [(9, 7, 1), (16, 16, 4)])
        options = dict(archive=True, tile=16, chunk=0 if layout == "stacked" else 3000, effort=5)
    plan = api.plans([p for _, p in pictures], **options)[0]
    assert plan.layout == {"tiled": container.TILED, "stacked": container.STACKED, "chunked": container.CHUNKED}[layout]
    models = {name: zoo.load_model(name) for name in plan.models}
    header = pipelines.header_for(plan, pictures, models)
    codecs = [codec_for(models[name]) for name in plan.models]
    check_pipeline(pipelines.PIPELINES[plan.layout], header, [p.pixels for _, p in pictures], codecs)
