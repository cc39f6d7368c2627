"""Local bits-back coding: each piece undoes itself exactly, whole images and archives round-trip,
and the rate stays close to the model's estimate."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from flowzip import api, families, policy, zoo
from flowzip.flows import bitsback
from flowzip.pipelines import stacked as stream
from flowzip.fileformat import container
from flowzip.entropy.ans import AnsStack
from flowzip.flows.glow import GlowCodec
from flowzip.images.image import Picture

from checks import check_codec
from helpers import GLOW_CONFIG, coding_threads, random_glow, set_policy
from flowzip.pipelines.codecs import codec_for


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


def _smooth(rng, h, w, c):
    base = rng.integers(60, 200, (1, 1, c))
    ramp = np.add.outer(np.arange(h), np.arange(w))[..., None] // 3
    return np.clip(base + ramp + rng.integers(-3, 4, (h, w, c)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("size", [(1, 1), (5, 3), (37, 23), (70, 50)])
@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_single_images_round_trip(tiny_models, size, mode):
    rng = np.random.default_rng(size[0] * 7 + len(mode))
    pixels = _smooth(rng, *size, len(mode))
    data, report = api.compress_picture(Picture(pixels, mode), "tiny-glow", tile=16)
    assert report.compressed_bytes == len(data)
    assert container.version_of(data) == container.CHUNKED
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


def test_plan_seeds_then_grows_batches():
    models = [container.ModelRef(2, "g", b"1234"), container.ModelRef(1, "i", b"5678")]
    entries = [container.Entry(str(i), 32, 32, "RGB", 0, [(0, [0, 1, 2])]) for i in range(160)]
    header = container.Header(container.STACKED, 32, models, entries, batch=8, seed=1)
    codecs = [SimpleNamespace(multiple=8, bits_back=True), SimpleNamespace(multiple=16, bits_back=False)]
    jobs = stream.plan(header, codecs)
    assert [j.model for j in jobs[:1]] == [1] and len(jobs[0].units) == stream.SEED_TILES
    sizes = [len(j.units) for j in jobs[1:]]
    assert sizes[0] == 1 and max(sizes) == 8 and sum(sizes) + stream.SEED_TILES == 160
    coded = stream.SEED_TILES
    for n in sizes:  # a batch never holds more than an eighth of what came before it
        assert n <= max(1, coded // stream.GROWTH)
        coded += n


@pytest.mark.parametrize("chunk", [None, 10**9])  # version 2 (constriction), version 3 (flowzip's rANS)
def test_archive_rate_is_close_to_the_estimate(tiny_models, chunk):
    """With the seed and batch growth, the file is within a few percent of the model's bound
    (a tiny random model: its bound is high, but the coder's overhead is what is measured)."""
    rng = np.random.default_rng(5)
    pictures = [(f"{i}", Picture(_smooth(rng, 16, 16, 3), "RGB")) for i in range(60)]
    data, report = api.encode(pictures, "tiny-glow", archive=True, tile=16, batch=8, chunk=chunk, estimate=True)
    assert report.bpd < report.estimated_bpd * 1.03


@pytest.fixture
def glow_default(tiny_models, monkeypatch):
    """The tiny Glow as the bits-back default for colour planes."""
    set_policy(monkeypatch, bits_back={3: "tiny-glow"})


def _models_in(data: bytes) -> list[str]:
    """The models a tiled file's plane groups name, or every model a stacked file names."""
    header = api.inspect(data)
    if header.version == container.TILED:
        return [header.models[m].name for m, _ in header.entries[0].groups]
    return [m.name for m in header.models]


def test_default_is_bits_back_for_images_larger_than_the_seed(glow_default):
    rng = np.random.default_rng(5)
    big = Picture(rng.integers(0, 256, (150, 200, 4), dtype=np.uint8), "RGBA")  # 12 tiles of 64
    small = Picture(rng.integers(0, 256, (100, 100, 3), dtype=np.uint8), "RGB")  # 4 tiles
    data, _ = api.compress_picture(big)
    assert sorted(_models_in(data)) == ["tiny-glow", "tiny-gray", "tiny-rgb"]  # rgb: the seed
    np.testing.assert_array_equal(api.decompress_picture(data).pixels, big.pixels)
    data, _ = api.compress_picture(small)  # a photo of integer flows: one chunk, no seed
    assert container.version_of(data) == container.CHUNKED and _models_in(data) == ["tiny-rgb"]
    np.testing.assert_array_equal(api.decompress_picture(data).pixels, small.pixels)


def test_default_for_an_archive_counts_all_its_tiles(glow_default):
    rng = np.random.default_rng(6)
    crops = [(f"{i}.png", Picture(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), "RGB")) for i in range(7)]
    assert "tiny-glow" in _models_in(api.encode(crops, archive=True)[0])
    assert _models_in(api.encode(crops[:6], archive=True)[0]) == ["tiny-rgb"]


def test_default_gives_pictures_a_tile_wide_and_high_the_photo_model(glow_default, monkeypatch):
    set_policy(monkeypatch, bits_back_photo={3: "tiny-glow-photo"})
    rng = np.random.default_rng(7)
    photo = ("photo.png", Picture(rng.integers(0, 256, (64, 70, 3), dtype=np.uint8), "RGB"))
    strip = ("strip.png", Picture(rng.integers(0, 256, (40, 400, 3), dtype=np.uint8), "RGB"))  # 7 tiles
    thumbs = [(f"{i}.png", Picture(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), "RGB")) for i in range(7)]
    assert _models_in(api.compress_picture(strip[1])[0]) == ["tiny-glow", "tiny-rgb"]
    data, _ = api.encode([photo, *thumbs], archive=True)
    header, _ = container.parse(data)
    names = [m.name for m in header.models]
    assert [names[m] for m, _ in header.entries[0].groups] == ["tiny-glow-photo"]
    assert all([names[m] for m, _ in e.groups] == ["tiny-glow"] for e in header.entries[1:])
    for (_, a), (_, b) in zip([photo, *thumbs], api.decode(data)):
        np.testing.assert_array_equal(a.pixels, b.pixels)
    big = Picture(rng.integers(0, 256, (150, 200, 3), dtype=np.uint8), "RGB")
    assert _models_in(api.compress_picture(big)[0]) == ["tiny-glow-photo", "tiny-rgb"]
    set_policy(monkeypatch, bits_back_photo={3: "not-installed"})  # falls back to the general one
    assert _models_in(api.compress_picture(big)[0]) == ["tiny-glow", "tiny-rgb"]


def test_default_falls_back_to_the_integer_flow_without_the_bits_back_model(tiny_models, monkeypatch):
    set_policy(monkeypatch, bits_back={3: "not-installed"})
    picture = Picture(np.zeros((150, 200, 3), np.uint8), "RGB")
    assert _models_in(api.compress_picture(picture)[0]) == ["tiny-rgb"]


def test_default_gives_photos_the_integer_flow_tuned_on_photos(glow_default, monkeypatch):
    """Pictures a tile high and wide: coded by the photo IDF where no bits-back model codes them,
    and it seeds a stream whose first bits-back picture is one; thumbnails keep the general IDF."""
    set_policy(monkeypatch, integer_photo={3: "tiny-rgb-photo", 1: "tiny-gray-photo"})
    rng = np.random.default_rng(8)
    photo = Picture(rng.integers(0, 256, (64, 70, 3), dtype=np.uint8), "RGB")  # 2 tiles: no bits-back
    strip = Picture(rng.integers(0, 256, (40, 150, 3), dtype=np.uint8), "RGB")
    gray = Picture(rng.integers(0, 256, (64, 64, 2), dtype=np.uint8), "LA")
    big = Picture(rng.integers(0, 256, (150, 200, 4), dtype=np.uint8), "RGBA")
    thumbs = [(f"{i}.png", Picture(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), "RGB")) for i in range(7)]
    for picture, models in [(photo, ["tiny-rgb-photo"]), (strip, ["tiny-rgb"]), (gray, ["tiny-gray-photo"]),
                            (big, ["tiny-glow", "tiny-gray-photo", "tiny-rgb-photo"])]:
        data, _ = api.compress_picture(picture)
        assert sorted(_models_in(data)) == models
        np.testing.assert_array_equal(api.decompress_picture(data).pixels, picture.pixels)
    data, _ = api.encode([*thumbs, ("big.png", big)], archive=True, chunk=0)  # a thumbnail comes first: general seed
    header, _ = container.parse(data)
    assert header.models[header.seed].name == "tiny-rgb"
    for (_, a), (_, b) in zip([*thumbs, ("big.png", big)], api.decode(data)):
        np.testing.assert_array_equal(a.pixels, b.pixels)
    set_policy(monkeypatch, integer_photo={3: "not-installed", 1: "tiny-gray-photo"})  # falls back
    assert _models_in(api.compress_picture(photo)[0]) == ["tiny-rgb"]
    assert _models_in(api.compress_picture(gray)[0]) == ["tiny-gray-photo"]


def test_chunked_archives_round_trip_and_chunks_decode_alone(glow_default):
    """Chunks are independent stacks: any chunk size gives back every image, and one chunk decodes
    on its own into the images it holds."""
    from flowzip.pipelines import chunked

    rng = np.random.default_rng(9)
    pictures = [(f"{i}.png", Picture(_smooth(rng, 24 + i, 33, 3), "RGB")) for i in range(7)]
    pictures.append(("big.png", Picture(_smooth(rng, 80, 50, 4), "RGBA")))
    for chunk in (1, 4000, 10**9):
        data, _ = api.encode(pictures, archive=True, tile=16, chunk=chunk)
        header, start = container.parse(data)
        assert header.version == container.CHUNKED and (len(header.chunks) == 1) == (chunk == 10**9)
        for (name, a), (got, b) in zip(pictures, api.decode(data)):
            assert name == got
            np.testing.assert_array_equal(a.pixels, b.pixels)
    data, _ = api.encode(pictures, archive=True, tile=16, chunk=4000)
    header, start = container.parse(data)
    codecs = [codec_for(zoo.for_file(ref)) for ref in header.models]
    last = len(header.chunks) - 1
    out = [np.zeros((e.height, e.width, e.channels), np.uint8) for e in header.entries]
    chunked.decode_chunk(header, header.chunks[last], container.chunk_payloads(header, data[start:])[last], codecs, out)
    for image in chunked.images_of(header, [last]):
        whole = all(image != i for c in header.chunks[:last] for i, _, _ in c.units)
        if whole:
            np.testing.assert_array_equal(out[image], pictures[image][1].pixels)
