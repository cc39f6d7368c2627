"""Per-image adaptation (``flowzip.adapt``): adapters round-trip through their bytes, adapted files
decode exactly (the decoder rebuilds the same twin from base weights plus the adapter), and an
adapter that does not pay is left out."""

import numpy as np
import pytest

from flowzip import adapt, api, policy, zoo
from flowzip.errors import FormatError
from flowzip.fileformat import container
from flowzip.images.image import Picture


def _smooth(rng, h, w, c):
    yy, xx = np.mgrid[0:h, 0:w]
    base = (yy * 3 + xx * 2)[..., None] + np.arange(c) * 30
    return ((base + rng.integers(0, 8, (h, w, c))) % 256).astype(np.uint8)


def test_adapter_bytes_round_trip_and_damage(tiny_models):
    loaded = zoo.load_model("tiny-glow")
    rng = np.random.default_rng(0)
    keys = adapt.adapted_keys(loaded.weights, "biases")
    deltas = {k: rng.integers(-40, 40, loaded.weights[k].shape) for k in keys[::2]}
    deltas[keys[1]] = np.zeros(loaded.weights[keys[1]].shape, np.int64)  # unchanged: not sent
    adapter = adapt.Adapter("biases", deltas)
    data = adapter.to_bytes(loaded.weights)
    back = adapt.Adapter.from_bytes(data, loaded.weights)
    assert set(back.deltas) == set(keys[::2])
    for k in back.deltas:
        np.testing.assert_array_equal(back.deltas[k], deltas[k])
    weights = adapter.apply(loaded.weights)
    assert all(weights[k].dtype == np.float64 for k in deltas)
    for bad in (data[:-3], b"\x07" + data[1:], data[:1], data + b"\0\0\0\0"):
        with pytest.raises(FormatError, match="adapter"):
            adapt.Adapter.from_bytes(bad, loaded.weights)


@pytest.mark.parametrize("model", ["tiny-glow", "tiny-rgb"])
def test_adapted_files_decode_exactly(tiny_models, model, monkeypatch):
    monkeypatch.setitem(policy.EFFORTS, 8, policy.Effort("test", adapt=("biases", 5, 1e-3)))
    monkeypatch.setattr(adapt, "worth_it", lambda *args: True)
    rng = np.random.default_rng(1)
    pictures = [(f"{i}.png", Picture(_smooth(rng, 40, 48, 3), "RGB")) for i in range(3)]
    plan = api.plans([p for _, p in pictures], model, archive=True, tile=16, effort=8)[0]
    assert plan.adapt  # the first candidate adapts; the default effort's plan is a candidate too
    data, _ = api.encode_plan(plan, pictures, api.load(model))
    header = api.inspect(data)
    assert header.version == container.SEALED_CHUNKS and header.models[0].adapter
    for (name, a), (got, b) in zip(pictures, api.decode(data)):
        assert name == got
        np.testing.assert_array_equal(a.pixels, b.pixels)
    plain, _ = api.encode(pictures, model, archive=True, tile=16)
    assert plain != data


def test_an_adapter_that_does_not_pay_is_left_out(tiny_models, monkeypatch):
    monkeypatch.setitem(policy.EFFORTS, 8, policy.Effort("test", adapt=("biases", 2, 1e-6)))
    rng = np.random.default_rng(3)
    pictures = [(f"{i}.png", Picture(_smooth(rng, 32, 32, 3), "RGB")) for i in range(2)]
    data, _ = api.encode(pictures, "tiny-glow", archive=True, tile=16, effort=8)
    assert not any(m.adapter for m in api.inspect(data).models)
