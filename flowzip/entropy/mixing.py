"""Logistic mixing of predictions of a bit (numba kernels, integer arithmetic only): each
probability goes to the log-odds domain (``stretch``), a weighted sum comes back (``squash``), and
the weights learn online which prediction deserves trust (``mix_bit``).

Probabilities here are 12-bit (``p / 4096`` that the bit is 1); log-odds are in 1/256 steps,
within +-2047. ``squash`` interpolates the logistic function linearly between 33 knots, one per
half unit of log-odds (``SQUASH_KNOTS``, the logistic rounded to 12 bits); ``stretch`` is its
inverse, a table built from it with integers (``stretch_table``). Mixer weights are 16.16 fixed
point, one row of them per context.

Two kinds of mixer; ``mix_bit`` tells them by their width (``first_kind``). The first (``new_mixer``, guided
streams of block methods 0 and 1) mixes the bit model's estimate with the hint. The second
(``new_mixer5``, method 2 on) mixes five inputs: the bit model's fast and slow estimates apart, the
hint, a bias, and the hint calibrated (a table of 33 probabilities over the hint's log-odds,
interpolated and learnt online, per context); a young context learns faster (its count of bits
beside its weights). 0.14 % and 0.48 % smaller guided streams on held-out photos, reduced and full
size (docs/RESULTS.md). A bit may be coded by up to ``ROWS`` mixers of the second kind at once (rows
chosen by different contexts, method 3 on): their outputs are averaged in the log-odds domain, and
each learns from its own error (0.21 % and 0.66 % smaller again).
"""

from __future__ import annotations

import functools

import numpy as np

from ..exact import floor_div
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


# The second mixer: its columns are the five inputs' weights, the context's count of bits, then
# the calibration's knots (16-bit probabilities at log-odds -2048, -1920, ..., 2048).
INPUTS5 = 5  # fast and slow estimates, hint, bias, calibrated hint
START5 = (0, 19661, 45875, 0, 0)  # near where they end on photos: the slow estimate 0.3, the hint 0.7
BIAS_INPUT = 256  # the bias input's log-odds
COUNT_AT = INPUTS5
KNOTS_AT = COUNT_AT + 1
ROWS = 5  # mixers a bit may be coded by (``mix_bit``'s ``rows``)
assert ROWS == 5  # ``_mix_five`` spells out the five rows' log-odds
RATE5, BOOST5, YOUTH5 = 6, 32, 512  # the weights' rate in quarters: RATE5 + BOOST5 * YOUTH5 / (count + YOUTH5)
CALIBRATION_SHIFT = 6  # how fast a calibration knot follows the bits


def new_mixer5(contexts: int) -> np.ndarray:
    """The second kind of mixer: ``contexts`` rows of ``START5``, a count of 0 and the calibration
    about the identity (each knot 16 times squash's there)."""
    mixer = np.zeros((contexts, KNOTS_AT + len(SQUASH_KNOTS)), np.int64)
    mixer[:, :INPUTS5] = START5
    mixer[:, KNOTS_AT:] = SQUASH_KNOTS * 16
    return mixer


@inline_kernel
def first_kind(mixer):
    """Whether ``mixer`` is of the first kind (``new_mixer``: two columns)."""
    return mixer.shape[1] == 2


@inline_kernel
def mix_bit(coder, buf, models, i, p_hint, mixer, rows, dec, bit, decoding, knots, stretch):
    """Code one bit under bit model ``i`` (or an even chance where ``i`` < 0) mixed with the 12-bit
    probability ``p_hint``; adapt the model and the mixer; returns ``(bit, coder)``. The mixer's
    rows are ``rows[k] + dec`` for each of the ``ROWS`` row bases ``rows[k]`` >= 0 (``rows[0]``
    always is; no two the same). The first kind (``new_mixer``) uses ``rows[0]`` alone; the second (``new_mixer5``)
    averages the rows' log-odds, each row learning from its own error, all with the hint
    calibrated by ``rows[0]``'s table, the only one that learns."""
    if first_kind(mixer):
        return _mix_pair(coder, buf, models, i, p_hint, mixer, rows[0] + dec, bit, decoding, knots, stretch)
    return _mix_five(coder, buf, models, i, p_hint, mixer, rows, dec, bit, decoding, knots, stretch)


@inline_kernel
def _mix_five(coder, buf, models, i, p_hint, mixer, rows, dec, bit, decoding, knots, stretch):
    """``mix_bit`` with the second kind of mixer."""
    ctx = rows[0] + dec
    s0 = stretch[models[i, 0] >> 4] if i >= 0 else np.int64(0)
    s1 = stretch[models[i, 1] >> 4] if i >= 0 else np.int64(0)
    s2 = stretch[min(max(p_hint, 1), 4095)]
    at = s2 + 2048  # the calibration: between knots at >> 7 and the next, at & 127 of the way
    lo, w = KNOTS_AT + (at >> 7), at & 127
    s4 = stretch[min(max(((mixer[ctx, lo] * (128 - w) + mixer[ctx, lo + 1] * w) >> 7) >> 4, 1), 4095)]
    dots = (_row_dot(mixer, rows, 0, dec, s0, s1, s2, s4), _row_dot(mixer, rows, 1, dec, s0, s1, s2, s4),
            _row_dot(mixer, rows, 2, dec, s0, s1, s2, s4), _row_dot(mixer, rows, 3, dec, s0, s1, s2, s4),
            _row_dot(mixer, rows, 4, dec, s0, s1, s2, s4))  # one per row base: ``ROWS`` of them
    total = np.int64(0)  # the rows' log-odds, each below 2**47 (int64 >> 16): their mean is exact
    n = 0
    for k in range(ROWS):
        if rows[k] >= 0:
            total += dots[k]
            n += 1
    p = squash(floor_div(total, n), knots)
    bit, coder = rc.code_bit(coder, buf, min(max(p << 4, rc.P_MIN), rc.P_MAX), bit, decoding)
    for k in range(ROWS):  # each row learns from its own error (the rows differ: one learning leaves
        if rows[k] >= 0:  # the others' log-odds as ``dots`` holds them)
            _learn5(mixer, rows[k] + dec, bit, squash(dots[k], knots), s0, s1, s2, s4)
    near = lo + (w >> 6)  # the nearer knot learns
    mixer[ctx, near] += ((bit << 16) - mixer[ctx, near]) >> CALIBRATION_SHIFT
    if i >= 0:
        rc.adapt_model(models, i, bit)
    return bit, coder


@inline_kernel
def _row_dot(mixer, rows, k, dec, s0, s1, s2, s4):
    """The log-odds of row base ``rows[k]``'s row (0 where it has none)."""
    return _dot5(mixer, rows[k] + dec, s0, s1, s2, s4) if rows[k] >= 0 else np.int64(0)


@inline_kernel
def _dot5(mixer, row, s0, s1, s2, s4):
    """Row ``row``'s log-odds of the five inputs."""
    return (mixer[row, 0] * s0 + mixer[row, 1] * s1 + mixer[row, 2] * s2 + mixer[row, 3] * BIAS_INPUT
            + mixer[row, 4] * s4) >> 16


@inline_kernel
def _learn5(mixer, row, bit, p, s0, s1, s2, s4):
    """Row ``row``'s weights follow the error of its probability ``p``, faster while it is young."""
    n = mixer[row, COUNT_AT]
    mixer[row, COUNT_AT] = min(n + 1, 1 << 20)
    err = (((bit << 12) - p) * (RATE5 + floor_div(BOOST5 * YOUTH5, n + YOUTH5))) >> 2
    mixer[row, 0] += (s0 * err) >> 12
    mixer[row, 1] += (s1 * err) >> 12
    mixer[row, 2] += (s2 * err) >> 12
    mixer[row, 3] += (BIAS_INPUT * err) >> 12
    mixer[row, 4] += (s4 * err) >> 12


@inline_kernel
def _mix_pair(coder, buf, models, i, p_hint, mixer, ctx, bit, decoding, knots, stretch):
    """``mix_bit`` with the first kind of mixer."""
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
