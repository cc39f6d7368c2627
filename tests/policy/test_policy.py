"""The policy (``flowzip.policy``): a value that plans by model names, with no I/O, once per file;
its defaults per picture; higher efforts never make larger files."""

from __future__ import annotations

import numpy as np
import pytest

from flowzip import api
from flowzip.fileformat import container
from flowzip.images.image import Picture

from helpers import set_policy


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
