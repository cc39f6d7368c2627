"""Best of the classical candidates for a (C, H, W) block of samples: a constant (one value per
channel), the classical context-modelling coder, or PNG-style deflate. ``best_encoding`` codes
the block each way that applies and keeps the smallest; ``decode_method`` undoes any of them.

Method ids are part of the bitstream: never renumber them.
"""

from __future__ import annotations

import numpy as np

from ..errors import FormatError
from . import classical, deflate

CONSTANT, CLASSICAL, DEFLATE = 1, 2, 3
METHOD_NAMES = {CONSTANT: "constant", CLASSICAL: "classical", DEFLATE: "deflate"}


def _sample_bytes(bits: int) -> int:
    return 1 if bits <= 8 else 2


def _check_byte(values: bytes) -> int:
    """Makes a block's bytes sum to 255 modulo 256, so that any one flipped bit shows."""
    return (255 - sum(values)) & 0xFF


def encode_constant(x: np.ndarray, bits: int) -> bytes | None:
    """Each channel's one value (big-endian, 1 or 2 bytes) and a check byte, or None if a channel
    varies."""
    flat = x.reshape(x.shape[0], -1)
    if (flat != flat[:, :1]).any():
        return None
    values = flat[:, 0].astype(">u2" if bits > 8 else np.uint8).tobytes()
    return values + bytes([_check_byte(values)])


def decode_constant(data: bytes, channels: int, height: int, width: int, bits: int) -> np.ndarray:
    if not (1 <= channels <= 4 and height >= 1 and width >= 1 and 1 <= bits <= 16):
        raise FormatError(f"corrupt constant block: {channels}x{height}x{width} samples of {bits} bits")
    size = _sample_bytes(bits)
    if len(data) != channels * size + 1 or _check_byte(data[:-1]) != data[-1]:
        raise FormatError("corrupt constant block: wrong length or check byte")
    values = np.frombuffer(data[:-1], ">u2" if size == 2 else np.uint8).astype(np.uint16 if size == 2 else np.uint8)
    if int(values.max()) >> bits:
        raise FormatError(f"corrupt constant block: a value does not fit in {bits} bits")
    return np.ascontiguousarray(np.broadcast_to(values[:, None, None], (channels, height, width)))


def best_encoding(x: np.ndarray, bits: int, known: bytes | None = None) -> tuple[int, bytes]:
    """(method, bytes) of the smallest coding of ``x`` (C, H, W) of ``bits``-bit samples; on a tie
    the earlier of constant, deflate, classical (the faster to decode). ``known``: the samples as
    a non-interlaced PNG's image data (its IDAT stream), a deflate coding of them already at hand
    (another PNG encoder's, often smaller than zlib's level 9): kept where it is the smallest."""
    constant = encode_constant(x, bits)
    if constant is not None:
        return CONSTANT, constant
    coded = classical.encode_planes(x, bits)
    deflated = deflate.encode_planes(x, bits, rival=len(coded))
    candidates = ([] if deflated is None else [(DEFLATE, deflated)]) + [(CLASSICAL, coded)]
    best = min(candidates, key=lambda c: len(c[1]))
    if known is not None and len(known) < len(best[1]) and _decodes_to(known, x, bits):
        return DEFLATE, bytes(known)
    return best


def _decodes_to(data: bytes, x: np.ndarray, bits: int) -> bool:
    """Whether deflate's decoder gives exactly ``x`` back from ``data``."""
    try:
        return np.array_equal(deflate.decode_planes(data, *x.shape, bits), x)
    except FormatError:
        return False


def decode_method(method: int, data: bytes, channels: int, height: int, width: int, bits: int) -> np.ndarray:
    """The (C, H, W) samples ``method`` coded into ``data``: uint8 up to 8 bits, else uint16."""
    decoders = {CONSTANT: decode_constant, CLASSICAL: classical.decode_planes, DEFLATE: deflate.decode_planes}
    if method not in decoders:
        raise FormatError(f"unknown block coding method {method}")
    return decoders[method](data, channels, height, width, bits)


class PlanesCodec:
    """The classical coders as a codec of the stacked pipelines: each tile goes onto the ANS stack
    as the bytes of its best encoding (8 raw bits each) under its method and byte count. Nothing to
    pad (``multiple`` 1), no model, no bits-back: it only pushes."""

    bits_back = False
    multiple = 1

    def __init__(self, loaded=None, device: str = "cpu"):
        del loaded, device  # no model, no device: plain integer code

    def push(self, coder, tiles: np.ndarray, estimate: bool = False, bits: int = 8, known=None) -> float | None:
        """Push a (B, C, H, W) batch of ``bits``-bit samples; its size in bits when asked (exact).
        ``known``: per tile, PNG image data of its samples (``best_encoding``)."""
        total = 0
        for i in range(len(tiles) - 1, -1, -1):  # the last tile first: ``pop`` returns them in order
            method, data = best_encoding(np.ascontiguousarray(tiles[i]), bits, known[i] if known else None)
            push_block(coder, method, data)
            total += 8 * len(data) + BLOCK_HEAD_BITS
        return float(total) if estimate else None

    def pop(self, coder, batch: int, channels: int, height: int, width: int, bits: int = 8) -> np.ndarray:
        out = np.empty((batch, channels, height, width), np.uint8 if bits <= 8 else np.uint16)
        limit = 4 * channels * height * width * _sample_bytes(bits) + 4096  # no coding is that much larger
        for i in range(batch):
            method, data = pop_block(coder, limit)
            out[i] = decode_method(method, data, channels, height, width, bits)
        return out


_HEAD_SIZES = np.array([2**16, 2**16, 4])
BLOCK_HEAD_BITS = 34  # a block's byte count (32 bits) and method (one of 4: 2 bits) on the stack


def push_block(coder, method: int, data: bytes) -> None:
    """Push a block of bytes onto an ANS stack (8 raw bits each), then its size and method."""
    coder.push_uniform(np.frombuffer(data, np.uint8).astype(np.int64), np.full(len(data), 256))
    coder.push_uniform(np.array([len(data) >> 16, len(data) & 0xFFFF, method]), _HEAD_SIZES)


def pop_block(coder, limit: int) -> tuple[int, bytes]:
    """(method, bytes) of the block ``push_block`` pushed; FormatError past ``limit`` bytes."""
    high, low, method = coder.pop_uniform(_HEAD_SIZES)
    size = int(high) << 16 | int(low)
    if size > limit:
        raise FormatError("corrupt file: a coded tile is too long")
    return int(method), coder.pop_uniform(np.full(size, 256)).astype(np.uint8).tobytes()
