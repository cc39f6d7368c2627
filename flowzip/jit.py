"""flowzip's compiled kernels: every decorator below makes a ``Kernel``, compiled once and cached
on disk, with no fastmath and no parallel loops, so a function computes the same integers on every
machine.

- ``jit``: ``numba.njit(cache=True, nogil=True)``.
- ``kernel``: the same without numba's reference counting (``_nrt=False``), for hot loops that
  allocate no arrays (callers pass every buffer in). With reference counting, each call of a small
  helper that takes arrays and branches or loops pays atomic count updates: once per coded bit,
  that made the classical coder 4-5 times slower.
- ``inline_kernel``: a ``kernel`` inlined into its callers (numba IR inlining), for the coding
  helpers called several times per sample (about 15 % faster than calls).

A kernel called from Python runs its ahead-of-time build where ``aot`` has one (no numba in the
process: importing numba and loading its cached kernels cost about a second a process), else
numba's. numba is imported only when a kernel is first compiled or loaded from numba's cache;
kernels then call each other as numba dispatchers (``Kernel`` is typed as its dispatcher).

numba's cache of the compiled kernels is in the user's cache folder, one per flowzip version and
state of the kernels' sources (``cache_dir``: ``$XDG_CACHE_HOME/flowzip/numba/VERSION/SOURCES``,
``~/.cache/...`` by default; ``SOURCES`` is ``sources_digest``), never inside the package: a cache
written into an installed package is left behind by ``pip uninstall`` and then shadows the package
installed next (an editable one found ``flowzip`` to be an empty namespace). ``$NUMBA_CACHE_DIR``,
when set, is numba's and is used as it is. Each installed copy of flowzip has a folder of its own
in the cache (numba keys it by the source folder's path).
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
import tempfile
import threading
from pathlib import Path

from . import aot
from .version import __version__

PACKAGE = Path(__file__).resolve().parent
KERNEL_FOLDERS = ("entropy", "classical", "priors")  # the folders whose modules hold kernels
KERNEL_SOURCES = tuple(f"{folder}/*.py" for folder in KERNEL_FOLDERS) + ("exact.py", "jit.py", "aot.py", "aot_signatures.json")  # and what they inline or build them


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


@functools.cache
def aot_folder() -> Path:
    """Where ``aot`` builds its modules: beside numba's cache, by flowzip's version, the kernels'
    sources, the compilers (numba and llvmlite), the CPU (they are built for its instruction set;
    a home folder may be shared by machines) and numpy's version (they are built against its ABI)."""
    import numpy

    base = Path(_CACHE_DIR)
    if os.environ.get("NUMBA_CACHE_DIR"):  # numba's own folder, not keyed by our sources
        base = base / "flowzip" / __version__ / sources_digest()
    return base / f"aot-{_machine_digest()}-numpy{numpy.__version__}"


def _machine_digest() -> str:
    """A short hash of what a built module depends on besides the sources: the versions of numba
    and llvmlite (their ``_version.py``, read without importing them), and the CPU's model and
    instruction set (Linux: /proc/cpuinfo's first processor; elsewhere its architecture)."""
    import importlib.util
    import platform

    described = [platform.machine()]
    for package in ("numba", "llvmlite"):
        spec = importlib.util.find_spec(package)
        try:
            described.append(Path(spec.origin).with_name("_version.py").read_text())
        except (AttributeError, OSError, TypeError):
            described.append(f"{package}: unknown")
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.split(":")[0].strip() in ("model name", "flags", "Features", "CPU part"):
                    described.append(line)
                if line.strip() == "":
                    break  # the first processor's lines are enough
    except OSError:
        pass
    return hashlib.sha256("\n".join(described).encode()).hexdigest()[:8]


class Kernel:
    """A function compiled to machine code. Called from Python, it runs its ahead-of-time build
    (``aot.entry``) or, where there is none, numba's dispatcher, made on first use. To numba it is
    that dispatcher: typed as it (``_numba_type_``), inlined through ``targetoptions`` and
    ``py_func``; other attributes (``signatures``, ``inspect_types``, ...) are the dispatcher's.
    It pickles by name, as a module's function."""

    def __init__(self, function, options: dict):
        functools.update_wrapper(self, function)
        self.py_func = function
        self.targetoptions = options
        self._dispatcher = None
        self._run = self._first_call

    def __call__(self, *args, **kwargs):
        if kwargs:  # the built functions take arguments by position only
            return self.dispatcher(*args, **kwargs)
        return self._run(*args)

    def __repr__(self) -> str:
        return f"<kernel {self.py_func.__module__}.{self.py_func.__qualname__}>"

    def __reduce__(self):
        return self.py_func.__qualname__

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.dispatcher, name)

    @property
    def _numba_type_(self):
        return _numba().typeof(self.dispatcher)

    @property
    def dispatcher(self):
        """numba's dispatcher of the function (numba imported, the kernel compiled or loaded from
        numba's cache on its first call)."""
        if self._dispatcher is None:
            with _DISPATCHERS_MADE:
                if self._dispatcher is None:
                    self._dispatcher = _numba_dispatcher(self.py_func, self.targetoptions)
        return self._dispatcher

    def _first_call(self, *args):
        self._resolve()
        return self._run(*args)

    def _resolve(self) -> None:
        self._run = aot.entry(self, aot_folder()) or self.dispatcher

    def typed_once(self):
        """The kernel as a callable that checks its arguments' types on its first call only, then
        runs the compiled function they chose: for a loop that calls the kernel many times with
        arguments of the same types (a built function reads any array as the type it was built
        for, so only such a loop)."""
        chosen = None

        def call(*args):
            nonlocal chosen
            if chosen is None:
                if self._run == self._first_call:
                    self._resolve()
                choose = getattr(self._run, "choose", None)
                chosen = self._run if choose is None else choose(args)
            return chosen(*args)

        return call


_DISPATCHERS_MADE = threading.RLock()  # one thread at a time sets numba's cache folder


@functools.cache
def _numba():
    """numba, imported on first use."""
    import numba

    return numba


def _numba_dispatcher(function, options: dict):
    """``numba.njit(cache=True, **options)(function)`` with the cache in ``cache_dir``: numba chooses
    where a function's cache lives when it is decorated, from ``numba.config.CACHE_DIR``, which is
    set for that moment only (so that other users of numba in the process keep theirs)."""
    numba = _numba()
    before = numba.config.CACHE_DIR
    numba.config.CACHE_DIR = before or _CACHE_DIR
    try:
        return numba.njit(cache=True, **options)(function)
    finally:
        numba.config.CACHE_DIR = before


def _decorator(**options):
    return lambda function: Kernel(function, options)


jit = _decorator(nogil=True)
kernel = _decorator(nogil=True, _nrt=False)
inline_kernel = _decorator(nogil=True, _nrt=False, inline="always")


def cache_is_cold() -> bool:
    """Whether nothing of this copy of flowzip's kernels is compiled yet (its first run compiles
    them: one to three minutes for everything, a few seconds for the fewest): no module built
    ahead of time where they are in use, else nothing in numba's cache."""
    if aot.in_use(aot_folder()):
        return not aot.built_any(aot_folder())
    root = Path(os.environ.get("NUMBA_CACHE_DIR") or _CACHE_DIR)
    for folder in KERNEL_FOLDERS:
        source = str(PACKAGE / folder)  # numba names a source folder's cache FOLDER_SHA1(ITS PATH)
        if any((root / f"{folder}_{hashlib.sha1(source.encode()).hexdigest()}").glob("*.nbi")):
            return False
    return True
