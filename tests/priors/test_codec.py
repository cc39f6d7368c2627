"""The local prior's codec: round trips of awkward shapes and content, coded size, and decoding
independent of threads, batches and bands."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

from flowzip.entropy.ans import AnsStack
from flowzip.entropy.rans import RansStack
from flowzip.errors import FlowzipError
from flowzip.priors.codec import LocalCodec
from helpers import smooth_image, tiny_prior


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


@pytest.mark.parametrize("horizon", [1, 4, 5])
def test_round_trip_with_other_windows(horizon):
    """Windows as wide as the tiles or wider, and the wavefronts' slope with them."""
    _, loaded = tiny_prior(3, seed=horizon, horizon=horizon)
    tiles = np.stack([smooth_image(3, 7, 6, seed=i) for i in range(3)])
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


def test_sampled_bits_are_the_coded_bits_of_the_rows_sampled():
    _, loaded = tiny_prior(3, seed=7)
    codec = LocalCodec(loaded)
    tiles = np.stack([smooth_image(3, 37, 29, seed=i) for i in range(2)])
    coded = codec.push(RansStack(), tiles, estimate=True)
    assert codec.sampled_bits(tiles, every=1) == pytest.approx(coded, rel=1e-9)
    assert codec.sampled_bits(tiles) == pytest.approx(coded, rel=0.05)  # one row in 8
    assert codec.sampled_bits(tiles[:, :, :3]) > 0  # fewer rows than the step: all of them
