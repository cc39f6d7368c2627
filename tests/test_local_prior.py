"""The learned local-context prior: float model and exact twin agree, every kernel against an integer
reference, round trips of awkward shapes, and decoding independent of threads and batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

from flowzip import zoo
from flowzip.architecture.localprior import OUTPUTS, LocalPriorConfig, reference, window
from flowzip.entropy import tables
from flowzip.entropy.ans import AnsStack
from flowzip.entropy.rans import PREC, RansStack
from flowzip.errors import FlowzipError
from flowzip.models.localprior import LocalPrior, causal_inputs
from flowzip.models.localprior import reference as float_reference
from flowzip.priors import kernels
from flowzip.priors.codec import LocalCodec
from flowzip.priors.network import ExactLocalNet
from flowzip.priors.tables import exp_table


def tiny_prior(channels: int = 3, seed: int = 0, **overrides) -> tuple[LocalPrior, zoo.LoadedModel]:
    config = LocalPriorConfig(channels=channels, horizon=2, width=8, layers=1, mixture=3, **overrides)
    torch.manual_seed(seed)
    model = LocalPrior(config)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
        for c in range(channels):  # scales of a few pixel values, like a trained model's
            model.out.bias[OUTPUTS.log_scales(config, c)] += 2.0
    return model.eval(), zoo.from_torch(model, "local", config.to_dict(), f"tiny-local-{channels}")


def smooth_image(channels: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:height, :width]
    base = 100 + 60 * np.sin(x / 5.0) * np.cos(y / 7.0)
    img = base[None] + rng.normal(0, 6, (channels, height, width)) + np.arange(channels)[:, None, None] * 20
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def round_trip(codec: LocalCodec, tiles: np.ndarray) -> tuple[bytes, float]:
    stack = RansStack()
    bits = codec.push(stack, tiles, estimate=True)
    data = stack.to_bytes()
    back = RansStack.from_bytes(data)
    out = codec.pop(back, *tiles.shape)
    assert np.array_equal(out, tiles)
    assert back.is_empty()
    return data, bits


@pytest.mark.parametrize("shape", [(1, 3, 1, 1), (1, 3, 1, 9), (1, 3, 9, 1), (1, 3, 5, 13), (3, 3, 7, 6),
                                   (2, 1, 11, 4)])
def test_round_trip_of_awkward_shapes(shape):
    _, loaded = tiny_prior(shape[1])
    tiles = np.stack([smooth_image(shape[1], *shape[2:], seed=i) for i in range(shape[0])])
    round_trip(LocalCodec(loaded), tiles)


def test_extreme_values_and_noise_round_trip():
    _, loaded = tiny_prior(3, seed=2)
    rng = np.random.default_rng(3)
    tiles = np.stack([rng.integers(0, 256, (3, 12, 10)), np.zeros((3, 12, 10)), np.full((3, 12, 10), 255),
                      rng.choice([0, 255], (3, 12, 10))]).astype(np.uint8)
    round_trip(LocalCodec(loaded), tiles)


def test_coded_size_is_the_float_models_log_likelihood():
    model, loaded = tiny_prior(3)
    tiles = np.stack([smooth_image(3, 24, 20, seed=i) for i in range(2)])
    data, bits = round_trip(LocalCodec(loaded), tiles)
    with torch.no_grad():
        float_bits = -model.log_prob(torch.from_numpy(tiles)).sum().item() / np.log(2)
    assert abs(bits - float_bits) < 0.01 * float_bits  # the integer grid costs well under 1 %
    assert abs(8 * len(data) - bits) < 64 + 0.001 * bits  # the stack grows by the information content


def test_reference_prediction_is_the_same_in_both_forms():
    x = smooth_image(3, 6, 7)
    assert np.array_equal(float_reference(torch.from_numpy(x)[None])[0].numpy(), reference(x))


def test_window_inputs_agree_with_the_float_model():
    model, loaded = tiny_prior(3)
    net = LocalCodec(loaded).net
    x = smooth_image(3, 5, 6)[None]
    ys, xs = np.divmod(np.arange(30), 6)
    values, outside = np.empty((30, 3 * len(net.offsets))), np.empty((30, len(net.offsets)))
    kernels.gather_values(x, np.zeros(30, np.int64), ys, xs, net.offsets, values, outside)
    expected = causal_inputs(torch.from_numpy(x), model.config.horizon)[0].reshape(30, -1, 4).double().numpy() * 4096
    assert np.array_equal(values, expected[:, :, :3].reshape(30, -1))
    assert np.array_equal(outside, 1 - expected[:, :, 3] / 4096)


def test_network_against_integer_reference():
    """ExactLocalNet's float64 products are the integers Python's exact arithmetic gives."""
    _, loaded = tiny_prior(3, seed=4)
    net = LocalCodec(loaded).net
    rng = np.random.default_rng(0)
    inputs = rng.integers(-255, 256, (20, net.inputs)) * 32.0
    flags = np.arange(3, net.inputs, 4)
    inputs[:, flags] = 4096.0 * (rng.random((20, len(flags))) < 0.8)
    inputs[:10, flags] = 4096.0  # inside the picture
    got = net(inputs[:, net.values], 1 - inputs[:, flags] / 4096)

    def dense(layer, a, relu):
        out = []
        for row in a:
            z = [sum(int(v) * int(w) for v, w in zip(row, col)) + int(b)
                 for col, b in zip(layer.matrix.T, layer.bias)]
            z = [q // int(round(1 / s)) for q, s in zip(z, layer.inv_scale)]  # floor division by 2**bits
            lim = int(2**22)
            out.append([min(max(q, 0 if relu else -lim), lim) for q in z])
        return out

    h = dense(net.first, inputs, True)
    for layer in net.hidden:
        h = [[min(a + b, 2**22) for a, b in zip(r, s)] for r, s in zip(h, dense(layer, h, True))]
    assert np.array_equal(got, np.array(dense(net.out, h, False), np.float64))


def _reference_cdf(n: int, inv: int, table: list[int]) -> int:
    """tables' logistic CDF (2**31 scale) at n grid units with Python integers."""
    shift = tables.INTERPOLATION_SHIFT
    pos = n * inv + ((len(table) // 2) << shift)
    idx = pos >> shift
    if idx < 0:
        return 0
    if idx >= len(table) - 1:
        return 1 << 31
    return table[idx] + (((table[idx + 1] - table[idx]) * (pos & ((1 << shift) - 1))) >> shift)


def test_mixture_frequencies_against_integer_reference():
    rng = np.random.default_rng(1)
    inv_scales = tables.scale_tables()[0]
    args = (tables.cdf_table(), tables.INTERPOLATION_SHIFT)
    table = [int(v) for v in tables.cdf_table()]
    for _ in range(20):
        mix = int(rng.integers(1, 6))
        w = rng.integers(0, 1000, mix).astype(np.int64)
        w[0] += 1
        kernels._normalize(mix, w, int(w.sum()))
        assert w.sum() == 1 << 16
        means = rng.integers(-40 * 4096, 300 * 4096, mix).astype(np.int64)
        inv = inv_scales[rng.integers(0, len(inv_scales), mix)]
        cums = [int(kernels._mix_cum(b, mix, w, means, inv, *args)) for b in range(257)]
        expected = [0]
        for b in range(1, 256):
            f = sum(int(w[k]) * _reference_cdf((b << 12) - 2048 - int(means[k]), int(inv[k]), table) for k in range(mix))
            expected.append((((f >> 16) * ((1 << PREC) - 256)) >> 31) + b)
        expected.append(1 << PREC)
        assert cums == expected
        assert min(np.diff(cums)) >= 1


def test_mixture_weights_from_logits():
    exp = exp_table()
    w = np.zeros(3, np.int64)
    total = kernels._weights(np.array([4096.0 * 2, 0.0, -4096.0 * 30]), 3, exp, w)
    assert list(w) == [1 << 16, int(exp[2 * 64]), 0] and total == w.sum()


def test_decoding_does_not_depend_on_blas_threads_or_the_decoders_batch():
    _, loaded = tiny_prior(3, seed=5)
    tiles = np.stack([smooth_image(3, 40, 33, seed=i) for i in range(2)])
    with threadpool_limits(1):
        stack = RansStack()
        LocalCodec(loaded).push(stack, tiles)
    data = stack.to_bytes()
    with threadpool_limits(2):
        out = LocalCodec(loaded).pop(RansStack.from_bytes(data), *tiles.shape)
    assert np.array_equal(out, tiles)


def test_encoding_in_bands_gives_the_same_bytes(monkeypatch):
    from flowzip.priors import codec as codec_module

    _, loaded = tiny_prior(3, seed=6)
    tiles = smooth_image(3, 30, 31)[None]
    stack = RansStack()
    LocalCodec(loaded).push(stack, tiles)
    monkeypatch.setattr(codec_module, "BAND", 37)
    banded = RansStack()
    LocalCodec(loaded).push(banded, tiles)
    assert stack.to_bytes() == banded.to_bytes()


def test_corrupt_stream_decodes_to_something_without_hanging():
    _, loaded = tiny_prior(3)
    rng = np.random.default_rng(0)
    for seed in range(3):
        words = rng.integers(0, 2**32, 200, dtype=np.uint64).astype(np.uint32)
        words[-1] |= 1  # a valid state
        stack = RansStack.from_bytes(words.astype("<u4").tobytes())
        out = LocalCodec(loaded).pop(stack, 1, 3, 16, 16)
        assert out.shape == (1, 3, 16, 16)


def test_only_flowzips_rans_coder_and_8_bit_tiles():
    _, loaded = tiny_prior(3)
    with pytest.raises(FlowzipError, match="rANS"):
        LocalCodec(loaded).push(AnsStack(), smooth_image(3, 4, 4)[None])
    with pytest.raises(FlowzipError, match="8-bit"):
        LocalCodec(loaded).push(RansStack(), smooth_image(1, 4, 4)[None])


def test_the_description_fits_the_float_model():
    config = LocalPriorConfig()
    model = LocalPrior(config)
    assert model.first.in_features == (config.channels + 1) * len(window(config.horizon))
    assert model.out.out_features == OUTPUTS.count(config) == 50
