"""Cutting images into tiles and padding tiles to a model's size multiple."""

from __future__ import annotations

import numpy as np


def tile_boxes(height: int, width: int, tile: int) -> list[tuple[int, int, int, int]]:
    """(y0, y1, x0, x1) of each tile, row-major."""
    return [(y, min(y + tile, height), x, min(x + tile, width))
            for y in range(0, height, tile) for x in range(0, width, tile)]


def padded_size(n: int, multiple: int) -> int:
    """n rounded up to a multiple of ``multiple``."""
    return -(-n // multiple) * multiple


def pad_to_multiple(block: np.ndarray, multiple: int) -> np.ndarray:
    """Pad a (C, h, w) block on the bottom and right by repeating edge pixels."""
    _, h, w = block.shape
    ph, pw = padded_size(h, multiple) - h, padded_size(w, multiple) - w
    if ph or pw:
        block = np.pad(block, ((0, 0), (0, ph), (0, pw)), mode="edge")
    return block
