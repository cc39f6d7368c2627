"""The one numba import. Every decorator compiles once and caches on disk, with no fastmath and
no parallel loops, so a function computes the same integers on every machine.

- ``jit``: ``numba.njit(cache=True, nogil=True)``.
- ``kernel``: the same without numba's reference counting (``_nrt=False``), for hot loops that
  allocate no arrays (callers pass every buffer in). With reference counting, each call of a small
  helper that takes arrays and branches or loops pays atomic count updates: once per coded bit,
  that made the classical coder 4-5 times slower.
- ``inline_kernel``: a ``kernel`` inlined into its callers (numba IR inlining), for the coding
  helpers called several times per sample (about 15 % faster than calls).

numba writes its cache next to the source file; when the package folder is read-only (a system
install), the cache goes to the user's cache folder instead (``$XDG_CACHE_HOME/flowzip/numba`` or
``~/.cache/flowzip/numba``) unless ``NUMBA_CACHE_DIR`` already says where.
"""

from __future__ import annotations

import os
from pathlib import Path


def _user_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "flowzip" / "numba"


if "NUMBA_CACHE_DIR" not in os.environ and not os.access(Path(__file__).resolve().parent, os.W_OK):
    os.environ["NUMBA_CACHE_DIR"] = str(_user_cache_dir())

import numba  # noqa: E402  (after NUMBA_CACHE_DIR is settled: numba reads it on import)

jit = numba.njit(cache=True, nogil=True)
kernel = numba.njit(cache=True, nogil=True, _nrt=False)
inline_kernel = numba.njit(cache=True, nogil=True, _nrt=False, inline="always")
