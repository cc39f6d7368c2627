"""The PNG-style candidate: per-row PNG filters and zlib (level 9), for the same (C, H, W) sample
arrays as the classical coder. It wins on text and patterns with long exact repeats.

Rows are laid out as PNG lays them out: samples interleaved pixel by pixel; 1, 2 and 4-bit samples
packed most significant first into bytes (a row ends on a byte boundary), other depths up to 8 in
one byte each and deeper ones in two bytes, big-endian. Each row is filtered with the PNG filter
(None, Sub, Up, Average, Paeth) of smallest sum of absolute signed bytes, the filter byte first,
and the whole is one zlib stream.
"""

from __future__ import annotations

import zlib

import numpy as np

from ..errors import FormatError
from .jit import jit

NONE, SUB, UP, AVERAGE, PAETH = range(5)
PACKED_DEPTHS = (1, 2, 4)


def _row_layout(channels: int, width: int, bits: int) -> tuple[int, int]:
    """(bytes per row, bytes per pixel for the filters)."""
    if bits in PACKED_DEPTHS:
        return -(-channels * width * bits // 8), 1
    size = 1 if bits <= 8 else 2
    return channels * width * size, channels * size


def _to_rows(x: np.ndarray, bits: int) -> np.ndarray:
    """(H, row bytes) uint8 rows of ``x`` (C, H, W)."""
    channels, height, width = x.shape
    samples = np.ascontiguousarray(x.transpose(1, 2, 0)).reshape(height, channels * width)
    if bits in PACKED_DEPTHS:
        per_byte = 8 // bits
        row_bytes, _ = _row_layout(channels, width, bits)
        padded = np.zeros((height, row_bytes * per_byte), np.uint8)
        padded[:, :samples.shape[1]] = samples
        groups = padded.reshape(height, row_bytes, per_byte).astype(np.uint16)
        shifts = np.arange(per_byte - 1, -1, -1, dtype=np.uint16) * bits
        return (groups << shifts).sum(axis=2).astype(np.uint8)
    if bits <= 8:
        return samples.astype(np.uint8)
    return samples.astype(">u2").view(np.uint8).reshape(height, -1)


def _from_rows(rows: np.ndarray, channels: int, height: int, width: int, bits: int) -> np.ndarray:
    if bits in PACKED_DEPTHS:
        per_byte = 8 // bits
        shifts = np.arange(per_byte - 1, -1, -1, dtype=np.uint8) * bits
        samples = ((rows[:, :, None] >> shifts) & ((1 << bits) - 1)).reshape(height, -1)[:, :channels * width]
    elif bits <= 8:
        samples = rows
    else:
        samples = rows.copy().view(">u2").astype(np.uint16)
    if int(samples.max(initial=0)) >> bits:
        raise FormatError(f"corrupt deflate stream: a sample does not fit in {bits} bits")
    out = samples.reshape(height, width, channels).transpose(2, 0, 1)
    return np.ascontiguousarray(out, dtype=np.uint8 if bits <= 8 else np.uint16)


def _filter_rows(rows: np.ndarray, bpp: int) -> np.ndarray:
    """(H, 1 + row bytes): each row's best filter byte and filtered bytes."""
    cur = rows.astype(np.int16)
    up = np.zeros_like(cur)
    up[1:] = cur[:-1]
    left = np.zeros_like(cur)
    left[:, bpp:] = cur[:, :-bpp]
    upleft = np.zeros_like(cur)
    upleft[:, bpp:] = up[:, :-bpp]
    p = left + up - upleft
    pa, pb, pc = np.abs(p - left), np.abs(p - up), np.abs(p - upleft)
    paeth = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, upleft))
    candidates = np.stack([cur, cur - left, cur - up, cur - ((left + up) >> 1), cur - paeth])
    candidates = (candidates & 0xFF).astype(np.uint8)
    cost = np.abs(candidates.view(np.int8).astype(np.int32)).sum(axis=2)
    best = cost.argmin(axis=0)
    out = np.empty((rows.shape[0], rows.shape[1] + 1), np.uint8)
    out[:, 0] = best
    out[:, 1:] = candidates[best, np.arange(rows.shape[0])]
    return out


@jit
def _unfilter_rows(filtered, bpp, rows):
    """Undo the filters of ``filtered`` (H, 1 + row bytes) into ``rows``; False on a bad filter."""
    height, length = rows.shape
    for y in range(height):
        kind = filtered[y, 0]
        if kind > PAETH:
            return False
        for i in range(length):
            a = np.int64(rows[y, i - bpp]) if i >= bpp else np.int64(0)
            b = np.int64(rows[y - 1, i]) if y > 0 else np.int64(0)
            c = np.int64(rows[y - 1, i - bpp]) if (y > 0 and i >= bpp) else np.int64(0)
            if kind == SUB:
                pred = a
            elif kind == UP:
                pred = b
            elif kind == AVERAGE:
                pred = (a + b) >> 1
            elif kind == PAETH:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if (pa <= pb and pa <= pc) else (b if pb <= pc else c)
            else:
                pred = 0
            rows[y, i] = (filtered[y, i + 1] + pred) & 0xFF
    return True


def encode_planes(x: np.ndarray, bits: int) -> bytes:
    """PNG-filtered, zlib-compressed (C, H, W) samples of ``bits`` bits."""
    channels, height, width = x.shape
    if not (1 <= channels <= 4 and height >= 1 and width >= 1 and 1 <= bits <= 16):
        raise ValueError(f"deflate coder: cannot code {channels}x{height}x{width} samples of {bits} bits")
    if int(x.min()) < 0 or int(x.max()) >> bits:
        raise ValueError(f"deflate coder: a sample does not fit in {bits} bits")
    _, bpp = _row_layout(channels, width, bits)
    return zlib.compress(_filter_rows(_to_rows(x, bits), bpp).tobytes(), 9)


def decode_planes(data: bytes, channels: int, height: int, width: int, bits: int) -> np.ndarray:
    """The samples of ``encode_planes``: uint8 up to 8 bits, else uint16."""
    if not (1 <= channels <= 4 and height >= 1 and width >= 1 and 1 <= bits <= 16):
        raise FormatError(f"corrupt deflate stream: {channels}x{height}x{width} samples of {bits} bits")
    row_bytes, bpp = _row_layout(channels, width, bits)
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
    if not _unfilter_rows(filtered, bpp, rows):
        raise FormatError("corrupt deflate stream: unknown row filter")
    return _from_rows(rows, channels, height, width, bits)
