"""Squeezing: each 2x2 block of a (B, C, H, W) array becomes four channels, as the float models
squeeze (``models.layers``), for numpy arrays of the exact twins."""

from __future__ import annotations

import numpy as np


def squeeze(x: np.ndarray) -> np.ndarray:
    """(B, C, H, W) -> (B, 4C, H/2, W/2): each 2x2 block becomes four channels (as models.layers)."""
    b, c, h, w = x.shape
    return x.reshape(b, c, h // 2, 2, w // 2, 2).transpose(0, 1, 3, 5, 2, 4).reshape(b, 4 * c, h // 2, w // 2)


def unsqueeze(x: np.ndarray) -> np.ndarray:
    b, c, h, w = x.shape
    return x.reshape(b, c // 4, 2, 2, h, w).transpose(0, 1, 4, 2, 5, 3).reshape(b, c // 4, 2 * h, 2 * w)
