"""A picture's resolution (``images.resolution``): read from TIFF, JPEG and BMP files, kept through
compression, written to PNG (pHYs), TIFF and BMP; a PNG's pHYs given to other formats. A TIFF's
descriptive tags (``images.tifftags``) kept as an Exif block."""

from __future__ import annotations

import io
import struct
from fractions import Fraction

import numpy as np
import pytest
from PIL import ExifTags, Image, TiffImagePlugin, TiffTags

from flowzip import api
from flowzip.images import pngfile, resolution
from flowzip.images.image import encode_image, read_image
from flowzip.images.resolution import CM, INCH, METRE, NONE, Resolution

PIXELS = np.random.default_rng(3).integers(0, 256, (9, 13, 3)).astype(np.uint8)


def _saved(fmt: str, im: Image.Image | None = None, **options) -> bytes:
    buf = io.BytesIO()
    (im or Image.fromarray(PIXELS)).save(buf, fmt, **options)
    return buf.getvalue()


def _through_fz(data: bytes):
    """The picture of a file, compressed and decompressed (its pixels checked)."""
    picture = read_image(data, "input")
    back = api.decompress_picture(api.compress_picture(picture)[0])
    assert back.metadata == picture.metadata
    np.testing.assert_array_equal(back.pixels, picture.pixels)
    return back


def _phys(png: bytes) -> bytes | None:
    chunks = [c for c in pngfile.read_png(png).chunks if c.type == "pHYs"]
    return chunks[0].data if chunks else None


def _tiff_tags(data: bytes) -> tuple:
    with Image.open(io.BytesIO(data)) as im:
        tags = im.tag_v2
        return tags.get(296), _exact(tags.get(282)), _exact(tags.get(283))


def _exact(value):
    return None if value is None else Fraction(value.numerator, value.denominator)


def _bmp_pixels_per_metre(data: bytes) -> tuple[int, int]:
    return struct.unpack_from("<ii", data, 14 + 24)


def _tiff(unit: int, x: Fraction, y: Fraction) -> bytes:
    info = TiffImagePlugin.ImageFileDirectory_v2()
    info[296] = unit
    info[282] = TiffImagePlugin.IFDRational(x.numerator, x.denominator)
    info[283] = TiffImagePlugin.IFDRational(y.numerator, y.denominator)
    return _saved("TIFF", tiffinfo=info)


@pytest.mark.parametrize("unit, ours", [(2, INCH), (3, CM), (1, NONE)])
def test_a_tiffs_resolution_is_kept_exactly(unit, ours):
    x, y = Fraction(600, 7), Fraction(300, 1)
    back = _through_fz(_tiff(unit, x, y))
    assert Resolution.from_bytes(back.metadata["resolution"]) == (ours, x, y)
    assert _tiff_tags(encode_image(back, ".tif")) == (unit, x, y)
    phys = _phys(encode_image(back, ".png"))
    if ours == NONE:  # an aspect ratio in lowest terms
        assert phys == (2).to_bytes(4, "big") + (7).to_bytes(4, "big") + b"\x00"
    else:  # per metre, rounded: 85.714... dpi is 3374.6 per metre, 300 per cm is 30000
        per_metre = (3375, 11811) if ours == INCH else (8571, 30000)
        assert phys == per_metre[0].to_bytes(4, "big") + per_metre[1].to_bytes(4, "big") + b"\x01"


def test_a_jpegs_density_is_kept_and_its_default_says_nothing():
    back = _through_fz(_saved("JPEG", dpi=(72, 96)))
    assert Resolution.from_bytes(back.metadata["resolution"]) == (INCH, 72, 96)
    assert _tiff_tags(encode_image(back, ".tiff")) == (2, 72, 96)
    assert "resolution" not in read_image(_saved("JPEG"), "input").metadata  # 1:1, no unit


def test_a_bmps_pixels_per_metre_come_back_exactly():
    source = _saved("BMP", dpi=(150, 75))
    back = _through_fz(source)
    assert _bmp_pixels_per_metre(encode_image(back, ".bmp")) == _bmp_pixels_per_metre(source) == (5906, 2953)
    assert _phys(encode_image(back, ".png")) == struct.pack(">IIB", 5906, 2953, 1)
    assert _tiff_tags(encode_image(back, ".tif")) == (3, Fraction(5906, 100), Fraction(2953, 100))


def test_a_palette_bmps_resolution_goes_into_its_png():
    im = Image.fromarray(PIXELS[..., 0] % 4, "P")
    im.putpalette(list(range(12)))
    back = _through_fz(_saved("BMP", im, dpi=(300, 300)))
    assert back.is_palette
    assert _phys(encode_image(back, ".png")) == struct.pack(">IIB", 11811, 11811, 1)


def test_a_pngs_phys_goes_to_other_formats():
    png = _saved("PNG", dpi=(254, 127))  # 10000 and 5000 per metre
    back = _through_fz(png)
    assert _phys(encode_image(back, ".png")) == _phys(png) == struct.pack(">IIB", 10000, 5000, 1)
    assert _tiff_tags(encode_image(back, ".tif")) == (3, 100, 50)
    assert _bmp_pixels_per_metre(encode_image(back, ".bmp")) == (10000, 5000)


def test_pictures_without_a_resolution_get_none():
    for data in (_saved("TIFF"), _saved("WEBP", lossless=True), _saved("PPM")):
        assert "resolution" not in read_image(data, "input").metadata
    with Image.open(io.BytesIO(_saved("PNG", dpi=(72, 72)))) as im:  # a PNG Pillow opened keeps its pHYs
        assert Resolution.from_bytes(read_image(im).metadata["resolution"]) == (METRE, 2835, 2835)


@pytest.mark.parametrize("data", [b"", b"\x04" + bytes(16), b"\x01" + bytes(16), b"\x01" + b"\x00\x00\x00\x01" * 3])
def test_malformed_resolutions_are_left_out_of_written_files(data):
    assert Resolution.from_bytes(data) is None
    assert resolution.phys(data) is None and resolution.save_options(data, "TIFF") == {}
    picture = read_image(PIXELS)
    picture.metadata["resolution"] = data
    assert _phys(encode_image(picture, ".png")) is None


def test_a_bmp_gets_no_invented_resolution():
    back = _through_fz(_saved("PNG"))  # no pHYs: no resolution
    assert _bmp_pixels_per_metre(encode_image(back, ".bmp")) == (0, 0)  # not Pillow's 96 dpi
    assert "resolution" not in read_image(encode_image(back, ".bmp"), "out").metadata


def test_a_tiffs_resolution_in_floating_point_is_kept_as_the_nearest_fraction():
    info = TiffImagePlugin.ImageFileDirectory_v2()
    info[282], info[283] = 0.3, 72.5
    info.tagtype[282] = info.tagtype[283] = TiffTags.DOUBLE
    picture = read_image(_saved("TIFF", tiffinfo=info), "in.tif")
    assert Resolution.from_bytes(picture.metadata["resolution"]) == (INCH, Fraction(3, 10), Fraction(145, 2))


def test_densities_a_png_cannot_hold_are_left_out():
    huge = Resolution(INCH, Fraction(2**32 - 1), Fraction(1)).to_bytes()  # beyond 2**31 - 1 per metre
    assert resolution.phys(huge) is None
    assert resolution.from_phys(b"\x00" * 9) is None and resolution.from_phys(b"\x00" * 8 + b"\x02") is None


def _camera_tiff(orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    exif.update({271: "Maker", 272: "Model 7", 306: "2026:12:07 10:00:00", 33432: "(c) someone"})
    if orientation:
        exif[274] = orientation
    exif.get_ifd(ExifTags.IFD.Exif).update({33434: (1, 250), 36867: "2026:12:07 10:00:00"})
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({1: "N"})
    return _saved("TIFF", exif=exif.tobytes(), description="a scan", software="scanner 2", dpi=(600, 600))


def _tags(data: bytes) -> tuple[dict, dict, dict]:
    with Image.open(io.BytesIO(data)) as im:
        exif = im.getexif()
        kept = {t: exif[t] for t in (270, 271, 272, 274, 305, 306, 33432) if t in exif}
        return kept, dict(exif.get_ifd(ExifTags.IFD.Exif)), dict(exif.get_ifd(ExifTags.IFD.GPSInfo))


def test_a_tiffs_descriptive_tags_are_kept_and_written_back():
    source = _camera_tiff()
    back = _through_fz(source)
    expected = _tags(source)
    assert expected[0] == {270: "a scan", 271: "Maker", 272: "Model 7", 305: "scanner 2",
                           306: "2026:12:07 10:00:00", 33432: "(c) someone"}
    for suffix in (".png", ".tif", ".webp"):
        assert _tags(encode_image(back, suffix)) == expected, suffix
    assert _tiff_tags(encode_image(back, ".tif")) == (2, 600, 600)


def test_a_tiffs_orientation_is_in_its_pixels_not_its_tags():
    source = _camera_tiff(orientation=6)  # turned a quarter: Pillow reads it 13 high, 9 wide
    with Image.open(io.BytesIO(source)) as im:
        im.load()
        shown = np.asarray(im)
    back = _through_fz(source)
    written = encode_image(back, ".png")
    with Image.open(io.BytesIO(written)) as im:
        np.testing.assert_array_equal(np.asarray(im), shown)
    assert shown.shape[:2] == (13, 9) and 274 not in _tags(written)[0]


def test_a_tiff_without_descriptive_tags_gets_no_exif():
    assert "exif" not in read_image(_saved("TIFF"), "input").metadata
