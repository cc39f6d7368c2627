"""Files: writing outputs safely (through a temporary file and a rename, never over a file that
was not meant to be replaced), and reading the integer tables the package ships."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import FlowzipError


def read_tables(path: Path, what: str) -> dict[str, np.ndarray]:
    """The arrays of a shipped ``.npz`` of tables, as int64 (float64 where they are floats);
    ``what`` names them in the error."""
    try:
        with np.load(path) as data:
            return {k: data[k].astype(np.float64 if data[k].dtype.kind == "f" else np.int64) for k in data.files}
    except (OSError, ValueError) as e:
        raise FlowzipError(f"{what} ({path}) cannot be read: {e}; reinstall flowzip") from None


def atomic_write(path: str | os.PathLike, data: bytes, overwrite: bool = False) -> None:
    """Write through a temporary file in the same folder, then rename: an interrupted run leaves no
    partial file. Without ``overwrite`` an existing file is never replaced."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists (use -f to overwrite)")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FlowzipError(f"cannot write {path}: folder {folder} does not exist")
    tmp = folder / f".{path.name}.{os.getpid()}.tmp"
    try:
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise FlowzipError(f"cannot write {path}: {e.strerror or e}") from None
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # fails if the target appeared meanwhile: no silent overwrite
            except FileExistsError:
                raise FileExistsError(f"{path} already exists (use -f to overwrite)") from None
            except OSError:
                os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
