"""The classical coder's tile codec (``flowzip.classical.planes``): the smallest coding is kept."""

import numpy as np

from flowzip.classical import classical, deflate, planes


def dtype(bits):
    return np.uint8 if bits <= 8 else np.uint16


def noise(rng, shape, bits):
    return rng.integers(0, 1 << bits, shape).astype(dtype(bits))


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


def test_best_encoding_keeps_the_smallest():
    rng = np.random.default_rng(3)
    for x in (drawing(rng, (3, 40, 40), 8), text(rng, (1, 64, 64), 8), noise(rng, (1, 16, 16), 8)):
        method, data = planes.best_encoding(x, 8)
        sizes = [len(classical.encode_planes(x, 8)), len(deflate.encode_planes(x, 8))]
        assert len(data) == min(sizes) and method in (planes.CLASSICAL, planes.DEFLATE)
