"""flowzip.images.pngfile: PngSuite-style images (every colour type, bit depth, interlacing, transparency
and ancillary chunk) read exactly, written back with every chunk in its place, taken apart into
planes and put together again; damaged and animated PNGs refused with one line."""

from __future__ import annotations

import dataclasses
import io
import struct
import zlib
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from flowzip.errors import ImageError
from flowzip.images import pngfile
from flowzip.images.resolution import METRE, Resolution
from flowzip.images.pngfile import (GRAY, GRAY_ALPHA, PALETTE, RGB, RGBA, SIGNATURE, Chunk, PngImage, Place,
                                    from_planes, portable_metadata, read_png, to_planes, write_png)

from pngsuite import CASES, EXIF, ICC, SIZES, ids, random_samples, suite_image


def assert_same(a: PngImage, b: PngImage):
    assert a.samples.dtype == b.samples.dtype and np.array_equal(a.samples, b.samples)
    assert dataclasses.replace(a, samples=None) == dataclasses.replace(b, samples=None)


def pillow_samples(data: bytes, depth: int) -> np.ndarray:
    """Pillow's reading of a PNG of ``depth`` bits (8-bit modes, palette indices, gray), unscaled,
    as (H, W, C)."""
    with Image.open(io.BytesIO(data)) as im:
        arr = np.asarray(im).astype(np.uint16 if im.mode.startswith("I") else np.uint8)
        if im.mode == "L" and depth < 8:  # Pillow scales 2 and 4-bit gray to 8 bits
            arr = arr // (255 // ((1 << depth) - 1))
    return arr.reshape(arr.shape[0], arr.shape[1], -1)


def libpng_samples(image: PngImage, data: bytes) -> np.ndarray:
    """libpng's reading (through imagecodecs) made comparable with ``image.samples``."""
    imagecodecs = pytest.importorskip("imagecodecs")
    arr = imagecodecs.png_decode(data)
    arr = arr.reshape(arr.shape[0], arr.shape[1], -1)
    if image.colour_type == PALETTE:  # libpng expands palettes: find each pixel's index
        colours = np.frombuffer(image.palette, np.uint8).reshape(-1, 3)
        assert np.array_equal(arr[..., :3], colours[image.samples[..., 0]])
        return image.samples
    if image.bit_depth < 8:
        return arr // (255 // ((1 << image.bit_depth) - 1))
    return arr


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_file(header: bytes, *chunks: tuple[bytes, bytes]) -> bytes:
    """A PNG of IHDR ``header``, ``chunks`` and IEND, with right CRCs."""
    return SIGNATURE + b"".join(chunk(kind, data) for kind, data in ((b"IHDR", header), *chunks, (b"IEND", b"")))


def gray_header(width, height, depth=8, colour_type=GRAY, interlace=0):
    return struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, interlace)


# ----------------------------------------------------------------------------- our writer, every case


@pytest.mark.parametrize("interlaced", [False, True], ids=["plain", "adam7"])
@pytest.mark.parametrize("case", CASES, ids=ids)
def test_every_colour_type_and_depth_round_trips_with_its_chunks(case, interlaced):
    for seed, size in enumerate(SIZES):
        image = suite_image(*case, size, interlaced, seed)
        data = write_png(image)
        back = read_png(data)
        assert_same(back, image)
        assert write_png(back) == data
        planes, mode, depth, metadata = to_planes(back)
        assert (mode, depth, planes.shape) == ({GRAY_ALPHA: "LA", RGB: "RGB", RGBA: "RGBA"}.get(case[0], "L"),
                                               case[1], image.samples.shape)
        assert all(key.startswith("png:") for key in metadata)
        assert_same(from_planes(planes, mode, depth, metadata), image)


@pytest.mark.parametrize("interlaced", [False, True], ids=["plain", "adam7"])
@pytest.mark.parametrize("case", CASES, ids=ids)
def test_our_files_read_the_same_in_libpng_and_pillow(case, interlaced):
    for seed, size in enumerate(SIZES):
        image = suite_image(*case, size, interlaced, seed, chunks=False)
        data = write_png(image, compress_level=seed % 10)
        assert np.array_equal(libpng_samples(image, data), image.samples)
        if case[1] <= 8 or case[0] == GRAY:
            assert np.array_equal(pillow_samples(data, case[1]), image.samples)


def test_chunks_keep_their_places_in_the_file():
    image = suite_image(PALETTE, 4, (3, 5), False, seed=1)
    data = write_png(image)
    order = [data[pos + 4:pos + 8] for pos in chunk_offsets(data)]
    assert order == ([b"IHDR"] + [c.type.encode() for c in image.chunks if c.place == Place.BEFORE_PLTE] + [b"PLTE"]
                     + [c.type.encode() for c in image.chunks if c.place == Place.BEFORE_IDAT] + [b"IDAT"]
                     + [c.type.encode() for c in image.chunks if c.place == Place.AFTER_IDAT] + [b"IEND"])


def chunk_offsets(data: bytes) -> list[int]:
    offsets, pos = [], len(SIGNATURE)
    while pos < len(data):
        offsets.append(pos)
        pos += 12 + struct.unpack(">I", data[pos:pos + 4])[0]
    return offsets


def test_long_image_data_is_split_over_idat_chunks():
    image = PngImage(np.random.default_rng(0).integers(0, 2**16, (300, 700, 4)).astype(np.uint16), RGBA, 16)
    data = write_png(image, compress_level=1)
    assert sum(data[pos + 4:pos + 8] == b"IDAT" for pos in chunk_offsets(data)) > 1
    assert_same(read_png(data), image)


# ------------------------------------------------------------------------- files of other writers


PILLOW_MODES = [("1", {}), ("L", {"bits": 2}), ("L", {"bits": 4}), ("L", {}), ("LA", {}), ("RGB", {}), ("RGBA", {}),
                ("P", {"bits": 1}), ("P", {"bits": 2}), ("P", {"bits": 4}), ("P", {}), ("I;16", {})]


def pillow_png(mode, options, size, seed) -> bytes:
    """A PNG written by Pillow with transparency (where the mode takes a key), an ICC profile,
    Exif, resolution, tEXt, zTXt, iTXt and an unknown chunk after IDAT."""
    rng = np.random.default_rng(seed)
    height, width = size
    if mode == "I;16":
        im = Image.fromarray(rng.integers(0, 2**16, size).astype(np.uint16))
    elif mode == "P":
        colours = min(2 ** options.get("bits", 8), 256)
        im = Image.fromarray(rng.integers(0, colours, size).astype(np.uint8), "L").convert("P")
        im.putpalette(list(rng.integers(0, 256, 3 * colours)))
    elif mode == "L" and "bits" in options:  # Pillow writes the top bits of 8-bit values
        levels = 2 ** options["bits"]
        im = Image.fromarray((rng.integers(0, levels, size) * (255 // (levels - 1))).astype(np.uint8), "L")
    else:
        im = Image.fromarray(rng.integers(0, 256, (height, width, 4)).astype(np.uint8), "RGBA").convert(mode)
    info = PngImagePlugin.PngInfo()
    info.add_text("Title", "PngSuite-style")
    info.add_text("Comment", "compressed " * 20, zip=True)
    info.add_itxt("Author", "Grüße", lang="de", tkey="Autor")
    info.add(b"prVt", b"private data", after_idat=True)
    transparency = {"L": 3, "RGB": (1, 2, 3), "P": bytes(range(0, 256, 64)), "I;16": 4}.get(mode)
    extra = {"transparency": transparency} if transparency is not None and "bits" not in options else {}
    buf = io.BytesIO()
    im.save(buf, "PNG", pnginfo=info, icc_profile=ICC, exif=b"Exif\x00\x00" + EXIF, dpi=(72, 72), **options, **extra)
    return buf.getvalue()


@pytest.mark.parametrize("mode, options", PILLOW_MODES, ids=[f"{m}{o.get('bits', '')}" for m, o in PILLOW_MODES])
def test_pillow_files_read_exactly_and_keep_their_chunks(mode, options):
    for seed, size in enumerate(SIZES):
        data = pillow_png(mode, options, size, seed)
        image = read_png(data)
        assert np.array_equal(image.samples, pillow_samples(data, image.bit_depth))
        kinds = [c.type for c in image.chunks]
        assert {"iCCP", "eXIf", "pHYs", "tEXt", "zTXt", "iTXt", "prVt"} <= set(kinds)
        assert ("tRNS" in kinds) == (mode in ("L", "RGB", "P", "I;16") and "bits" not in options)
        assert image.chunks[-1] == Chunk("prVt", b"private data", Place.AFTER_IDAT)
        assert portable_metadata(to_planes(image)[3]) == {  # 72 dpi: Pillow's pHYs of 2835 per metre
            "icc_profile": ICC, "exif": b"Exif\x00\x00" + EXIF,
            "resolution": Resolution(METRE, Fraction(2835), Fraction(2835)).to_bytes()}
        again = write_png(from_planes(*to_planes(image)))
        assert_same(read_png(again), image)
        with Image.open(io.BytesIO(data)) as before, Image.open(io.BytesIO(again)) as after:
            assert before.info == after.info and before.mode == after.mode
            assert np.array_equal(np.asarray(before), np.asarray(after))


@pytest.mark.parametrize("shape", [(6, 9, 1), (6, 9, 2), (6, 9, 3), (6, 9, 4), (1, 1, 3)])
def test_sixteen_bit_files_of_libpng_read_exactly(shape):
    imagecodecs = pytest.importorskip("imagecodecs")
    samples = np.random.default_rng(shape[2]).integers(0, 2**16, shape).astype(np.uint16)
    image = read_png(imagecodecs.png_encode(samples))
    assert (image.colour_type, image.bit_depth) == ({1: GRAY, 2: GRAY_ALPHA, 3: RGB, 4: RGBA}[shape[2]], 16)
    assert np.array_equal(image.samples, samples)


# ------------------------------------------------------------------------------ planes and metadata


def test_palette_image_travels_as_its_index_plane_and_palette():
    image = suite_image(PALETTE, 2, (5, 11), True, seed=3)
    planes, mode, depth, metadata = to_planes(image)
    assert (mode, depth, planes.dtype) == ("L", 2, np.uint8) and np.array_equal(planes, image.samples)
    assert metadata["png:palette"] == image.palette and metadata["png:interlaced"] == b"\x01"
    assert set(metadata) == {"png:palette", "png:interlaced", "png:chunks"}
    assert_same(from_planes(planes.astype(np.int64), mode, depth, metadata), image)  # any integer planes


def test_plain_planes_make_a_plain_png_keeping_icc_profile_and_exif():
    planes = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    image = from_planes(planes, "RGB", 8, {"icc_profile": ICC, "exif": b"Exif\x00\x00" + EXIF, "other": b"x"})
    assert [c.type for c in image.chunks] == ["iCCP", "eXIf"] and image.palette is None
    with Image.open(io.BytesIO(write_png(image))) as im:
        assert im.info["icc_profile"] == ICC and im.info["exif"] == b"Exif\x00\x00" + EXIF
        assert np.array_equal(np.asarray(im), planes)
    assert from_planes(planes[..., :1], "L", 8, {}).chunks == []
    assert portable_metadata({"exif": b"x", "png:palette": b"abc"}) == {"exif": b"x"}


def test_damaged_icc_profile_is_not_dropped_silently():
    for data in (b"no separator", b"name\x00\x00not zlib"):
        metadata = to_planes(PngImage(np.zeros((1, 1, 1), np.uint8), GRAY, 8, chunks=[
            Chunk("iCCP", data, Place.BEFORE_IDAT)]))[3]
        with pytest.raises(ImageError, match="iCCP"):
            portable_metadata(metadata)


@pytest.mark.parametrize("planes, mode, depth, metadata, message", [
    (np.zeros((2, 2, 4), np.uint8), "CMYK", 8, {}, "mode 'CMYK'"),
    (np.zeros((2, 2, 1), np.uint16), "L", 12, {}, "bit depth 12"),
    (np.zeros((2, 2, 3), np.uint16), "RGB", 4, {}, "bit depth 4"),
    (np.full((2, 2, 1), 4, np.uint8), "L", 2, {}, "does not fit in 2 bits"),
    (np.zeros((2, 2, 2), np.uint8), "LA", 8, {"png:palette": b"abc"}, "PLTE in a gray image"),
    (np.zeros((2, 2, 1), np.uint8), "L", 8, {"png:palette": b"ab"}, "PLTE of 2 bytes"),
    (np.zeros((2, 2, 1), np.uint8), "L", 16, {"png:palette": b"abc"}, "colour type 3 at bit depth 16"),
    (np.zeros((2, 2, 3), np.uint8), "L", 8, {}, "(H, W, 1)"),
    (np.zeros((0, 2, 1), np.uint8), "L", 8, {}, "(H, W, 1)"),
    (np.zeros((2, 2, 1), np.float32), "L", 8, {}, "float32"),
    (np.zeros((2, 2, 1), np.uint8), "L", 8, {"png:interlaced": b"\x02"}, "png:interlaced"),
    (np.zeros((2, 2, 1), np.uint8), "L", 8, {"png:chunks": b"not zlib"}, "png:chunks is not a valid zlib"),
    (np.zeros((2, 2, 1), np.uint8), "L", 8, {"png:chunks": zlib.compress(b"\x00\x00\x00\x01ab")}, "truncated"),
    (np.zeros((2, 2, 1), np.uint8), "L", 8, {"png:chunks": zlib.compress(b"\x00\x00\x00\x00IDAT" * 2
                                                                            + b"\x00\x00\x00\x00PLTE")}, "PLTE"),
])
def test_planes_png_cannot_hold_are_refused(planes, mode, depth, metadata, message):
    with pytest.raises(ImageError, match=message.replace("(", r"\(").replace(")", r"\)")) as e:
        from_planes(planes, mode, depth, metadata)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("change, message", [
    (lambda im: dataclasses.replace(im, chunks=im.chunks[::-1]), "out of place"),
    (lambda im: dataclasses.replace(im, palette=None), "without PLTE"),
    (lambda im: dataclasses.replace(im, chunks=[Chunk("IHDR", b"", Place.AFTER_IDAT)]), "IHDR"),
    (lambda im: dataclasses.replace(im, chunks=[Chunk("tE1t", b"", Place.AFTER_IDAT)]), "four ASCII letters"),
    (lambda im: dataclasses.replace(im, chunks=[("tEXt", b"", Place.AFTER_IDAT)]), "Chunk tuples"),
    (lambda im: dataclasses.replace(im, chunks=[Chunk("acTL", bytes(8), Place.BEFORE_IDAT)]), "animated"),
    (lambda im: dataclasses.replace(im, samples=im.samples.astype(np.uint16)), "uint8"),
])
def test_images_no_file_could_hold_are_not_written(change, message):
    with pytest.raises(ImageError, match=message):
        write_png(change(suite_image(PALETTE, 8, (3, 4), False, seed=0)))
    no_palette = suite_image(GRAY, 8, (3, 4), False, seed=0, chunks=False)
    with pytest.raises(ImageError, match="out of place"):
        write_png(dataclasses.replace(no_palette, chunks=[Chunk("gAMA", bytes(4), Place.BEFORE_PLTE)]))


# ----------------------------------------------------------------------------- damaged and refused


SMALL = write_png(PngImage(np.array([[[1], [2], [0], [3], [1]]] * 3, np.uint8), PALETTE, 2, True, b"abcdefghijkl",
                           [Chunk("gAMA", bytes(4), Place.BEFORE_PLTE), Chunk("tEXt", b"a\x00b", Place.AFTER_IDAT)]))


def test_every_truncation_is_refused():
    read_png(SMALL)
    for n in range(len(SMALL)):
        with pytest.raises(ImageError):
            read_png(SMALL[:n])


def test_every_bit_flip_is_refused():
    data = bytearray(SMALL)
    for i in range(len(data) * 8):
        data[i // 8] ^= 1 << (i % 8)
        with pytest.raises(ImageError) as e:
            read_png(bytes(data))
        assert "\n" not in str(e.value)
        data[i // 8] ^= 1 << (i % 8)


def rows(height, width, filter_byte=0, value=7) -> bytes:
    return (bytes([filter_byte]) + bytes([value]) * width) * height


HEADER = gray_header(4, 3)
PLTE = (b"PLTE", b"\x00\x00\x00\xff\xff\xff")
IDAT = (b"IDAT", zlib.compress(rows(3, 4)))


DAMAGED = [
    (b"GIF89a" + bytes(20), "not a PNG file"),
    (SIGNATURE, "truncated"),
    (png_file(HEADER, IDAT)[:-1], "truncated"),
    (png_file(HEADER, IDAT) + b"\x00", "1 bytes after IEND"),
    (png_file(HEADER, IDAT)[:-4] + b"\x00\x00\x00\x00", "IEND chunk has a bad CRC"),
    (png_file(HEADER, IDAT)[:-12], "no IEND"),
    (png_file(HEADER, IDAT)[:-12] + chunk(b"IEND", b"x"), "IEND chunk is not empty"),
    (png_file(HEADER, IDAT).replace(b"IDAT", b"ID1T"), "invalid chunk type"),
    (png_file(HEADER)[:33] + b"\xff\xff\xff\xfftEXt" + bytes(8), "exceeds 2\\*\\*31 - 1"),
    (png_file(HEADER, IDAT, (b"IHDR", HEADER)), "IHDR chunk out of place"),
    (png_file(HEADER[:-1], IDAT), "IHDR of 12 bytes"),
    (png_file(gray_header(0, 3), IDAT), "IHDR size 0x3"),
    (png_file(gray_header(4, 3, depth=3), IDAT), "colour type 0 at bit depth 3"),
    (png_file(gray_header(4, 3, colour_type=1), IDAT), "colour type 1"),
    (png_file(gray_header(4, 3, depth=16, colour_type=PALETTE), PLTE, IDAT), "colour type 3 at bit depth 16"),
    (png_file(gray_header(4, 3, interlace=2), IDAT), "interlace 2"),
    (png_file(HEADER[:-3] + b"\x01\x00\x00", IDAT), "compression 1"),
    (png_file(gray_header(2**20, 2**20), IDAT), "more than flowzip reads"),
    (png_file(HEADER), "no IDAT"),
    (png_file(HEADER, IDAT, (b"tEXt", b"a\x00b"), IDAT), "not consecutive"),
    (png_file(gray_header(4, 3, colour_type=PALETTE), IDAT, PLTE), "PLTE chunk out of place"),
    (png_file(gray_header(4, 3, colour_type=PALETTE), PLTE, PLTE, IDAT), "PLTE chunk out of place"),
    (png_file(gray_header(4, 3, colour_type=PALETTE), IDAT), "palette image without PLTE"),
    (png_file(HEADER, PLTE, IDAT), "PLTE in a gray image"),
    (png_file(gray_header(4, 3, colour_type=PALETTE), (b"PLTE", bytes(4)), IDAT), "PLTE of 4 bytes"),
    (png_file(gray_header(4, 3, colour_type=PALETTE), (b"PLTE", bytes(771)), IDAT), "PLTE of 771 bytes"),
    (png_file(HEADER, (b"CLiP", b""), IDAT), "unknown critical chunk CLiP"),
    (png_file(HEADER, (b"acTL", bytes(8)), IDAT), "animated PNG: multi-frame images are not supported"),
    (png_file(HEADER, IDAT, (b"fdAT", bytes(8))), "animated PNG"),
    (png_file(HEADER, (b"IDAT", b"")), "truncated zlib stream"),
    (png_file(HEADER, (b"IDAT", b"junk")), "not a valid zlib stream"),
    (png_file(HEADER, (b"IDAT", zlib.compress(rows(3, 4))[:-3])), "truncated zlib stream"),
    (png_file(HEADER, (b"IDAT", zlib.compress(rows(3, 4)) + b"\x00")), "data after its zlib stream"),
    (png_file(HEADER, (b"IDAT", zlib.compress(rows(2, 4)))), "inflates to 10 bytes, IHDR declares 15"),
    (png_file(HEADER, (b"IDAT", zlib.compress(rows(3, 4) + b"\x00"))), "inflates to more than 15 bytes"),
    (png_file(gray_header(1, 1), (b"IDAT", zlib.compress(bytes(2**24)))), "inflates to more than 2 bytes"),
    (png_file(HEADER, (b"IDAT", zlib.compress(rows(1, 4) + rows(1, 4, 5) + rows(1, 4)))), "unknown filter type"),
    (png_file(gray_header(4, 3, interlace=1), (b"IDAT", zlib.compress(rows(3, 4)))), "IHDR declares"),
]


@pytest.mark.parametrize("data, message", DAMAGED, ids=[message for _, message in DAMAGED])
def test_damaged_files_are_refused_in_one_line(data, message):
    with pytest.raises(ImageError, match=message) as e:
        read_png(data)
    assert "\n" not in str(e.value)


def test_pillow_animated_png_is_refused():
    frames = [Image.new("RGB", (4, 3), colour) for colour in ("red", "blue")]
    buf = io.BytesIO()
    frames[0].save(buf, "PNG", save_all=True, append_images=frames[1:])
    with pytest.raises(ImageError, match="^animated PNG: multi-frame images are not supported$"):
        read_png(buf.getvalue())


def test_palette_indices_beyond_the_palette_and_malformed_ancillary_chunks_are_kept():
    data = png_file(gray_header(4, 3, colour_type=PALETTE), (b"tRNS", bytes(9)), PLTE, (b"gAMA", b""),
                    (b"IDAT", zlib.compress(rows(3, 4, value=200))))
    image = read_png(data)
    assert int(image.samples.max()) == 200 and image.palette == PLTE[1]
    assert image.chunks == [Chunk("tRNS", bytes(9), Place.BEFORE_PLTE), Chunk("gAMA", b"", Place.BEFORE_IDAT)]
    assert_same(read_png(write_png(image)), image)


# --------------------------------------------------------------------------------------- hypothesis


LOWER = "abcdefghijklmnopqrstuvwxyz"
CHUNK_TYPES = st.tuples(st.sampled_from(LOWER), st.text(LOWER + LOWER.upper(), min_size=3, max_size=3)).map(
    "".join).filter(lambda kind: kind not in ("acTL", "fcTL", "fdAT"))


@st.composite
def png_images(draw) -> PngImage:
    colour_type, depth = draw(st.sampled_from(CASES))
    height, width = draw(st.integers(1, 20)), draw(st.integers(1, 20))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    with_palette = colour_type == PALETTE or (colour_type in (RGB, RGBA) and draw(st.booleans()))
    entries = draw(st.integers(1, 256))
    palette = bytes(rng.integers(0, 256, 3 * entries, dtype=np.uint8)) if with_palette else None
    samples = random_samples(rng, colour_type, depth, height, width)
    places = [p for p in Place if p != Place.BEFORE_PLTE or with_palette]
    chunks = draw(st.lists(st.tuples(CHUNK_TYPES, st.binary(max_size=40), st.sampled_from(places)), max_size=6))
    chunks = sorted((Chunk(kind, data, place) for kind, data, place in chunks), key=lambda c: c.place)
    return PngImage(samples, colour_type, depth, draw(st.booleans()), palette, chunks)


@settings(max_examples=150, deadline=None)
@given(png_images(), st.integers(0, 9))
def test_any_image_round_trips(image, level):
    assert_same(read_png(write_png(image, level)), image)
    assert_same(from_planes(*to_planes(image)), image)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(range(len(SMALL))), st.binary(min_size=1, max_size=4))
def test_changed_chunk_data_with_right_crcs_reads_or_fails_cleanly(start, new):
    offsets = chunk_offsets(SMALL) + [len(SMALL)]
    data = bytearray(SMALL)
    data[start:start + len(new)] = new[:len(SMALL) - start]
    for pos, end in zip(offsets, offsets[1:]):  # put right every CRC whose chunk kept its length
        if len(data) >= end and struct.unpack(">I", data[pos:pos + 4])[0] == end - pos - 12:
            data[end - 4:end] = struct.pack(">I", zlib.crc32(bytes(data[pos + 4:end - 4])))
    try:
        image = read_png(bytes(data))
    except ImageError as e:
        assert "\n" not in str(e)
    else:
        assert_same(read_png(write_png(image)), image)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_after_the_signature_fail_cleanly(tail):
    with pytest.raises(ImageError):
        read_png(SIGNATURE + tail)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["L", "LA", "RGB", "RGBA", "P"]), st.sampled_from([1, 2, 4, 8, 16]),
       st.dictionaries(st.sampled_from(["png:palette", "png:interlaced", "png:chunks", "icc_profile", "exif"]),
                       st.binary(max_size=60)), st.booleans())
def test_damaged_metadata_restores_or_fails_cleanly(mode, depth, metadata, deflated):
    if deflated and "png:chunks" in metadata:
        metadata["png:chunks"] = zlib.compress(metadata["png:chunks"])
    planes = np.ones((3, 4, {"LA": 2, "RGB": 3, "RGBA": 4}.get(mode, 1)), np.uint8)
    try:
        image = from_planes(planes, mode, depth, metadata)
    except ImageError as e:
        assert "\n" not in str(e)
    else:
        assert_same(read_png(write_png(image)), image)


@pytest.mark.parametrize("level", [1, 6, 9])
def test_zlib_streams_in_segments_inflate_and_do_not_follow_the_threads(level, monkeypatch):
    monkeypatch.setattr(pngfile, "SEGMENT", 1000)
    rng = np.random.default_rng(level)
    for n in [0, 1, 999, 1000, 1001, 4321]:
        data = (np.cumsum(rng.integers(0, 3, n)) % 256).astype(np.uint8).tobytes()
        stream = pngfile.zlib_stream(data, level)
        assert stream == pngfile.zlib_stream(data, level, threads=3) and zlib.decompress(stream) == data
    picture = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    written = pngfile.write_png(pngfile.PngImage(picture, pngfile.RGB, 8), 6, threads=2)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(written))), picture)
