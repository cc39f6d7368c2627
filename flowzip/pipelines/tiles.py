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


def tiles_of(planes: list[tuple[np.ndarray, list[int]]], tile: int, multiple: int) -> np.ndarray:
    """The tiles of some pictures' planes (``(pixels (H, W, C), planes)`` each), cut and padded as a
    stacked file cuts them: those of the most common shape, stacked (N, C, h, w)."""
    tiles: dict[tuple, list[np.ndarray]] = {}
    for pixels, chosen in planes:
        chw = np.ascontiguousarray(pixels[..., chosen].transpose(2, 0, 1))
        for y0, y1, x0, x1 in tile_boxes(*chw.shape[1:], tile):
            block = pad_to_multiple(chw[:, y0:y1, x0:x1], multiple)
            tiles.setdefault(block.shape, []).append(block)
    return np.stack(max(tiles.values(), key=len))


def boxes_of(header, entry) -> list[tuple[int, int, int, int]]:
    """The tiles of one image of a file (``fileformat.container.Header``)."""
    return tile_boxes(entry.height, entry.width, header.tile_of(entry))


def blank(entry) -> np.ndarray:
    """An array for an image of a file: uint8 up to 8 bits per sample, uint16 above."""
    return np.zeros((entry.height, entry.width, entry.channels), np.uint8 if entry.bit_depth <= 8 else np.uint16)
