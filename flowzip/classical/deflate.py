"""The PNG-style candidate: per-row PNG filters and zlib (level 9), for the same (C, H, W) sample
arrays as the classical coder. It wins on text and patterns with long exact repeats.

Rows are laid out as PNG lays them out (``images.pngrows``): samples interleaved pixel by pixel;
1, 2 and 4-bit samples packed most significant first into bytes, other depths up to 8 in one byte
each and deeper ones in two bytes, big-endian. Each row is filtered with the PNG filter (None,
Sub, Up, Average, Paeth) of smallest sum of absolute signed bytes, the filter byte first, and the
whole is one zlib stream: the image data of a non-interlaced PNG of the same samples.
"""

from __future__ import annotations

import zlib

import numpy as np

from ..errors import FormatError
from .pngrows import filter_rows, from_rows, row_layout, to_rows, unfilter_rows

# Quick passes before the slow level 9 (levels 1 and 4 take a tenth to a half of its time on
# photos, a fortieth and a sixteenth on smooth ones), each with a margin: on the test corpus and
# Kodak, level 1 was at most 2.33 times level 9's size (a 16-bit ramp), level 4 at most 1.52 (a
# 4-bit gray). A quick stream more than its margin times a rival's size means level 9 would not
# beat the rival.
SCREENS = ((1, 2.5), (4, 1.6))


def encode_planes(x: np.ndarray, bits: int, rival: int | None = None) -> bytes | None:
    """PNG-filtered, zlib-compressed (C, H, W) samples of ``bits`` bits; None, without the slow
    level-9 pass, when a quick pass (``SCREENS``) says it would not be smaller than ``rival`` bytes."""
    channels, height, width = x.shape
    if not (1 <= channels <= 4 and height >= 1 and width >= 1 and 1 <= bits <= 16):
        raise ValueError(f"deflate coder: cannot code {channels}x{height}x{width} samples of {bits} bits")
    if int(x.min()) < 0 or int(x.max()) >> bits:
        raise ValueError(f"deflate coder: a sample does not fit in {bits} bits")
    _, bpp = row_layout(channels, width, bits)
    filtered = filter_rows(to_rows(x, bits), bpp).tobytes()
    for level, margin in SCREENS if rival is not None else ():
        if len(zlib.compress(filtered, level)) > margin * rival:
            return None
    return zlib.compress(filtered, 9)


def decode_planes(data: bytes, channels: int, height: int, width: int, bits: int) -> np.ndarray:
    """The samples of ``encode_planes``: uint8 up to 8 bits, else uint16."""
    if not (1 <= channels <= 4 and height >= 1 and width >= 1 and 1 <= bits <= 16):
        raise FormatError(f"corrupt deflate stream: {channels}x{height}x{width} samples of {bits} bits")
    row_bytes, bpp = row_layout(channels, width, bits)
    expected = height * (row_bytes + 1)
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(data, expected)
        if inflater.unconsumed_tail or not inflater.eof or inflater.unused_data:
            raise FormatError("corrupt deflate stream: it does not end where its rows do")
    except zlib.error as e:
        raise FormatError(f"corrupt deflate stream: {e}") from None
    if len(raw) != expected:
        raise FormatError("corrupt deflate stream: it holds fewer rows than the image has")
    filtered = np.frombuffer(raw, np.uint8).reshape(height, row_bytes + 1)
    rows = np.empty((height, row_bytes), np.uint8)
    if not unfilter_rows(filtered, bpp, rows):
        raise FormatError("corrupt deflate stream: unknown row filter")
    samples = from_rows(rows, channels, height, width, bits)
    if int(samples.max(initial=0)) >> bits:
        raise FormatError(f"corrupt deflate stream: a sample does not fit in {bits} bits")
    return samples
