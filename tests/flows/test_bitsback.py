"""Local bits-back coding's pieces (``flowzip.flows.bitsback``): each undoes itself exactly, far
values included, at the cost of the log-determinant."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from flowzip.entropy.ans import AnsStack
from flowzip.flows import bitsback

from checks import check_codec


def _filled_coder(n: int = 1000):
    """A stack holding ``n`` random bytes, for bits-back steps to take bits from."""
    coder = AnsStack()
    rng = np.random.default_rng(n)
    coder.push_uniform(rng.integers(0, 256, n), np.full(n, 256))
    return coder


@pytest.mark.parametrize("lq_range", [600, 6144, 40000])  # 2**-12 nats; 40000: split into several steps
def test_scaling_step_restores_the_stack(lq_range):
    rng = np.random.default_rng(lq_range)
    x = rng.integers(-2**14, 2**14, 4000)  # within range after a scale of up to e**9.8
    lq = rng.integers(-lq_range, lq_range + 1, 4000)
    pushed = {}

    def push(coder):
        pushed["y"] = bitsback.push_scale(coder, x, lq)
        return x

    check_codec(push, lambda coder: bitsback.pop_scale(coder, pushed["y"], lq))


def test_scaling_step_round_trip_and_cost():
    """Pop after push gives x back; the net cost is close to the log-determinant."""
    rng = np.random.default_rng(1)
    x = rng.integers(-2**18, 2**18, 20000)
    lq = rng.integers(-6144, 6145, 20000)
    coder = _filled_coder(40000)
    before, bits = coder.words(), coder.num_bits()
    y = bitsback.push_scale(coder, x, lq)
    net = coder.num_bits() - bits
    ideal = -(lq / 4096).sum() / np.log(2)  # -log2 |det|
    assert abs(net - ideal) < 0.01 * len(x) + 64
    np.testing.assert_array_equal(bitsback.pop_scale(coder, y, lq), x)
    np.testing.assert_array_equal(coder.words(), before)


def test_prior_restores_the_stack_including_far_values():
    rng = np.random.default_rng(2)
    shape = (2, 3, 5, 7)
    mu = torch.round(torch.randn(shape, dtype=torch.float64) * 4096) / 4096
    ls = torch.round(torch.empty(shape, dtype=torch.float64).uniform_(-9, 3) * 4096) / 4096
    z = (mu.numpy() * 2**16 + rng.normal(size=shape) * np.exp(ls.numpy()) * 2**16).astype(np.int64)
    z.flat[:5] = [2**21, -2**21, 0, 1, -1]  # far outside any window: escapes
    check_codec(lambda c: (bitsback.push_prior(c, z, mu, ls), z)[1], lambda c: bitsback.pop_prior(c, mu, ls))
