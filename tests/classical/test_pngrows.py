"""PNG's rows (``flowzip.classical.pngrows``): the filter kernel is the integer reference."""

import numpy as np
import pytest

from flowzip.classical import pngrows


def _filter_rows_reference(rows: np.ndarray, bpp: int) -> np.ndarray:
    """PNG's filters in whole-array integer numpy: every filter of every row, the first of least
    sum of absolute signed bytes kept."""
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
    candidates = (np.stack([cur, cur - left, cur - up, cur - ((left + up) >> 1), cur - paeth]) & 0xFF).astype(np.uint8)
    best = np.abs(candidates.view(np.int8).astype(np.int32)).sum(axis=2).argmin(axis=0)
    return np.concatenate([best[:, None].astype(np.uint8), candidates[best, np.arange(len(rows))]], axis=1)


@pytest.mark.parametrize("bpp", [1, 2, 3, 4, 6, 8])
def test_the_row_filter_kernel_matches_the_integer_reference(bpp):
    rng = np.random.default_rng(bpp)
    for h, w in [(1, 1), (1, 7), (5, 1), (17, 23), (40, 9)]:
        for rows in [rng.integers(0, 256, (h, w * bpp), dtype=np.uint8),
                     (np.cumsum(rng.integers(0, 3, (h, w * bpp)), axis=1) % 256).astype(np.uint8),
                     np.full((h, w * bpp), 200, np.uint8)]:
            np.testing.assert_array_equal(pngrows.filter_rows(rows, bpp), _filter_rows_reference(rows, bpp))
