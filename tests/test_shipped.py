"""Tests of the shipped default models (slow: seconds). Data-dependent ones skip without ../shared."""

import numpy as np
import pytest

import flowzip
from flowzip import api, policy, zoo
from flowzip.fileformat import container
from flowzip.training.data import to_gray

from helpers import DATA, SHARED, shipped_model_available, set_policy

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not shipped_model_available(), reason="shipped model not installed")]


@pytest.fixture
def flows_only(monkeypatch):
    """The shipped flows' defaults, without the classical coder."""
    set_policy(monkeypatch, classical=None)


def _check_rate(picture):
    data, report = api.compress_picture(picture, estimate=True)
    assert np.array_equal(flowzip.decompress(data, batch=1).reshape(picture.pixels.shape), picture.pixels)
    excess = 8 * len(data) - report.estimated_bits
    assert excess <= 0.005 * report.estimated_bits + 512, (excess, report.estimated_bits)
    return data, report


def test_sample_image_round_trip_and_rate(flows_only):
    """The sample photo (24 tiles of 64x64) goes to the shipped photo Glow by default, seeded by the
    photo IDF."""
    picture = api.read_image(DATA / "sample.png")
    data, report = _check_rate(picture)
    header, _ = container.parse(data)
    assert [m.name for m in header.models] == [policy.DEFAULT.bits_back_photo[3], policy.DEFAULT.integer_photo[3]]
    from flowzip.images.image import png_size

    assert report.bpd < 8 * png_size(picture) / report.subpixels


def test_gray_and_alpha_with_shipped_models(flows_only):
    rgb = np.asarray(api.read_image(DATA / "sample.png").pixels)[:67, :45]
    gray = rgb.mean(axis=2).astype(np.uint8)
    rgba = np.concatenate([rgb, gray[..., None]], axis=2)
    for image in (gray, rgba):
        _check_rate(api.read_image(image))


def test_the_default_for_a_photo_is_the_smaller_coder(monkeypatch):
    """By default a single photo goes to the guided classical coder where it codes it smaller than
    the classical coder alone (the sample photo); at effort 6 the flows, every guide and the
    classical coder all code it and the smallest file is kept."""
    picture = api.read_image(DATA / "sample.png")
    default, _ = api.compress_picture(picture)
    assert [m.name for m in api.inspect(default).models] == [policy.DEFAULT.local_photo[3]]
    assert len(default) < len(api.compress_picture(picture, effort=1)[0])
    best, _ = api.compress_picture(picture, effort=6)
    guided = [api.compress_picture(picture, guide)[0] for guide in policy.DEFAULT.more_local_photo[3]]
    set_policy(monkeypatch, classical=None)
    flows, _ = api.compress_picture(picture)
    assert len(best) == min(len(default), *map(len, guided), len(flows))
    for data in (default, best, *guided, flows):
        np.testing.assert_array_equal(flowzip.decompress(data), picture.pixels)


def _group_models(data: bytes) -> list[str]:
    header = api.inspect(data)
    return [header.models[m].name for m, _ in header.entries[0].groups]


def test_small_photo_goes_to_the_photo_integer_flow(flows_only):
    """A 96x128 photo (4 tiles of 64x64: too few for bits-back) is a tiled file of the photo IDF; in
    gray, of the gray photo IDF."""
    picture = api.read_image(np.ascontiguousarray(api.read_image(DATA / "sample.png").pixels[:96, :128]))
    data, _ = _check_rate(picture)
    assert _group_models(data) == [policy.DEFAULT.integer_photo[3]]
    gray = api.read_image(np.ascontiguousarray(picture.pixels.mean(axis=2).astype(np.uint8)))
    data, _ = _check_rate(gray)
    assert _group_models(data) == [policy.DEFAULT.integer_photo[1]]


def test_models_are_registered_with_cards():
    cards = zoo.available()
    defaults = (policy.DEFAULT.integer, policy.DEFAULT.bits_back, policy.DEFAULT.bits_back_photo, policy.DEFAULT.integer_photo)
    for name in [name for table in defaults for name in table.values()]:
        assert name in cards
        assert cards[name]["size_bytes"] < 20e6
        assert "measured" in cards[name] and "training" in cards[name]


@pytest.mark.skipif(not (SHARED / "cifar10" / "test.npy").exists(), reason="../shared/data not present")
def test_cifar_images_beat_png(flows_only):
    test = np.load(SHARED / "cifar10" / "test.npy", mmap_mode="r")[:40]
    bits = sum(8 * len(_check_rate(api.read_image(np.array(x)))[0]) for x in test)
    assert bits / test.size < 5.87


GLOW = "glow-rgb-v2"


def _glow_shipped() -> bool:
    return GLOW in zoo.available()


@pytest.mark.skipif(not _glow_shipped(), reason="no shipped bits-back model")
def test_shipped_glow_archive_round_trip_and_rate():
    """An archive of 48 crops of the sample image: exact, and the file within 3 % of the model's
    bound (the first 6 tiles go to the seed IDF; the stack is short of bits at the very start)."""
    pixels = api.read_image(DATA / "sample.png").pixels
    crops = [(f"{i}.png", api.read_image(np.ascontiguousarray(pixels[y:y + 32, x:x + 32])))
             for i, (y, x) in enumerate((y, x) for y in range(0, 192, 32) for x in range(0, 256, 32))]
    data, report = api.encode(crops, GLOW, archive=True, estimate=True)
    for (_, a), (_, b) in zip(crops, api.decode(data, batch=1)):
        np.testing.assert_array_equal(a.pixels, b.pixels)
    assert report.bpd < 1.03 * report.estimated_bpd + 8 * 200 / report.subpixels


def test_files_from_earlier_models_still_decode():
    """Files written with idf-rgb-v1, idf-gray-v1, glow-rgb-v1, glow-photo-v1, glow-photo-v2 and
    idf-photo-v1 (kept in tests/data) decode while those models are shipped."""
    data = (DATA / "crop-idf-rgb-v1.fz").read_bytes()
    expected = api.read_image(DATA / "crop.png").pixels
    np.testing.assert_array_equal(api.decompress_picture(data).pixels, expected)
    gray = api.decompress_picture((DATA / "crop-gray-idf-gray-v1.fz").read_bytes())
    assert gray.mode == "L"
    np.testing.assert_array_equal(gray.pixels, to_gray(expected))

    pixels = api.read_image(DATA / "sample.png").pixels
    crops = [pixels[y:y + 32, x:x + 32] for y in (0, 96) for x in range(0, 256, 64)]
    archive = api.decode((DATA / "crops-glow-rgb-v1.fz").read_bytes())
    assert [name for name, _ in archive] == [f"{i}.png" for i in range(8)]
    for crop, (_, picture) in zip(crops, archive):
        np.testing.assert_array_equal(picture.pixels, crop)

    for old in ("glow-photo-v1", "glow-photo-v2"):  # tiles of 32
        photo = api.decompress_picture((DATA / f"crop96-{old}.fz").read_bytes())
        np.testing.assert_array_equal(photo.pixels, pixels[32:128, 64:160])
    photo = api.decompress_picture((DATA / "crop64-idf-photo-v1.fz").read_bytes())
    np.testing.assert_array_equal(photo.pixels, pixels[64:128, 96:160])

