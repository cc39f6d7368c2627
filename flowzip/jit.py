"""The one numba import. Every decorator compiles once and caches on disk, with no fastmath and
no parallel loops, so a function computes the same integers on every machine.

- ``jit``: ``numba.njit(cache=True, nogil=True)``.
- ``kernel``: the same without numba's reference counting (``_nrt=False``), for hot loops that
  allocate no arrays (callers pass every buffer in). With reference counting, each call of a small
  helper that takes arrays and branches or loops pays atomic count updates: once per coded bit,
  that made the classical coder 4-5 times slower.
- ``inline_kernel``: a ``kernel`` inlined into its callers (numba IR inlining), for the coding
  helpers called several times per sample (about 15 % faster than calls).

The compiled kernels are cached in the user's cache folder, one per flowzip version and state of
the kernels' sources (``cache_dir``: ``$XDG_CACHE_HOME/flowzip/numba/VERSION/SOURCES``,
``~/.cache/...`` by default; ``SOURCES`` is ``sources_digest``), never inside the package: a cache
written into an installed package is left behind by ``pip uninstall`` and then shadows the package
installed next (an editable one found ``flowzip`` to be an empty namespace). ``$NUMBA_CACHE_DIR``,
when set, is numba's and is used as it is. Each installed copy of flowzip has a folder of its own
in the cache (numba keys it by the source folder's path).
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

import numba

from .version import __version__

PACKAGE = Path(__file__).resolve().parent
KERNEL_FOLDERS = ("entropy", "classical", "priors")  # the folders whose modules hold kernels
KERNEL_SOURCES = tuple(f"{folder}/*.py" for folder in KERNEL_FOLDERS) + ("exact.py",)  # and what they inline


def sources_digest() -> str:
    """A short hash of the sources kernels are compiled from. numba keys a kernel's cache on its
    own file only: a kernel that inlines another module's code would keep stale machine code where
    only that module changed (a checkout being edited, an editable install updated), so each state
    of the sources has a cache folder of its own."""
    digest = hashlib.sha256()
    for path in sorted(p for pattern in KERNEL_SOURCES for p in PACKAGE.glob(pattern)):
        digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _user_cache_root() -> Path:
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
        return True
    except OSError:
        return False


def cache_dir() -> Path:
    """Where numba keeps flowzip's compiled kernels: ``$NUMBA_CACHE_DIR`` when set, else the user's
    cache folder (``flowzip/numba/VERSION/SOURCES`` in it), else the same below the temporary
    folder."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"])
    folder = _user_cache_root() / "flowzip" / "numba" / __version__ / sources_digest()
    if _writable(folder):
        return folder
    user = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"flowzip-{user}" / "numba" / __version__ / sources_digest()


_CACHE_DIR = str(cache_dir())


def _njit(**options):
    """``numba.njit(cache=True, **options)`` with the cache in ``cache_dir``: numba chooses where a
    function's cache lives when it is decorated, from ``numba.config.CACHE_DIR``, which is set for
    that moment only (so that other users of numba in the process keep theirs)."""

    def decorate(function):
        before = numba.config.CACHE_DIR
        numba.config.CACHE_DIR = before or _CACHE_DIR
        try:
            return numba.njit(cache=True, **options)(function)
        finally:
            numba.config.CACHE_DIR = before

    return decorate


jit = _njit(nogil=True)
kernel = _njit(nogil=True, _nrt=False)
inline_kernel = _njit(nogil=True, _nrt=False, inline="always")


def cache_is_cold() -> bool:
    """Whether this copy of flowzip has no compiled kernels cached yet (its first run compiles
    them: one to three minutes for everything, a few seconds for the fewest)."""
    try:
        from numba.core.caching import _CacheLocator  # numba's own naming of a source folder's cache
    except ImportError:
        return False
    root = Path(numba.config.CACHE_DIR or _CACHE_DIR)
    for folder in KERNEL_FOLDERS:
        cached = root / _CacheLocator.get_suitable_cache_subpath(str(PACKAGE / folder / "x.py"))
        if cached.is_dir() and any(cached.glob("*.nbi")):
            return False
    return True
