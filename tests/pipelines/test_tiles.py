"""Tiles (``flowzip.pipelines.tiles``): they cover an image once, padding repeats edges."""

import numpy as np

from flowzip.pipelines.tiles import pad_to_multiple, tile_boxes


def test_tiles_cover_the_image_once():
    for h, w, t in [(1, 1, 16), (300, 200, 256), (513, 40, 256), (32, 32, 16)]:
        seen = np.zeros((h, w), int)
        for y0, y1, x0, x1 in tile_boxes(h, w, t):
            seen[y0:y1, x0:x1] += 1
            assert 0 < y1 - y0 <= t and 0 < x1 - x0 <= t
        assert (seen == 1).all()


def test_padding_repeats_edges():
    block = np.arange(6, dtype=np.uint8).reshape(1, 2, 3)
    padded = pad_to_multiple(block, 4)
    assert padded.shape == (1, 4, 4)
    np.testing.assert_array_equal(padded[0, :2, :3], block[0])
    assert (padded[0, 3] == padded[0, 1]).all() and (padded[0, :, 3] == padded[0, :, 2]).all()
