""""""

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import flowzip
from flowzip import api
from flowzip.errors import ImageError, ModelError
from flowzip.fileformat import container
from flowzip.images.image import encode_image
from flowzip.pipelines.codecs import codec_for

from helpers import coding_threads, set_policy


CHANNELS = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}


def make_image(kind: str, h: int, w: int, c: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "noise":
        return rng.integers(0, 256, (h, w, c), dtype=np.uint8)
    if kind == "flat":
        return np.full((h, w, c), rng.integers(0, 256), np.uint8)
    if kind == "extremes":
        return (rng.integers(0, 2, (h, w, c)) * 255).astype(np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    grad = (yy * 255 // max(1, h - 1) + xx * 3)[..., None] + np.arange(c) * 40
    return (grad % 256).astype(np.uint8)


def round_trip(image: np.ndarray, **kw) -> bytes:
    data = flowzip.compress(image, **kw)
    back = flowzip.decompress(data, batch=3)
    back = back.reshape(image.shape)
    np.testing.assert_array_equal(back, image)
    return data


def _rgb16_tiff(width: int, height: int) -> bytes:
    """A minimal uncompressed 48-bit RGB TIFF (Pillow would read it as 8-bit RGB)."""
    import struct

    pixels = np.full((height, width, 3), 40000, "<u2").tobytes()
    entries = [(256, 3, 1, width), (257, 3, 1, height), (258, 3, 3, 8 + 2 + 12 * 9 + 4),
               (259, 3, 1, 1), (262, 3, 1, 2), (273, 4, 1, 8 + 2 + 12 * 9 + 4 + 6), (277, 3, 1, 3),
               (278, 3, 1, height), (279, 4, 1, len(pixels))]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries)
    return b"II*\0" + struct.pack("<I", 8) + ifd + b"\0\0\0\0" + struct.pack("<3H", 16, 16, 16) + pixels


@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (33, 65), (300, 200)])
@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA"])
def test_round_trip_sizes_and_modes(tiny_models, shape, mode):
    round_trip(make_image("gradient", *shape, CHANNELS[mode]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1, 48), st.integers(1, 48), st.sampled_from(list(CHANNELS)),
       st.sampled_from(["noise", "flat", "gradient", "extremes"]), st.integers(0, 99))
def test_round_trip_any_content(tiny_models, h, w, mode, kind, seed):
    round_trip(make_image(kind, h, w, CHANNELS[mode], seed), tile=16)


def test_gray_arrays_keep_their_shape(tiny_models):
    image = make_image("noise", 9, 5, 1)[..., 0]
    assert flowzip.decompress(flowzip.compress(image)).shape == (9, 5)


def test_decoding_is_independent_of_batch_and_threads(tiny_models):
    """The threads coding uses (BLAS for the networks, numba) and the batch change no byte."""
    image = make_image("gradient", 70, 90, 3)
    with coding_threads(1):
        data = flowzip.compress(image, tile=32, batch=1)
    codec_for.cache_clear()
    with coding_threads(2):
        for batch in (2, 7):
            np.testing.assert_array_equal(flowzip.decompress(data, batch=batch), image)
            assert flowzip.compress(image, tile=32, batch=batch) == data


def test_header_records_the_image(tiny_models):
    data = flowzip.compress(make_image("noise", 10, 20, 4))
    header = api.inspect(data)
    (entry,) = header.entries
    assert (entry.height, entry.width, entry.mode) == (10, 20, "RGBA")
    assert [(header.models[m].name, planes) for m, planes in entry.groups] == [("tiny-rgb", [0, 1, 2]),
                                                                              ("tiny-gray", [3])]


def test_icc_profile_and_exif_survive(tiny_models, tmp_path):
    im = Image.fromarray(make_image("gradient", 12, 12, 3))
    exif = Image.Exif()
    exif[0x010E] = "a description"
    path = tmp_path / "meta.png"
    im.save(path, icc_profile=b"fake icc profile bytes", exif=exif.tobytes())
    picture = api.decompress_picture(flowzip.compress(path))
    from flowzip.images import pngfile

    kept = pngfile.portable_metadata(picture.metadata)  # a PNG's chunks are kept as they are
    assert kept["icc_profile"] == b"fake icc profile bytes"
    assert kept["exif"] == exif.tobytes()
    from flowzip.images.image import encode_image

    written = Image.open(io.BytesIO(encode_image(picture, ".png")))
    assert written.info["icc_profile"] == b"fake icc profile bytes"
    assert written.getexif()[0x010E] == "a description"


def test_estimate_tracks_the_real_size(tiny_models):
    image = make_image("gradient", 64, 64, 3)
    data, report = api.compress_picture(api.read_image(image), estimate=True)
    assert report.compressed_bytes == len(data)
    assert 8 * len(data) - report.estimated_bits < 0.005 * report.estimated_bits + 512


@pytest.mark.parametrize("make, message", [
    (lambda p: Image.new("F", (4, 4)).save(p), "32-bit TIFF images are not supported"),  # 16-bit gray is kept
    (lambda p: Image.new("CMYK", (4, 4)).save(p, "TIFF"), "not supported"),
    (lambda p: p.write_bytes(b"not an image"), "cannot read image"),
])
def test_unsupported_images_are_refused(tiny_models, tmp_path, make, message):
    path = tmp_path / "x.tif"
    make(path)
    with pytest.raises(ImageError, match=message):
        flowzip.compress(path)


def test_sixteen_bit_png_is_kept_not_truncated(classical, tmp_path):
    path = tmp_path / "deep.png"
    pixels = np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000
    Image.fromarray(pixels).save(path)
    picture = api.decompress_picture(flowzip.compress(path))
    assert picture.bit_depth == 16
    np.testing.assert_array_equal(picture.pixels[..., 0], pixels)


def test_without_the_classical_coder_a_palette_is_refused_in_words(tiny_models, tmp_path):
    path = tmp_path / "p.png"
    image = Image.new("P", (16, 16))
    image.putdata(list(range(256)))
    image.putpalette(list(range(256)) * 3)
    image.save(path)
    with pytest.raises(ImageError, match="^an 8-bit palette image needs the classical coder"):
        flowzip.compress(path)


def test_without_the_classical_coder_what_flows_cannot_code_is_refused(tiny_models, tmp_path):
    path = tmp_path / "deep.png"
    Image.fromarray(np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000).save(path)
    with pytest.raises(ImageError, match="16-bit"):
        flowzip.compress(path)


@pytest.mark.parametrize("name, content", [
    ("rgb12.ppm", b"P6\n2 1\n4095\n" + bytes(12)),
    ("low.pgm", b"P5\n2 1\n15\n" + bytes(2)),
])
def test_other_depths_are_refused(tiny_models, tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImageError, match="not supported"):
        flowzip.compress(path)


def test_a_sixteen_bit_rgb_tiff_is_kept(tmp_path):  # the default policy: the classical coder codes it
    path = tmp_path / "deep.tif"
    path.write_bytes(_rgb16_tiff(5, 4))
    assert Image.open(path).mode == "RGB"  # what Pillow alone would make of it: 8 bits
    back = flowzip.decompress(flowzip.compress(path))
    assert back.dtype == np.uint16 and back.shape == (4, 5, 3) and (back == 40000).all()


def test_multi_frame_images_are_refused(tiny_models, tmp_path):
    path = tmp_path / "anim.gif"
    frames = [Image.new("L", (4, 4), v) for v in (0, 255)]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    with pytest.raises(ImageError, match="frames"):
        flowzip.compress(path)


def test_bad_arrays_and_models(tiny_models):
    with pytest.raises(ImageError):
        flowzip.compress(np.zeros((4, 4, 3), np.uint16))
    with pytest.raises(ImageError):
        flowzip.compress(np.zeros((4, 4, 5), np.uint8))
    with pytest.raises(ModelError, match="unknown model"):
        flowzip.compress(np.zeros((4, 4, 3), np.uint8), model="no-such-model")
    with pytest.raises(ModelError, match="codes 1-channel"):
        flowzip.compress(np.zeros((4, 4, 3), np.uint8), model="tiny-gray")


def test_mismatched_weights_are_refused(tiny_models, monkeypatch):
    data = flowzip.compress(make_image("noise", 8, 8, 1))
    header, start = container.parse(data)
    fake = bytearray(data)
    # rewrite the weights id and fix the header CRC so that only the model check can object
    idx = data.index(header.models[0].weights)
    fake[idx : idx + 4] = b"\0\0\0\0"
    import zlib
    end = start - 4
    fake[end:start] = zlib.crc32(bytes(fake[:end])).to_bytes(4, "little")
    with pytest.raises(ModelError, match="needs model"):
        flowzip.decompress(bytes(fake))


@pytest.mark.parametrize("fmt, suffix, mode", [
    ("PNG", ".png", "LA"), ("TIFF", ".tif", "RGB"), ("TIFF", ".tiff", "RGBA"), ("BMP", ".bmp", "RGB"),
    ("BMP", ".bmp", "L"), ("PPM", ".ppm", "RGB"), ("PPM", ".pgm", "L"), ("WEBP", ".webp", "RGBA"),
])
def test_every_lossless_format_round_trips(tiny_models, tmp_path, fmt, suffix, mode):
    pixels = make_image("noise", 11, 14, CHANNELS[mode])
    path = tmp_path / f"in{suffix}"
    options = {"lossless": True} if fmt == "WEBP" else {}
    Image.fromarray(pixels[..., 0] if mode == "L" else pixels, mode).save(path, fmt, **options)
    expected = np.asarray(Image.open(path).convert(mode)).reshape(pixels.shape)
    picture = api.decompress_picture(flowzip.compress(path))
    assert picture.mode == mode
    np.testing.assert_array_equal(picture.pixels, expected)
    # and written back out in the same format, the samples are unchanged
    from flowzip.images.image import encode_image
    again = Image.open(io.BytesIO(encode_image(picture, suffix)))
    np.testing.assert_array_equal(np.asarray(again).reshape(pixels.shape), expected)


@pytest.mark.parametrize("make, message", [
    (lambda: Image.new("P", (4, 4)), "palette"),
    (lambda: Image.new("1", (4, 4)), "1-bit"),
])
def test_palette_and_bilevel_are_refused_outside_png(tiny_models, tmp_path, make, message):
    path = tmp_path / "x.tif"
    make().save(path)
    with pytest.raises(ImageError, match=message):
        flowzip.compress(path)


@pytest.mark.parametrize("make", [lambda: Image.new("P", (5, 3), 2), lambda: Image.new("1", (9, 4), 1)])
def test_palette_and_bilevel_pngs_are_kept(classical, tmp_path, make):
    path = tmp_path / "x.png"
    make().save(path)
    back = tmp_path / "back.png"
    back.write_bytes(encode_image(api.decompress_picture(flowzip.compress(path)), ".png"))
    a, b = Image.open(path), Image.open(back)
    assert (a.mode, a.info, a.getpalette()) == (b.mode, b.info, b.getpalette())
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_the_api_takes_a_loaded_model_and_decompresses_archives(tiny_models, tmp_path):
    image = make_image("gradient", 20, 30, 3)
    model = flowzip.load_model("tiny-rgb")
    data = flowzip.compress(image, model=model)
    np.testing.assert_array_equal(flowzip.decompress(data), image)
    assert data == flowzip.compress(image, model="tiny-rgb")
    paths = []
    for i, mode in enumerate(["RGB", "L"]):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(make_image("noise", 9, 7, CHANNELS[mode], seed=i)[..., :3].squeeze(), mode).save(paths[-1])
    archive = flowzip.compress_archive(paths + [("named", image)])
    items = flowzip.decompress_archive(archive)
    assert [name for name, _ in items] == ["0.png", "1.png", "named"]
    np.testing.assert_array_equal(items[1][1], np.asarray(Image.open(paths[1])))
    np.testing.assert_array_equal(items[2][1], image)
    with pytest.raises(flowzip.FlowzipError, match="archive of 3 images"):
        flowzip.decompress(archive)
    with pytest.raises(ModelError, match="not a list"):
        flowzip.compress(image, model=[1])


def test_image_errors_show_no_object(tiny_models):
    with pytest.raises(ImageError) as info:
        flowzip.compress(b"not an image at all")
    assert "<" not in str(info.value) and "0x" not in str(info.value)


def test_the_default_effort_codes_a_simple_large_picture_with_the_classical_coder_alone(monkeypatch):
    """A drawing the classical coder codes in under ``SIMPLE_BPD`` is not coded again with the
    guided coder at effort 5 (the guide does not pay there); with the rule off, both ways are."""
    picture = np.full((260, 270, 3), 240, np.uint8)
    picture[20:120, 30:200] = (200, 30, 30)
    picture[150:250, 100:260] = np.arange(160, dtype=np.uint8)[None, :, None]
    one, report = api.encode([("", api.read_image(picture))])
    assert report.plans == 1 and report.coders == ["classical-v1"]
    monkeypatch.setattr(api, "SIMPLE_BPD", 0.0)
    both, report = api.encode([("", api.read_image(picture))])
    assert report.plans == 2 and len(one) <= len(both)
    np.testing.assert_array_equal(flowzip.decompress(one), picture)


def test_the_default_effort_does_not_code_a_plan_whose_sample_looks_larger(monkeypatch):
    """At effort 5 the local prior's plan is coded only when its sampled estimate is not clearly
    above the classical coder's file; either way the file decodes exactly."""
    rng = np.random.default_rng(0)
    picture = np.clip(np.cumsum(rng.integers(-4, 5, (64, 70, 3)), 1) + 128, 0, 255).astype(np.uint8)
    set_policy(monkeypatch, local_photo={3: "local-photo-v1"})  # a prior that samples its cost
    monkeypatch.setattr(api, "SCREEN_PIXELS", 0)
    monkeypatch.setattr(api, "SCREEN_MARGIN", 10.0)  # never looks larger: both ways coded
    both, report = api.encode([("", api.read_image(picture))])
    assert report.plans == 2
    monkeypatch.setattr(api, "SCREEN_MARGIN", -1.0)  # always looks larger: the classical coder's file only
    one, report = api.encode([("", api.read_image(picture))])
    assert report.plans == 1 and report.coders == ["classical-v1"]
    assert len(one) >= len(both)
    for data in (both, one):
        np.testing.assert_array_equal(flowzip.decompress(data), picture)
    _, report = api.encode([("", api.read_image(picture))], effort=6)  # higher efforts code every way
    assert report.plans >= 3
