"""Synthetic images the tests code: sample arrays of any depth for the classical coder, smooth
pictures, small archives' pictures, and a chunk damaged on purpose."""

from __future__ import annotations

import zlib

import numpy as np

from flowzip.fileformat import container
from flowzip.images.image import Picture



def dtype(bits):
    return np.uint8 if bits <= 8 else np.uint16


def noise(rng, shape, bits):
    return rng.integers(0, 1 << bits, shape).astype(dtype(bits))


def gradient(shape, bits):
    c, h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    ramps = [(xx * (c_ + 1) + yy * (c - c_)) / max(1, (h + w) * (c + 1)) for c_ in range(c)]
    return np.round(np.stack(ramps) * ((1 << bits) - 1)).astype(dtype(bits))


def drawing(rng, shape, bits):
    """Anti-aliased discs and bars in a few colours over a flat background."""
    c, h, w = shape
    top = (1 << bits) - 1
    img = np.full(shape, top // 3, np.float64)
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    for _ in range(4):
        colour = rng.integers(0, top + 1, c)[:, None, None]
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0.5, max(h, w) / 2 + 1)
        cover = np.clip(r - np.hypot(yy - cy, xx - cx) + 0.5, 0, 1)
        img = img * (1 - cover) + colour * cover
    img[:, h // 3: h // 3 + max(1, h // 10)] = top
    return np.round(img).astype(dtype(bits))


def text(rng, shape, bits):
    """Rows of repeated glyph-like blocks on a white page (exact repeats, two values)."""
    c, h, w = shape
    glyphs = rng.integers(0, 2, (6, 7, 5)).astype(bool)
    page = np.ones((h, w), bool)
    for y in range(1, h - 7, 10):
        for x in range(1, w - 5, 6):
            page[y:y + 7, x:x + 5] &= ~glyphs[(x // 6 + y) % 6]
    return np.repeat(page[None] * ((1 << bits) - 1), c, axis=0).astype(dtype(bits))


def extremes(rng, shape, bits):
    return (rng.integers(0, 2, shape) * ((1 << bits) - 1)).astype(dtype(bits))


def smooth(rng, h, w, c=3):
    """A smooth colour ramp with a little noise, (h, w, c) uint8."""
    base = rng.integers(60, 200, (1, 1, c))
    ramp = np.add.outer(np.arange(h), np.arange(w))[..., None] // 3
    return np.clip(base + ramp + rng.integers(-3, 4, (h, w, c)), 0, 255).astype(np.uint8)


def small_pictures(n=12, seed=0):
    """``n`` small named pictures of a few sizes, as an archive holds them."""
    rng = np.random.default_rng(seed)
    return [(f"set/{i:02d}.png", Picture(smooth(rng, 12 + i % 5, 16), "RGB")) for i in range(n)]


def damage_chunk(data: bytes, chunk: int, crc_again: bool = False) -> bytes:
    """Flip a byte inside one chunk's payload (the header stays valid; ``crc_again``: the chunk's
    CRC written again to match, so that only decoding can see the damage)."""
    header, start = container.parse(data)
    at = start + sum(c.length for c in header.chunks[:chunk]) + 2
    damaged = data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]
    if not crc_again:
        return damaged
    header.chunks[chunk].crc = zlib.crc32(container.chunk_payloads(header, damaged[start:])[chunk])
    return container.pack(header, damaged[start:])
