"""Logistic mixing: squash and stretch, and the mixer's coding and learning against Python integers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from flowzip.entropy import mixing
from flowzip.entropy import rangecoder as rc
from flowzip.jit import kernel


def _squash(d: int) -> int:
    knots = [int(v) for v in mixing.SQUASH_KNOTS]
    if d > 2047:
        return knots[32]
    if d < -2047:
        return knots[0]
    w, i = d & 127, (d >> 7) + 16
    return (knots[i] * (128 - w) + knots[i + 1] * w + 64) >> 7


def test_the_knots_are_the_logistic_and_squash_is_monotone():
    assert [int(v) for v in mixing.SQUASH_KNOTS] == [
        min(4095, max(1, round(4096 / (1 + math.exp(-(i - 16) / 2))))) for i in range(33)]
    values = [_squash(d) for d in range(-2100, 2100)]
    assert values == sorted(values) and values[0] == 1 and values[-1] == 4095


def test_stretch_inverts_squash():
    stretch = mixing.stretch_table()
    for p in range(1, 4096):
        d = int(stretch[p])
        assert _squash(d) >= p or d == 2047
        assert d == -2047 or _squash(d - 1) < p


@kernel
def _code_bits(coder, buf, models, hints, mixer, rows, bits, knots, stretch, decoding):
    """Code ``bits[n]`` by the mixers of row bases ``rows[n]`` (``mixing.ROWS``, 5, each; -1: none), at ``dec`` 0."""
    for n in range(bits.shape[0]):
        r = rows[n]
        bits[n], coder = mixing.mix_bit(coder, buf, models, 0 if n % 3 else -1, hints[n], mixer,
                                        (r[0], r[1], r[2], r[3], r[4]), 0, bits[n], decoding, knots, stretch)
    return coder


def _one_row(contexts: np.ndarray) -> np.ndarray:
    """Row bases coding each bit by the one mixer ``contexts[n]``."""
    rows = np.full((len(contexts), mixing.ROWS), -1, np.int64)
    rows[:, 0] = contexts
    return rows


def _adapted(fast: int, slow: int, count: int, bit: int) -> tuple[int, int, int]:
    """A bit model's estimates and count after ``bit`` (``rangecoder.adapt_model``), with Python integers."""
    step = lambda m: (2 << 16) // (2 * min(count, m) + 3)  # noqa: E731
    target = bit << 16
    fast = min(max(fast + (((target - fast) * step(rc.FAST_COUNT)) >> 16), rc.P_MIN), rc.P_MAX)
    slow = min(max(slow + (((target - slow) * step(rc.SLOW_COUNT)) >> 16), rc.P_MIN), rc.P_MAX)
    return fast, slow, min(count + 1, rc.SLOW_COUNT)


def _reference(models, hints, mixer, rows, bits):
    """The models and mixer after coding ``bits``, each by the mixer ``rows[n][0]``, with Python
    integers."""
    stretch = [int(v) for v in mixing.stretch_table()]
    fast, slow, count = (int(v) for v in models[0])
    mixer = [[int(v) for v in row] for row in mixer]
    for n, (hint, bases, bit) in enumerate(zip(hints, rows, bits)):
        ctx = int(bases[0])
        modelled = n % 3 != 0
        s0 = stretch[((fast + slow) >> 1) >> 4] if modelled else 0
        s1 = stretch[min(max(int(hint), 1), 4095)]
        p = _squash((mixer[ctx][0] * s0 + mixer[ctx][1] * s1) >> 16)
        err = ((int(bit) << 12) - p) * mixing.MIX_RATE
        mixer[ctx][0] += (s0 * err) >> 12
        mixer[ctx][1] += (s1 * err) >> 12
        if modelled:
            fast, slow, count = _adapted(fast, slow, count, int(bit))
    return [fast, slow, count], mixer


def _reference5(models, hints, mixer, rows, bits):
    """The models and a mixer of the second kind after coding ``bits``, each by the rows ``rows[n]``
    that are not negative, with Python integers, and the bits' information content under the mixed
    probabilities."""
    stretch = [int(v) for v in mixing.stretch_table()]
    fast, slow, count = (int(v) for v in models[0])
    mixer = [[int(v) for v in row] for row in mixer]
    cost = 0.0
    for n, (hint, bases, bit) in enumerate(zip(hints, rows, bits)):
        used, bit = [mixer[int(r)] for r in bases if r >= 0], int(bit)
        modelled = n % 3 != 0
        s0, s1 = (stretch[fast >> 4], stretch[slow >> 4]) if modelled else (0, 0)
        s2 = stretch[min(max(int(hint), 1), 4095)]
        first = used[0]  # the calibration's
        lo, w = mixing.KNOTS_AT + (s2 + 2048) // 128, (s2 + 2048) % 128
        s4 = stretch[min(max((first[lo] * (128 - w) + first[lo + 1] * w) // 128 // 16, 1), 4095)]
        inputs = [s0, s1, s2, mixing.BIAS_INPUT, s4]
        outputs = [sum(a * b for a, b in zip(row, inputs)) >> 16 for row in used]
        p = _squash(sum(outputs) // len(outputs))  # the bit's probability: the rows' mean log-odds
        cost += -math.log2(p / 4096 if bit else 1 - p / 4096)
        for row, d in zip(used, outputs):
            p = _squash(d)
            youth = row[mixing.COUNT_AT]
            row[mixing.COUNT_AT] = min(youth + 1, 1 << 20)
            rate = mixing.RATE5 + mixing.BOOST5 * mixing.YOUTH5 // (youth + mixing.YOUTH5)
            err = (((bit << 12) - p) * rate) >> 2
            for k, s in enumerate(inputs):
                row[k] += (s * err) >> 12
        near = lo + (1 if w >= 64 else 0)
        first[near] += ((bit << 16) - first[near]) >> mixing.CALIBRATION_SHIFT
        if modelled:
            fast, slow, count = _adapted(fast, slow, count, int(bit))
    return [fast, slow, count], mixer, cost


@pytest.mark.parametrize("kind", [1, 2])
def test_mixed_bits_round_trip_and_learn_as_the_integer_reference(kind):
    """Either kind of mixer (``new_mixer``, ``new_mixer5``) codes and learns as its reference."""
    rng = np.random.default_rng(0)
    n = 3000
    truth = rng.random(n) < 0.8
    hints = np.where(truth, 3500, 600) + rng.integers(-300, 300, n)  # a hint that knows most bits
    bits = (truth ^ (rng.random(n) < 0.05)).astype(np.int64)
    contexts = _one_row(rng.integers(0, 3, n))
    args = (hints.astype(np.int64), None, contexts)
    new_mixer, reference = (mixing.new_mixer, _reference) if kind == 1 else (mixing.new_mixer5, _reference5)
    hint_at = 1 if kind == 1 else 2  # the hint's weight
    models, mixer = rc.new_models(1), new_mixer(3)
    expected_models, expected_mixer = reference(models.copy(), hints, mixer.copy(), contexts, bits)[:2]
    digits = np.zeros(4 * n, np.uint16)
    coder = _code_bits(rc.new_encoder(), digits, models, args[0], mixer, args[2], bits.copy(), mixing.SQUASH_KNOTS,
                       mixing.stretch_table(), False)
    assert list(models[0]) == expected_models and mixer.tolist() == expected_mixer
    assert mixer[:, hint_at].min() > new_mixer(1)[0, hint_at]  # it learnt to trust the hint more
    data = rc.stream_bytes(coder, digits)
    assert len(data) * 8 < 0.6 * n  # well below a bit each: the hint is used
    buf = rc.decoder_buffer(data)
    decoded = np.zeros(n, np.int64)
    _code_bits(rc.new_decoder(buf), buf, rc.new_models(1), args[0], new_mixer(3), args[2], decoded,
               mixing.SQUASH_KNOTS, mixing.stretch_table(), True)
    assert np.array_equal(decoded, bits)


def _round_trip5(hints: np.ndarray, rows: np.ndarray, bits: np.ndarray, contexts: int) -> tuple[bytes, float]:
    """Code ``bits`` by mixers of the second kind (``contexts`` rows, each bit by ``rows[n]``): the
    models and mixers end as the reference's, and the decoder reads the bits back and ends in the
    encoder's state; returns the stream and the reference's information content."""
    models, mixer = rc.new_models(1), mixing.new_mixer5(contexts)
    expected_models, expected_mixer, cost = _reference5(models.copy(), hints, mixer.copy(), rows, bits)
    digits = np.zeros(4 * len(bits), np.uint16)
    coder = _code_bits(rc.new_encoder(), digits, models, hints, mixer, rows, bits.copy(), mixing.SQUASH_KNOTS,
                       mixing.stretch_table(), False)
    assert list(models[0]) == expected_models and mixer.tolist() == expected_mixer
    data = rc.stream_bytes(coder, digits)
    buf = rc.decoder_buffer(data)
    decoded, decoder_models, decoder_mixer = np.zeros(len(bits), np.int64), rc.new_models(1), mixing.new_mixer5(contexts)
    _code_bits(rc.new_decoder(buf), buf, decoder_models, hints, decoder_mixer, rows, decoded, mixing.SQUASH_KNOTS,
               mixing.stretch_table(), True)
    assert np.array_equal(decoded, bits)
    assert np.array_equal(decoder_models, models) and np.array_equal(decoder_mixer, mixer)
    return data, cost


def test_the_second_mixer_reaches_every_knot_as_its_reference():
    """Hints over the whole range (the calibration's end knots, the clamps) and bits that disagree
    with them: the second kind of mixer codes and learns as its reference, and the decoder ends in
    the encoder's state."""
    rng = np.random.default_rng(1)
    n = 4000
    hints = rng.integers(-50, 4150, n)  # clamped to 1..4095 by the mixer
    bits = (rng.random(n) < 0.5).astype(np.int64)
    _round_trip5(hints, _one_row(rng.integers(0, 2, n)), bits, 2)


def test_several_rows_code_by_their_mean_and_learn_each_from_its_own_error():
    """A bit coded by up to five mixers of the second kind (row bases -1: none): the mixers and
    models end as the reference's, the stream's size is the information content under the rows'
    mean log-odds, and it decodes with the same rows."""
    rng = np.random.default_rng(2)
    n = 4000
    truth = rng.random(n) < 0.7
    hints = np.where(truth, 3000, 1100) + rng.integers(-400, 400, n)
    bits = (truth ^ (rng.random(n) < 0.1)).astype(np.int64)
    assert mixing.ROWS == 5
    rows = np.stack([rng.integers(lo, hi, n) for lo, hi in [(0, 2), (2, 5), (5, 7), (7, 9), (9, 11)]], 1)
    rows[:, 1:][rng.random((n, mixing.ROWS - 1)) < 0.3] = -1  # the first row always codes (it has the calibration)
    data, cost = _round_trip5(hints, rows, bits, 11)
    assert abs(8 * len(data) - cost) < 0.002 * cost + 64
