import os

import numpy as np
import pytest

from flowzip.errors import FlowzipError
from flowzip.pipelines.tiles import pad_to_multiple, tile_boxes
from flowzip.files import atomic_write


def test_interrupted_write_leaves_nothing(tmp_path, monkeypatch):
    target = tmp_path / "out.fz"

    def interrupt(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, b"x" * 1000)
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_never_overwrites_without_permission(tmp_path):
    target = tmp_path / "out.fz"
    target.write_bytes(b"old")
    with pytest.raises(FileExistsError):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    atomic_write(target, b"new", overwrite=True)
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.fz"]


def test_unwritable_places(tmp_path):
    with pytest.raises(FlowzipError, match="does not exist"):
        atomic_write(tmp_path / "missing" / "x.fz", b"data")
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(FlowzipError, match="cannot write"):
            atomic_write(locked / "x.fz", b"data")


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
