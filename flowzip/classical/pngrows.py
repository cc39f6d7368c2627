"""PNG's rows (numba kernels for the filters): samples laid out as PNG lays them out and filtered
as PNG filters them, the classical coder's deflate candidate (``deflate``); PNG files are read and
written on them too (``images.pngfile``).

A row holds the samples interleaved pixel by pixel; 1, 2 and 4-bit samples packed most significant
first into bytes (a row ends on a byte boundary), other depths up to 8 in one byte each and deeper
ones in two bytes, big-endian. Each row is filtered with the PNG filter (None, Sub, Up, Average,
Paeth) of smallest sum of absolute signed bytes, the filter byte first.
"""

from __future__ import annotations

import numpy as np

from ..jit import kernel

NONE, SUB, UP, AVERAGE, PAETH = range(5)
PACKED_DEPTHS = (1, 2, 4)


def row_layout(channels: int, width: int, bits: int) -> tuple[int, int]:
    """(bytes per row, bytes per pixel for the filters)."""
    if bits in PACKED_DEPTHS:
        return -(-channels * width * bits // 8), 1
    size = 1 if bits <= 8 else 2
    return channels * width * size, channels * size


def to_rows(x: np.ndarray, bits: int) -> np.ndarray:
    """(H, row bytes) uint8 rows of ``x`` (C, H, W)."""
    channels, height, width = x.shape
    samples = np.ascontiguousarray(x.transpose(1, 2, 0)).reshape(height, channels * width)
    if bits in PACKED_DEPTHS:
        per_byte = 8 // bits
        row_bytes, _ = row_layout(channels, width, bits)
        padded = np.zeros((height, row_bytes * per_byte), np.uint8)
        padded[:, :samples.shape[1]] = samples
        groups = padded.reshape(height, row_bytes, per_byte).astype(np.uint16)
        shifts = np.arange(per_byte - 1, -1, -1, dtype=np.uint16) * bits
        return (groups << shifts).sum(axis=2).astype(np.uint8)
    if bits <= 8:
        return samples.astype(np.uint8)
    return samples.astype(">u2").view(np.uint8).reshape(height, -1)


def from_rows(rows: np.ndarray, channels: int, height: int, width: int, bits: int) -> np.ndarray:
    if bits in PACKED_DEPTHS:
        per_byte = 8 // bits
        shifts = np.arange(per_byte - 1, -1, -1, dtype=np.uint8) * bits
        samples = ((rows[:, :, None] >> shifts) & ((1 << bits) - 1)).reshape(height, -1)[:, :channels * width]
    elif bits <= 8:
        samples = rows
    else:
        samples = rows.copy().view(">u2").astype(np.uint16)
    out = samples.reshape(height, width, channels).transpose(2, 0, 1)
    return np.ascontiguousarray(out, dtype=np.uint8 if bits <= 8 else np.uint16)


def filter_rows(rows: np.ndarray, bpp: int) -> np.ndarray:
    """(H, 1 + row bytes): each row's best filter byte and filtered bytes (the first of the
    filters of smallest cost on a tie)."""
    out = np.empty((rows.shape[0], rows.shape[1] + 1), np.uint8)
    _filter_kernel(np.ascontiguousarray(rows), bpp, out)
    return out


@kernel
def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if (pa <= pb and pa <= pc) else (b if pb <= pc else c)


@kernel
def _cost(v):
    """|v| of the byte ``v`` (0-255) read as signed."""
    return v if v < 128 else 256 - v


@kernel
def _filter_kernel(rows, bpp, out):
    """Per row the cost (sum of absolute signed bytes) of each filter, then the cheapest's bytes."""
    height, length = rows.shape
    for y in range(height):
        c0 = c1 = c2 = c3 = c4 = np.int64(0)
        for i in range(length):
            x = np.int64(rows[y, i])
            a = np.int64(rows[y, i - bpp]) if i >= bpp else np.int64(0)
            b = np.int64(rows[y - 1, i]) if y > 0 else np.int64(0)
            c = np.int64(rows[y - 1, i - bpp]) if (y > 0 and i >= bpp) else np.int64(0)
            c0 += _cost(x)
            c1 += _cost((x - a) & 0xFF)
            c2 += _cost((x - b) & 0xFF)
            c3 += _cost((x - ((a + b) >> 1)) & 0xFF)
            c4 += _cost((x - _paeth(a, b, c)) & 0xFF)
        best, least = NONE, c0  # the first filter of least cost
        if c1 < least:
            best, least = SUB, c1
        if c2 < least:
            best, least = UP, c2
        if c3 < least:
            best, least = AVERAGE, c3
        if c4 < least:
            best, least = PAETH, c4
        out[y, 0] = best
        for i in range(length):
            x = np.int64(rows[y, i])
            a = np.int64(rows[y, i - bpp]) if i >= bpp else np.int64(0)
            b = np.int64(rows[y - 1, i]) if y > 0 else np.int64(0)
            c = np.int64(rows[y - 1, i - bpp]) if (y > 0 and i >= bpp) else np.int64(0)
            pred = 0 if best == NONE else a if best == SUB else b if best == UP else (
                (a + b) >> 1 if best == AVERAGE else _paeth(a, b, c))
            out[y, i + 1] = (x - pred) & 0xFF


@kernel
def unfilter_rows(filtered, bpp, rows):
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
