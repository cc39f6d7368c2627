"""The classical coder guided by a local prior: its guide against a Python-integer reference, round
trips of awkward shapes and content, decoding independent of threads and bands, corrupt streams."""

from __future__ import annotations

import math

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from flowzip.classical import planes as blocks
from flowzip.entropy.ans import AnsStack
from flowzip.entropy.rans import RansStack
from flowzip.errors import FlowzipError, FormatError
from flowzip.priors import guided, kernels
from flowzip.priors.guided import GuidedCodec
from helpers import smooth_image, tiny_prior


def round_trip(codec: GuidedCodec, tiles: np.ndarray) -> bytes:
    stack = RansStack()
    bits = codec.push(stack, tiles, estimate=True)
    data = stack.to_bytes()
    back = RansStack.from_bytes(data)
    assert np.array_equal(codec.pop(back, *tiles.shape), tiles)
    assert back.is_empty()
    assert abs(8 * len(data) - bits) <= 64  # the estimate is the bytes pushed
    return data


@pytest.mark.parametrize("shape", [(1, 3, 1, 1), (1, 3, 1, 9), (1, 3, 9, 1), (1, 3, 5, 13), (3, 3, 7, 6)])
def test_round_trip_of_awkward_shapes(shape):
    _, loaded = tiny_prior(3)
    tiles = np.stack([smooth_image(3, *shape[2:], seed=i) for i in range(shape[0])])
    round_trip(GuidedCodec(loaded), tiles)


@pytest.mark.parametrize("horizon", [1, 4, 5])
def test_round_trip_with_other_windows(horizon):
    """The shipped guides' windows (horizon 4) and others, as wide as the tiles or wider."""
    _, loaded = tiny_prior(3, seed=horizon, horizon=horizon)
    tiles = np.stack([smooth_image(3, 7, 6, seed=i) for i in range(3)])
    round_trip(GuidedCodec(loaded), tiles)


def test_extreme_values_and_noise_round_trip():
    _, loaded = tiny_prior(3, seed=2)
    rng = np.random.default_rng(3)
    tiles = np.stack([rng.integers(0, 256, (3, 12, 10)), np.zeros((3, 12, 10)), np.full((3, 12, 10), 255),
                      rng.choice([0, 255], (3, 12, 10)),
                      np.stack([np.full((12, 10), 255), np.zeros((12, 10)), np.full((12, 10), 255)])]).astype(np.uint8)
    round_trip(GuidedCodec(loaded), tiles)


def test_decoding_does_not_depend_on_blas_threads_bands_or_batch(monkeypatch):
    _, loaded = tiny_prior(3, seed=5)
    tiles = np.stack([smooth_image(3, 40, 33, seed=i) for i in range(2)])
    with threadpool_limits(1):
        stack = RansStack()
        GuidedCodec(loaded).push(stack, tiles)
    monkeypatch.setattr(guided, "BAND", 37)
    banded = RansStack()
    GuidedCodec(loaded).push(banded, tiles)
    assert banded.to_bytes() == stack.to_bytes()
    data = stack.to_bytes()
    with threadpool_limits(2):
        first = GuidedCodec(loaded).pop(RansStack.from_bytes(data), 1, 3, 40, 33)
    assert np.array_equal(first[0], tiles[0])


def test_the_guide_makes_smooth_pictures_smaller_than_the_classical_coder():
    from flowzip.classical import classical

    model, loaded = tiny_prior(3, seed=1)
    picture = smooth_image(3, 48, 40, seed=4)
    guided_bytes = len(GuidedCodec(loaded).encode_tile(picture))
    assert guided_bytes > 0
    # the guide only adds a sub-predictor: with a useless guide the stream stays within reach
    assert guided_bytes < 1.25 * len(classical.encode_planes(picture, 8))


def test_every_block_method_round_trips_with_its_own_guide_weight():
    """Streams of each block method (the guide's weight and mixer, ``METHODS``) decode as written, also
    from a stack, whose tiles say their method (from ``EXTENDED`` on in a byte before the stream);
    the methods code differently; an unknown method, or one the head could say written in the byte,
    is refused."""
    _, loaded = tiny_prior(3, seed=1)
    codec = GuidedCodec(loaded)
    picture = smooth_image(3, 20, 17, seed=5)
    streams = {m: codec.encode_tile(picture, method=m) for m in guided.METHODS}
    assert len(set(streams.values())) == len(streams)
    unknown = max(guided.METHODS) + 1
    for method, data in [*streams.items(), (unknown, streams[guided.GUIDED])]:
        stack = RansStack()
        guided.push_tile(stack, method, data)
        back = RansStack.from_bytes(stack.to_bytes())
        if method not in guided.METHODS:
            with pytest.raises(FormatError, match="block method"):
                codec.pop(back, 1, 3, 20, 17)
            continue
        assert np.array_equal(codec.decode_tile(data, 20, 17, method), picture)
        assert np.array_equal(codec.pop(back, 1, 3, 20, 17)[0], picture)
    for head in [bytes([guided.EXTENDED - 1]), b""]:  # method 2 said in the byte; no byte at all
        stack = RansStack()
        blocks.push_block(stack, guided.EXTENDED, head + (streams[guided.EXTENDED - 1] if head else b""))
        with pytest.raises(FormatError, match="block (method|has no method)"):
            codec.pop(RansStack.from_bytes(stack.to_bytes()), 1, 3, 20, 17)
    round_trip(codec, picture[None])  # push writes ``GUIDED``


def test_corrupt_streams_raise_format_error():
    _, loaded = tiny_prior(3)
    codec = GuidedCodec(loaded)
    picture = smooth_image(3, 16, 16)
    data = bytearray(codec.encode_tile(picture))
    rng = np.random.default_rng(0)
    for _ in range(12):
        bad = bytearray(data)
        bad[int(rng.integers(len(bad)))] ^= 1 << int(rng.integers(8))
        with pytest.raises(FormatError):
            codec.decode_tile(bytes(bad), 16, 16)
    with pytest.raises(FormatError):
        codec.decode_tile(bytes(data[: len(data) // 2]), 16, 16)


def test_only_flowzips_rans_coder_and_8_bit_colour_tiles():
    _, loaded = tiny_prior(3)
    with pytest.raises(FlowzipError, match="rANS"):
        GuidedCodec(loaded).push(AnsStack(), smooth_image(3, 4, 4)[None])
    with pytest.raises(FlowzipError, match="8-bit"):
        GuidedCodec(loaded).push(RansStack(), smooth_image(3, 4, 4)[None], bits=9)
    with pytest.raises(FlowzipError, match="three channels"):
        GuidedCodec(tiny_prior(1)[1]).push(RansStack(), smooth_image(1, 4, 4)[None])


# The guide with Python integers, from its definition in ``flowzip.priors.guided``.

def _variance(inv: int) -> int:
    s = (1 << 26) // inv
    return s * s * 329 // 100


def _spread(w, mean, means, variances) -> int:
    total = sum(wk * (v + ((m - mean) >> 6) ** 2) for wk, m, v in zip(w, means, variances))
    return (4 * math.isqrt(total >> 16) + 32) >> 6


def _reference_guides(o, refs, r, g, mix, limits, inv_scales, b_weights, b_means) -> list[tuple[int, int]]:
    """The three planes' (guide in 1/8ths, energy); B's posterior weights and means are the local
    prior's kernels' (tested against their own references)."""
    o = [int(v) for v in o]
    ls_lo, ls_hi, coef_lim, table_min = (int(v) for v in limits)

    def inverse(c, k):
        ls = min(max(o[mix * (4 + c) + k], ls_lo), ls_hi)
        return int(inv_scales[min(max((ls - table_min) >> 7, 0), len(inv_scales) - 1)])

    w = [int(v) for v in _prior_weights(np.array(o, np.float64), mix)]
    mu_r = [refs[0] * 4096 + o[mix * 1 + k] * 64 for k in range(mix)]
    mu_g = [refs[1] * 4096 + o[mix * 2 + k] * 64 for k in range(mix)]
    a = [min(max(o[mix * 7 + k], -coef_lim), coef_lim) for k in range(mix)]
    var_r = [_variance(inverse(0, k)) for k in range(mix)]
    var_g = [(((a[k] * a[k]) >> 12) * var_r[k] >> 12) + _variance(inverse(1, k)) for k in range(mix)]
    mean_g = sum(wk * m for wk, m in zip(w, mu_g)) >> 16
    out = [((mean_g + 256) >> 9, _spread(w, mean_g, mu_g, var_g))]
    beta = [(a[k] * var_r[k]) // max(var_g[k], 1) for k in range(mix)]
    cond = [mu_r[k] + ((beta[k] * (g * 4096 - mu_g[k])) >> 12) for k in range(mix)]
    cvar = [max(var_r[k] - ((beta[k] * ((a[k] * var_r[k]) >> 12)) >> 12), 0) for k in range(mix)]
    mean_r = sum(wk * m for wk, m in zip(w, cond)) >> 16
    out.append((((mean_r + 256) >> 9) + ((256 - g) << 3), _spread(w, mean_r, cond, cvar)))
    b_var = [_variance(inverse(2, k)) for k in range(mix)]
    mean_b = sum(int(wk) * int(m) for wk, m in zip(b_weights, b_means)) >> 16
    out.append((((mean_b + 256) >> 9) + ((256 - g) << 3), _spread([int(v) for v in b_weights], mean_b,
                                                                 [int(v) for v in b_means], b_var)))
    return out


def _prior_weights(o, mix):
    from flowzip.priors.tables import exp_table

    w = np.zeros(mix, np.int64)
    kernels._normalize(mix, w, kernels._weights(o, mix, exp_table(), w))
    return w


def test_guides_against_an_integer_reference():
    from flowzip.priors.tables import exp_table

    _, loaded = tiny_prior(3)
    codec = GuidedCodec(loaded)
    exp, inv_scales, variances, table, shift = codec._tables()
    rng = np.random.default_rng(4)
    mix = codec.mixture
    for trial in range(40):
        o = np.rint(rng.normal(0, 3000, 10 * mix)).astype(np.float64)  # wide: clamps and far components too
        o[mix * 4 : mix * 7] = np.rint(rng.uniform(-4.0, 6.0, 3 * mix) * 4096)  # log-scales beyond both limits
        refs = rng.integers(0, 256, 3).astype(np.int64)
        r, g = (int(v) for v in rng.integers(0, 256, 2))
        scratch = [np.zeros(mix, np.int64) for _ in range(9)]
        means, vals = np.zeros((3, mix), np.int64), np.zeros(3, np.int64)
        out = np.zeros((3, 2), np.int64)
        w, inv = scratch[0], scratch[1]
        guided.pixel_guides(o, refs, r, g, mix, exp, inv_scales, variances, table, shift, codec.limits, w, means, inv,
                            vals, *scratch[2:], out)
        # B's weights and means: the local prior's own coder's, after R and G
        w_b = np.zeros(mix, np.int64)
        total = kernels._weights(o, mix, exp_table(), w_b)
        means_b, inv_b = np.zeros((3, mix), np.int64), np.zeros(mix, np.int64)
        vals_b = np.array([r, g, 0], np.int64)
        for j in range(3):
            kernels._channel(o, j, mix, 3, int(refs[j]), vals_b, means_b, inv_b, inv_scales, len(inv_scales),
                             *codec.limits[:3], 7, codec.limits[3])
            kernels._normalize(mix, w_b, total)
            if j < 2:
                total = kernels._posterior(mix, w_b, vals_b[j], means_b[j], inv_b, table, shift)
        expected = _reference_guides(o, [int(v) for v in refs], r, g, mix, codec.limits, inv_scales, w_b, means_b[2])
        assert [tuple(int(v) for v in row) for row in out] == expected, trial
