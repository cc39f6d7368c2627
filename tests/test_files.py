"""Writing outputs (``flowzip.files``): atomically, never over a file without leave."""

import os

import pytest

from flowzip.errors import FlowzipError
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
