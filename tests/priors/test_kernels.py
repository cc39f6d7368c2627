"""The local prior's compiled kernels against the float model and Python-integer references."""

from __future__ import annotations

import numpy as np
import torch

from flowzip.entropy import tables
from flowzip.entropy.rans import PREC
from flowzip.models.localprior import causal_inputs
from flowzip.priors import kernels
from flowzip.priors.codec import LocalCodec
from flowzip.priors.tables import exp_table
from helpers import smooth_image, tiny_prior


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


def _reference_normalize(w: list[int]) -> list[int]:
    total = sum(w)
    out = [(v << 16) // total for v in w]
    out[max(range(len(w)), key=lambda k: (out[k], -k))] += (1 << 16) - sum(out)
    return out


def test_weights_renormalized_and_posterior_against_integer_reference():
    rng = np.random.default_rng(2)
    inv_scales = tables.scale_tables()[0]
    table = [int(v) for v in tables.cdf_table()]
    for trial in range(200):
        mix = int(rng.integers(1, 6))
        w = rng.integers(0, 1 << int(rng.integers(1, 18)), mix).astype(np.int64)
        w[0] += 1
        if trial % 4 == 0:  # weights that already sum to 2**16 stay as they are
            w = np.array(_reference_normalize([int(v) for v in w]), np.int64)
        expected = _reference_normalize([int(v) for v in w])
        kernels._normalize(mix, w, int(w.sum()))
        assert [int(v) for v in w] == expected, trial
        # the posterior: weights times each component's mass of s, shifted to at most 2**17
        s = int(rng.integers(0, 256))
        means = rng.integers(-40 * 4096, 300 * 4096, mix).astype(np.int64)
        inv = inv_scales[rng.integers(0, len(inv_scales), mix)]

        def cdf(b, k):
            if b <= 0:
                return 0
            if b >= 256:
                return 1 << 31
            return _reference_cdf((b << 12) - 2048 - int(means[k]), int(inv[k]), table)

        products = [expected[k] * (cdf(s + 1, k) - cdf(s, k)) if expected[k] else 0 for k in range(mix)]
        shift = 0
        while (max(products) >> shift) > 1 << 17:
            shift += 1
        total = kernels._posterior(mix, w, s, means, inv, tables.cdf_table(), tables.INTERPOLATION_SHIFT)
        assert [int(v) for v in w] == [p >> shift for p in products], trial
        assert total == sum(p >> shift for p in products)
