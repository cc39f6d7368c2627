"""Colour pictures of 16 bits per sample (``images.deep``): TIFF (read by tifffile) and PPM files kept
exactly as 16-bit RGB or RGBA pictures, upright as Pillow shows 8-bit TIFFs; what cannot be kept
refused with one line."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
import tifffile
from PIL import Image

from flowzip import api
from flowzip.errors import ImageError
from flowzip.images import pngfile
from flowzip.images.image import encode_image, read_image
from flowzip.images.resolution import Resolution

RNG = np.random.default_rng(11)


def _tiff(pixels: np.ndarray, **options) -> bytes:
    buf = io.BytesIO()
    tifffile.imwrite(buf, pixels, photometric="rgb", **options)
    return buf.getvalue()


def _kept(data: bytes, name: str = "in.tif"):
    """Read, coded, decoded, written as PNG: the same 16-bit samples."""
    picture = read_image(data, name)
    back = api.decompress_picture(api.compress_picture(picture)[0])
    assert (back.mode, back.bit_depth, back.metadata) == (picture.mode, 16, picture.metadata)
    np.testing.assert_array_equal(back.pixels, picture.pixels)
    np.testing.assert_array_equal(pngfile.read_png(encode_image(back, ".png")).samples, picture.pixels)
    return picture


@pytest.mark.parametrize("options", [{}, {"compression": "zlib", "predictor": True}, {"planarconfig": "separate"},
                                     {"byteorder": ">"}])
def test_a_sixteen_bit_rgb_tiff_is_kept(options):
    pixels = RNG.integers(0, 65536, (6, 9, 3)).astype(np.uint16)
    source = pixels.transpose(2, 0, 1) if options.get("planarconfig") == "separate" else pixels
    picture = _kept(_tiff(np.ascontiguousarray(source), **options))
    assert picture.mode == "RGB"
    np.testing.assert_array_equal(picture.pixels, pixels)


def test_a_sixteen_bit_rgba_tiff_keeps_its_alpha_and_tags():
    pixels = RNG.integers(0, 65536, (5, 4, 4)).astype(np.uint16)
    data = _tiff(pixels, extrasamples=["unassalpha"], resolution=(300, 300), description="a scan",
                 metadata=None)
    picture = _kept(data)
    assert picture.mode == "RGBA" and {"resolution", "exif"} <= set(picture.metadata)
    np.testing.assert_array_equal(picture.pixels, pixels)


def test_premultiplied_alpha_is_refused():
    data = _tiff(RNG.integers(0, 65536, (3, 3, 4)).astype(np.uint16), extrasamples=["assocalpha"])
    with pytest.raises(ImageError, match="^in.tif: 16-bit TIFF images with premultiplied or unnamed extra"):
        read_image(data, "in.tif")


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_tiffs_orientation_turns_its_pixels_as_pillow_does(orientation):
    high = RNG.integers(0, 256, (4, 6, 3)).astype(np.uint8)
    tag = [(274, "H", 1, orientation, True)]
    buf = io.BytesIO()
    tifffile.imwrite(buf, high, photometric="rgb", extratags=tag)
    with Image.open(buf) as im:  # Pillow reads the 8-bit file upright
        upright = np.asarray(im)
    picture = read_image(_tiff(high.astype(np.uint16) * 257, extratags=tag), "in.tif")
    np.testing.assert_array_equal(picture.pixels >> 8, upright)


def test_lzw_without_imagecodecs_is_refused_with_what_to_install_packbits_is_read(tmp_path):
    pytest.importorskip("imagecodecs")  # to write the LZW file
    pixels = RNG.integers(0, 65536, (3, 3, 3)).astype(np.uint16)
    (tmp_path / "lzw.tif").write_bytes(_tiff(pixels, compression="lzw"))
    (tmp_path / "packbits.tif").write_bytes(_tiff(pixels, compression="packbits"))
    for path in tmp_path.glob("*.tif"):  # with imagecodecs: both read
        np.testing.assert_array_equal(read_image(path).pixels, pixels)
    probe = ("import sys; sys.modules['imagecodecs'] = None\n"
             "from flowzip.images.image import read_image\n"
             f"assert read_image({str(tmp_path / 'packbits.tif')!r}).bit_depth == 16\n"
             f"read_image({str(tmp_path / 'lzw.tif')!r})")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode != 0
    last = result.stderr.splitlines()[-1]
    assert "needs the imagecodecs package" in last and "pip install imagecodecs" in last


def test_several_pages_are_refused():
    buf = io.BytesIO()
    with tifffile.TiffWriter(buf) as tiff:
        for _ in range(3):
            tiff.write(RNG.integers(0, 65536, (4, 5, 3)).astype(np.uint16), photometric="rgb")
    with pytest.raises(ImageError, match="^in.tif: the image has 3 frames"):
        read_image(buf.getvalue(), "in.tif")


@pytest.mark.parametrize("bits", [8, 16])
def test_a_turned_tiffs_resolution_turns_with_its_pixels(bits):
    pixels = RNG.integers(0, 256, (4, 6, 3)).astype(np.uint8)
    data = _tiff(pixels.astype(np.uint16) * 257 if bits == 16 else pixels, resolution=(300, 100),
                 extratags=[(274, "H", 1, 6, True)])  # a quarter turn: 6 wide becomes 6 high
    picture = read_image(data, "in.tif")
    assert picture.pixels.shape[:2] == (6, 4)
    assert Resolution.from_bytes(picture.metadata["resolution"])[1:] == (100, 300)


def _ppm(pixels: np.ndarray, head: bytes = b"P6\n# a comment\n%d %d\n65535\n") -> bytes:
    return head % (pixels.shape[1], pixels.shape[0]) + pixels.astype(">u2").tobytes()


def test_a_sixteen_bit_ppm_is_kept():
    pixels = RNG.integers(0, 65536, (7, 5, 3)).astype(np.uint16)
    for head in (b"P6\n# a comment\n%d %d\n65535\n", b"P6 %d\t%d #c\n 65535 "):
        np.testing.assert_array_equal(_kept(_ppm(pixels, head), "in.ppm").pixels, pixels)


def test_a_truncated_or_empty_sixteen_bit_ppm_is_refused():
    with pytest.raises(ImageError, match="^in.ppm: the 16-bit PPM is truncated"):
        read_image(_ppm(RNG.integers(0, 65536, (7, 5, 3)).astype(np.uint16))[:-10], "in.ppm")
    with pytest.raises(ImageError, match="^in.ppm: "):
        read_image(b"P6 0 4 65535\n", "in.ppm")


def test_sixteen_bit_pictures_are_written_as_png_only():
    picture = read_image(_tiff(np.zeros((2, 2, 3), np.uint16)), "in.tif")
    with pytest.raises(ImageError, match="16-bit image can only be written as PNG"):
        encode_image(picture, ".tif")


def test_damaged_files_are_read_or_refused_with_one_line():
    """Mutated 16-bit TIFF and PPM files (and 8-bit ones with resolutions and tags): each is read, or
    refused with an ``ImageError``; nothing else escapes."""
    pixels = RNG.integers(0, 65536, (12, 10, 3)).astype(np.uint16)
    planes = np.ascontiguousarray(pixels.transpose(2, 0, 1))
    sources = [_tiff(pixels, resolution=(300, 300), description="d"),
               _tiff(pixels, resolution=(300, 300), description="d", compression="zlib", predictor=True),
               _tiff(planes, resolution=(300, 300), description="d", planarconfig="separate"), _ppm(pixels)]
    for fmt in ("TIFF", "JPEG", "BMP"):
        buf = io.BytesIO()
        Image.fromarray((pixels >> 8).astype(np.uint8)).save(buf, fmt, dpi=(300, 200))
        sources.append(buf.getvalue())
    for data in sources:  # each whole one is read, with its resolution (a PPM has none)
        assert ("resolution" in read_image(data, "in").metadata) == (data[:2] != b"P6")
    rng = np.random.default_rng(5)
    for _ in range(400):
        data = bytearray(sources[rng.integers(len(sources))])
        for _ in range(rng.integers(1, 4)):
            at = int(rng.integers(len(data)))
            if rng.random() < 0.6:
                data[at] = int(rng.integers(256))
            else:
                data = data[: max(at, 8)]
        try:
            read_image(bytes(data), "in")
        except ImageError as e:
            assert "\n" not in str(e) and str(e).startswith("in: ")
