"""Logistic mixing of two predictions of a bit (numba kernels, integer arithmetic only): each
probability goes to the log-odds domain (``stretch``), a weighted sum of the two comes back
(``squash``), and the weights learn online which prediction deserves trust (``mix_bit``).

Probabilities here are 12-bit (``p / 4096`` that the bit is 1); log-odds are in 1/256 steps,
within +-2047. ``squash`` interpolates the logistic function linearly between 33 knots, one per
half unit of log-odds (``SQUASH_KNOTS``, the logistic rounded to 12 bits); ``stretch`` is its
inverse, a table built from it with integers (``stretch_table``). Mixer weights are 16.16 fixed
point, one pair per context (``new_mixer``).
"""

from __future__ import annotations

import functools

import numpy as np

from ..jit import inline_kernel
from . import rangecoder as rc

SQUASH_KNOTS = np.array([1, 2, 4, 6, 10, 17, 27, 45, 74, 120, 194, 311, 488, 747, 1102, 1546, 2048, 2550, 2994,
                         3349, 3608, 3785, 3902, 3976, 4022, 4051, 4069, 4079, 4086, 4090, 4092, 4094, 4095], np.int64)
MIX_RATE = 4  # how fast the weights follow the errors
START_WEIGHTS = (1 << 16, 1 << 15)  # the first input (the adaptive model) whole, the second half


@inline_kernel
def squash(d, knots):
    """4096 / (1 + e^(-d / 256)), within [1, 4095], for log-odds ``d``."""
    if d > 2047:
        return knots[32]
    if d < -2047:
        return knots[0]
    w = d & 127
    i = (d >> 7) + 16
    return (knots[i] * (128 - w) + knots[i + 1] * w + 64) >> 7


@functools.cache
def stretch_table() -> np.ndarray:
    """For each 12-bit probability the smallest log-odds at which ``squash`` reaches it."""
    d = np.arange(-2047, 2048, dtype=np.int64)
    w, i = d & 127, (d >> 7) + 16
    squashed = (SQUASH_KNOTS[i] * (128 - w) + SQUASH_KNOTS[i + 1] * w + 64) >> 7  # non-decreasing
    at = np.searchsorted(squashed, np.arange(4096), side="left")
    return np.where(at < len(d), d[np.minimum(at, len(d) - 1)], 2047).astype(np.int64)


def new_mixer(contexts: int) -> np.ndarray:
    """Weights (16.16) of ``contexts`` mixers of two inputs, at ``START_WEIGHTS``."""
    weights = np.empty((contexts, 2), np.int64)
    weights[:] = START_WEIGHTS
    return weights


@inline_kernel
def mix_bit(coder, buf, models, i, p_hint, mixer, ctx, bit, decoding, knots, stretch):
    """Code one bit under bit model ``i`` (or an even chance where ``i`` < 0) mixed with the 12-bit
    probability ``p_hint`` by mixer ``ctx``; adapt the model and the mixer; returns ``(bit, coder)``."""
    s0 = stretch[((models[i, 0] + models[i, 1]) >> 1) >> 4] if i >= 0 else np.int64(0)
    s1 = stretch[min(max(p_hint, 1), 4095)]
    d = (mixer[ctx, 0] * s0 + mixer[ctx, 1] * s1) >> 16
    p = squash(d, knots)
    bit, coder = rc.code_bit(coder, buf, min(max(p << 4, rc.P_MIN), rc.P_MAX), bit, decoding)
    err = ((bit << 12) - p) * MIX_RATE
    mixer[ctx, 0] += (s0 * err) >> 12
    mixer[ctx, 1] += (s1 * err) >> 12
    if i >= 0:
        rc.adapt_model(models, i, bit)
    return bit, coder
