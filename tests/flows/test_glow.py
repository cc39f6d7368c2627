"""The Glow's codec (``flowzip.flows.glow``): whole flows push and pop exactly, single images and
archives round-trip whatever the threads and workers, and the rate is the estimate."""

from __future__ import annotations

import numpy as np
import pytest

from flowzip import api, families, zoo
from flowzip.entropy.ans import AnsStack
from flowzip.fileformat import container
from flowzip.flows.glow import GlowCodec
from flowzip.images.image import Picture
from flowzip.pipelines.codecs import codec_for

from helpers import GLOW_CONFIG, coding_threads, random_glow


def _filled_coder(n: int = 1000):
    """A stack holding ``n`` random bytes, for bits-back steps to take bits from."""
    coder = AnsStack()
    rng = np.random.default_rng(n)
    coder.push_uniform(rng.integers(0, 256, n), np.full(n, 256))
    return coder


def _smooth(rng, h, w, c):
    base = rng.integers(60, 200, (1, 1, c))
    ramp = np.add.outer(np.arange(h), np.arange(w))[..., None] // 3
    return np.clip(base + ramp + rng.integers(-3, 4, (h, w, c)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 16, 24), (2, 32, 16)])
def test_whole_flow_push_pop_is_exact(shape):
    codec = GlowCodec(zoo.from_torch(random_glow(), "glow", GLOW_CONFIG))
    rng = np.random.default_rng(shape[1])
    pixels = rng.integers(0, 256, (shape[0], 3, shape[1], shape[2]), dtype=np.uint8)
    coder = _filled_coder()
    before = coder.words()
    codec.push(coder, pixels)
    np.testing.assert_array_equal(codec.pop(coder, *pixels.shape), pixels)
    np.testing.assert_array_equal(coder.words(), before)


def test_decoding_does_not_depend_on_threads_or_workers(tiny_models):
    """Encoded with one thread (BLAS, numba) in this process, decoded with two threads and in two
    worker processes: the same pixels, and encoding again with them the same bytes."""
    rng = np.random.default_rng(3)
    pictures = [(f"{i}.png", Picture(rng.integers(0, 256, (20 + i, 17, 3), dtype=np.uint8), "RGB"))
                for i in range(6)]
    with coding_threads(1):
        data, _ = api.encode(pictures, "tiny-glow", archive=True, tile=16, batch=3, chunk=3000)
    assert len(api.inspect(data).chunks) > 1
    codec_for.cache_clear()
    with coding_threads(2):
        decoded = api.decode(data, jobs=2)
        assert api.encode(pictures, "tiny-glow", archive=True, tile=16, batch=3, chunk=3000, jobs=2)[0] == data
    for (name, a), (got_name, b) in zip(pictures, decoded):
        assert name == got_name
        np.testing.assert_array_equal(a.pixels, b.pixels)


@pytest.mark.parametrize("size", [(1, 1), (5, 3), (37, 23), (70, 50)])
@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_single_images_round_trip(tiny_models, size, mode):
    rng = np.random.default_rng(size[0] * 7 + len(mode))
    pixels = _smooth(rng, *size, len(mode))
    data, report = api.compress_picture(Picture(pixels, mode), "tiny-glow", tile=16)
    assert report.compressed_bytes == len(data)
    assert container.version_of(data) == container.SEALED_CHUNKS
    np.testing.assert_array_equal(api.decompress_picture(data).pixels, pixels)


def test_gray_image_with_a_colour_model_is_refused(tiny_models):
    with pytest.raises(api.ModelError, match="3-channel"):
        api.compress_picture(Picture(np.zeros((4, 4, 1), np.uint8), "L"), "tiny-glow")


def test_archive_of_mixed_images(tiny_models):
    rng = np.random.default_rng(4)
    pictures = [("a.png", Picture(_smooth(rng, 32, 32, 3), "RGB")),
                ("b.png", Picture(_smooth(rng, 9, 40, 1), "L")),
                ("c.png", Picture(_smooth(rng, 33, 17, 4), "RGBA", {"icc_profile": b"\x01\x02"})),
                ("d.png", Picture(_smooth(rng, 16, 16, 3), "RGB"))]
    data, _ = api.encode(pictures, "tiny-glow", archive=True, tile=16, batch=2, chunk=0)  # one stream
    header, _ = container.parse(data)
    assert sum(families.by_id(m.family).bits_back for m in header.models) == 1 and header.seed is not None
    decoded = api.decode(data)
    for (name, a), (got, b) in zip(pictures, decoded):
        assert name == got and a.mode == b.mode and a.metadata == b.metadata
        np.testing.assert_array_equal(a.pixels, b.pixels)


@pytest.mark.parametrize("chunk", [None, 10**9])  # version 2 (constriction), version 3 (flowzip's rANS)
def test_archive_rate_is_close_to_the_estimate(tiny_models, chunk):
    """With the seed and batch growth, the file is within a few percent of the model's bound
    (a tiny random model: its bound is high, but the coder's overhead is what is measured)."""
    rng = np.random.default_rng(5)
    pictures = [(f"{i}", Picture(_smooth(rng, 16, 16, 3), "RGB")) for i in range(60)]
    data, report = api.encode(pictures, "tiny-glow", archive=True, tile=16, batch=8, chunk=chunk, estimate=True)
    assert report.bpd < report.estimated_bpd * 1.03
