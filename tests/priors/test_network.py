"""The local prior's description, its float model and its exact twin agree."""

from __future__ import annotations

import numpy as np
import torch

from flowzip.architecture.localprior import OUTPUTS, LocalPriorConfig, reference, window
from flowzip.models.localprior import LocalPrior
from flowzip.models.localprior import reference as float_reference
from flowzip.priors.codec import LocalCodec
from helpers import smooth_image, tiny_prior


def test_reference_prediction_is_the_same_in_both_forms():
    x = smooth_image(3, 6, 7)
    assert np.array_equal(float_reference(torch.from_numpy(x)[None])[0].numpy(), reference(x))


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


def test_the_description_fits_the_float_model():
    config = LocalPriorConfig()
    model = LocalPrior(config)
    assert model.first.in_features == (config.channels + 1) * len(window(config.horizon))
    assert model.out.out_features == OUTPUTS.count(config) == 50


def test_requantize_kernels_against_integers():
    """The fused layer kernels floor, shift and clamp as Python's integers do, at both bounds."""
    from flowzip.priors.network import add_residual, requantize

    rng = np.random.default_rng(1)
    lim = 2**22
    z = rng.integers(-(2**40), 2**40, (7, 5)).astype(np.float64)
    z[0, 0], z[1, 1], z[2, 2] = 2.0**45, -(2.0**45), -1.0  # past both bounds; floor of -1/2**bits
    bias = rng.integers(-(2**30), 2**30, 5).astype(np.float64)
    bits = rng.integers(0, 20, 5)
    h = rng.integers(0, lim + 1, (7, 5)).astype(np.float64)

    def layer(low):
        return [[min(max((int(v) + int(b)) >> int(k), low), lim) for v, b, k in zip(row, bias, bits)] for row in z]

    got = z.copy()
    requantize(got, bias, 2.0 ** -bits.astype(np.float64), -float(lim), float(lim))
    assert np.array_equal(got, np.array(layer(-lim), np.float64))
    want = [[min(int(a) + b, lim) for a, b in zip(r, s)] for r, s in zip(h, layer(0))]
    add_residual(h, z, bias, 2.0 ** -bits.astype(np.float64), float(lim))
    assert np.array_equal(h, np.array(want, np.float64))
