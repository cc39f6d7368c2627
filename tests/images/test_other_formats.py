"""Pictures of formats other than PNG that only a PNG holds exactly (``images.image``): palette GIF,
BMP and TIFF files, 1-bit BMP and TIFF, 16-bit gray TIFF and PGM, read as that PNG (indices,
palette, transparency, background, comment) and written back as it; deeper or odder ones refused;
a JPEG's metadata (ICC profile, Exif, XMP, comment) kept."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from flowzip import api
from flowzip.errors import ImageError
from flowzip.images import pngfile
from flowzip.images.image import encode_image, picture_from_pil, read_image

RNG = np.random.default_rng(7)


def _palette_image(colours: int, shape=(11, 17)) -> Image.Image:
    im = Image.fromarray(RNG.integers(0, colours, shape).astype(np.uint8), "P")
    im.putpalette(RNG.integers(0, 256, 3 * colours).astype(np.uint8).tobytes())
    return im


def _saved(im: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **options)
    return buf.getvalue()


def _assert_kept(data: bytes):
    """Read, coded, decoded and written as PNG: the same samples, colours and transparency."""
    picture = read_image(data, "input")
    back = api.decompress_picture(api.compress_picture(picture)[0])
    assert (back.mode, back.bit_depth, back.metadata) == (picture.mode, picture.bit_depth, picture.metadata)
    np.testing.assert_array_equal(back.pixels, picture.pixels)
    with Image.open(io.BytesIO(data)) as source, Image.open(io.BytesIO(encode_image(back, ".png"))) as written:
        assert written.mode == source.mode or (source.mode == "I" and written.mode == "I;16")
        np.testing.assert_array_equal(np.asarray(written).astype(np.int64), np.asarray(source).astype(np.int64))
        if source.mode == "P":
            np.testing.assert_array_equal(np.asarray(written.convert("RGBA")), np.asarray(source.convert("RGBA")))
        for key in ("transparency", "background"):
            if key in source.info and key in written.info:
                assert written.info[key] == source.info[key]
    return picture


@pytest.mark.parametrize("colours", [2, 3, 16, 17, 256])
@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_palette_images_are_kept_with_their_palette(fmt, colours):
    picture = _assert_kept(_saved(_palette_image(colours), fmt))
    assert picture.is_palette
    if fmt == "BMP":  # its palette as it is, so the fewest bits that index it
        assert picture.bit_depth == next(d for d in (1, 2, 4, 8) if colours <= 1 << d)


def test_a_gifs_transparency_background_and_comment_are_kept():
    data = _saved(_palette_image(7), "GIF", transparency=3, background=2, comment=b"made here")
    picture = _assert_kept(data)
    chunks = {c.type: c.data for c in pngfile.read_png(encode_image(picture, ".png")).chunks}
    assert chunks["tRNS"] == b"\xff\xff\xff\x00"
    assert chunks["bKGD"] == b"\x02"
    assert chunks["tEXt"] == b"Comment\x00made here"


def test_a_transparent_index_beyond_the_palette_grows_it():
    im = _palette_image(3)
    im.info["transparency"] = 5
    picture = picture_from_pil(im)
    assert len(picture.metadata[pngfile.PALETTE_KEY]) == 3 * 6
    with Image.open(io.BytesIO(encode_image(picture, ".png"))) as written:
        np.testing.assert_array_equal(np.asarray(written.convert("RGBA")), np.asarray(im.convert("RGBA")))


def test_an_rgba_palette_keeps_its_alphas():
    im = _palette_image(4)
    im.putpalette(bytes(range(16)), "RGBA")
    with Image.open(io.BytesIO(encode_image(picture_from_pil(im), ".png"))) as written:
        np.testing.assert_array_equal(np.asarray(written.convert("RGBA")), np.asarray(im.convert("RGBA")))


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "PNG"])
def test_one_bit_images_are_kept(fmt):
    im = Image.fromarray(RNG.integers(0, 2, (9, 21)).astype(bool))
    picture = _assert_kept(_saved(im, fmt))
    assert (picture.mode, picture.bit_depth) == ("L", 1)


@pytest.mark.parametrize("fmt", ["TIFF", "PPM"])
def test_sixteen_bit_gray_is_kept(fmt):
    im = Image.fromarray(RNG.integers(0, 65536, (7, 10)).astype(np.uint16))
    picture = _assert_kept(_saved(im, fmt))
    assert (picture.mode, picture.bit_depth) == ("L", 16)


@pytest.mark.parametrize("mode, colour", [("L", 9), ("RGB", (1, 2, 3))])
def test_a_transparent_colour_is_kept(mode, colour):
    im = Image.new(mode, (5, 4), colour)
    im.info["transparency"] = colour
    with Image.open(io.BytesIO(encode_image(picture_from_pil(im), ".png"))) as written:
        assert written.info["transparency"] == colour


def _pgm(top: int, channels: int = 1) -> bytes:
    magic = b"P5" if channels == 1 else b"P6"
    return magic + b" 3 2 %d\n" % top + RNG.integers(0, top + 1, 6 * channels).astype(">u2").tobytes()


@pytest.mark.parametrize("data, what", [(_pgm(1023), "maximum value 1023"), (_pgm(4095, 3), "maximum value 4095")])
def test_other_depths_are_refused(data, what):
    with pytest.raises(ImageError, match=f"^in.pgm: PPM/PGM with {what} images are not supported"):
        read_image(data, "in.pgm")


def test_a_32_bit_image_is_refused():
    with pytest.raises(ImageError, match="32-bit integer images are not supported"):
        picture_from_pil(Image.fromarray(np.full((2, 2), 70000, np.int32)))


XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'


def test_a_jpegs_xmp_and_comment_are_kept_beside_its_icc_profile_and_exif():
    exif = Image.Exif()
    exif[0x010E] = "a description"
    im = Image.fromarray(RNG.integers(0, 256, (9, 13, 3), dtype=np.uint8))
    data = _saved(im, "JPEG", icc_profile=b"icc", exif=exif.tobytes(), xmp=XMP, comment=b"made\x00here")
    picture = read_image(data)
    assert picture.metadata == {"icc_profile": b"icc", "exif": exif.tobytes(), "xmp": XMP, "comment": b"made\x00here"}
    back = api.decompress_picture(api.compress_picture(picture)[0])
    assert back.metadata == picture.metadata  # the .fz file keeps them whole
    chunks = [(c.type, c.data) for c in pngfile.read_png(encode_image(back, ".png")).chunks]
    assert [t for t, _ in chunks] == ["iCCP", "eXIf", "iTXt", "tEXt"]
    assert chunks[2][1] == b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + XMP
    assert chunks[3][1] == b"Comment\x00made"  # tEXt holds no NUL byte
    png = read_image(encode_image(back, ".png"))
    assert pngfile.portable_metadata(png.metadata) == {"icc_profile": b"icc", "exif": exif.tobytes(), "xmp": XMP}
    for suffix in (".webp", ".tif"):  # their writers take XMP too
        with Image.open(io.BytesIO(encode_image(png, suffix))) as written:
            assert (written.info["icc_profile"], written.info["xmp"]) == (b"icc", XMP)
            assert written.getexif()[0x010E] == "a description"
            assert read_image(encode_image(png, suffix)).metadata["xmp"] == XMP


def test_a_pngs_xmp_goes_to_other_formats_compressed_or_not():
    from PIL import PngImagePlugin

    for compressed in (False, True):
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", XMP.decode(), zip=compressed)
        png = read_image(_saved(Image.new("RGB", (3, 2)), "PNG", pnginfo=info))
        assert pngfile.portable_metadata(png.metadata) == {"xmp": XMP}
        for suffix in (".webp", ".tif"):
            with Image.open(io.BytesIO(encode_image(png, suffix))) as written:
                assert written.info["xmp"] == XMP


def test_a_malformed_or_damaged_xmp_chunk_is_left_out_of_other_formats():
    for data in (b"XML:com.adobe.xmp\x00\x01\x00\x00\x00not zlib", b"XML:com.adobe.xmp\x00\x00\x00no ends",
                 b"XML:com.adobe.xmp\x00\x02\x00\x00\x00<x/>", b"XML:com.adobe.xmpx\x00\x00\x00\x00\x00<x/>"):
        png = pngfile.PngImage(np.zeros((2, 3, 3), np.uint8), pngfile.RGB, 8,
                               chunks=[pngfile.Chunk("iTXt", data, pngfile.Place.BEFORE_IDAT)])
        picture = read_image(pngfile.write_png(png))
        assert pngfile.portable_metadata(picture.metadata) == {}
        with Image.open(io.BytesIO(encode_image(picture, ".webp"))) as webp:
            assert "xmp" not in webp.info
