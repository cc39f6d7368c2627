"""Writing output files safely: through a temporary file and a rename, never over a file that was
not meant to be replaced."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import FlowzipError


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
