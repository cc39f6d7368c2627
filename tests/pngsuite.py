"""PngSuite-style images (every colour type, bit depth, interlacing, transparency and ancillary
chunk), for the tests of ``images.pngfile`` and of the classical coder on them."""

from __future__ import annotations

import struct
import zlib

import numpy as np

from flowzip.images.pngfile import CHANNELS, DEPTHS, GRAY, GRAY_ALPHA, PALETTE, RGB, RGBA, Chunk, PngImage, Place


CASES = [(colour_type, depth) for colour_type, depths in DEPTHS.items() for depth in depths]
SIZES = [(1, 1), (1, 9), (7, 1), (5, 11), (9, 17), (16, 8)]  # odd sizes, widths not multiples of 8
ICC = b"\x00\x00\x02\x0cfake profile " * 20
EXIF = b"MM\x00\x2a\x00\x00\x00\x08\x00\x00"


def ids(case):
    return f"type{case[0]}-{case[1]}bit"


def random_samples(rng, colour_type, depth, height, width, entries=256):
    top = min(2**depth, entries) if colour_type == PALETTE else 2**depth
    samples = rng.integers(0, top, (height, width, CHANNELS[colour_type]))
    return samples.astype(np.uint8 if depth <= 8 else np.uint16)


def ancillary_chunks(rng, colour_type, depth, entries, palette: bool):
    """A chunk of each kind PNG has (and two unknown ones), valid for the image, in its place."""
    head = Place.BEFORE_PLTE if palette else Place.BEFORE_IDAT
    level = (1 << depth) - 1
    key = {GRAY: struct.pack(">H", rng.integers(0, level + 1)),
           RGB: struct.pack(">HHH", *rng.integers(0, level + 1, 3)),
           PALETTE: bytes(rng.integers(0, 256, rng.integers(1, entries + 1), dtype=np.uint8))}
    background = {GRAY: key[GRAY], GRAY_ALPHA: key[GRAY], RGB: key[RGB], RGBA: key[RGB], PALETTE: b"\x00"}
    sbit = bytes([min(depth, 8)] * (3 if colour_type == PALETTE else CHANNELS[colour_type]))
    chunks = [Chunk("gAMA", struct.pack(">I", 45455), head),
              Chunk("cHRM", struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000), head),
              Chunk("sRGB", b"\x00", head) if rng.integers(2) else
              Chunk("iCCP", b"ICC Profile\x00\x00" + zlib.compress(ICC), head),
              Chunk("sBIT", sbit, head),
              Chunk("vpAg", bytes(9), head),  # unknown ancillary chunk before PLTE
              Chunk("eXIf", EXIF, head)]
    chunks += [Chunk(kind, data, Place.BEFORE_IDAT) for kind, data in
               [("tRNS", key.get(colour_type)), ("bKGD", background[colour_type]),
                ("pHYs", struct.pack(">IIB", 2835, 2835, 1))] if data is not None]
    chunks += [Chunk("tEXt", b"Title\x00flowzip test", Place.AFTER_IDAT),
               Chunk("zTXt", b"Comment\x00\x00" + zlib.compress(b"compressed text " * 8), Place.AFTER_IDAT),
               Chunk("iTXt", b"Author\x00\x00\x00de\x00Autor\x00Gr\xc3\xbc\xc3\x9fe", Place.AFTER_IDAT),
               Chunk("tIME", struct.pack(">HBBBBB", 2024, 2, 29, 23, 59, 60), Place.AFTER_IDAT),
               Chunk("prVt", bytes(rng.integers(0, 256, 17, dtype=np.uint8)), Place.AFTER_IDAT)]
    return chunks


def suite_image(colour_type, depth, size, interlaced, seed, chunks=True) -> PngImage:
    """A PngSuite-style image: random samples, a palette for palette images (and a suggested one
    in some RGB images), and every kind of ancillary chunk."""
    rng = np.random.default_rng(seed)
    entries = int(rng.integers(1, 2**depth + 1)) if colour_type == PALETTE else int(rng.integers(1, 257))
    palette = bytes(rng.integers(0, 256, 3 * entries, dtype=np.uint8))
    if colour_type not in (PALETTE, RGB, RGBA) or (colour_type != PALETTE and rng.integers(3)):
        palette = None
    samples = random_samples(rng, colour_type, depth, *size, entries)
    kept = ancillary_chunks(rng, colour_type, depth, entries, palette is not None) if chunks else []
    return PngImage(samples, colour_type, depth, interlaced, palette, kept)
