"""Kernels built ahead of time: the kernels Python calls, compiled by numba's ``pycc`` into one
extension module per group, so that a process that only runs them never imports numba (importing
it and loading its cached kernels cost about a second a process, more than a classical decode).

- The table (``aot_signatures.json``, written by ``scripts/tables/aot_signatures.py`` from the
  test suite): each kernel called from Python, with each argument signature it was called with.
- ``entry(kernel)``: the kernel's built functions behind a check of the arguments' types (the
  built functions would read any array as the declared type); arguments of another type, a
  kernel not in the table, or a group that cannot be built run numba's dispatcher instead,
  compiled from the same function (the same integers). A loop that calls a kernel many times
  with arguments of the same types checks them once (``jit.Kernel.typed_once``).
- A group is built on its first use, once per state of the kernels' sources and machine (in the
  folder ``jit.aot_folder`` gives; one to two minutes), as numba compiles its own kernels: for
  this CPU's instruction set, letting go of the GIL. Where it cannot be built (no C compiler, no
  ``pycc``), the reason is kept beside it (``.failed``: delete it to try again) and numba's
  kernels run. ``FLOWZIP_AOT=0`` turns the built modules off.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import json
import os
import sys
import sysconfig
import tempfile
import warnings
from pathlib import Path

import numpy as np

TABLE = Path(__file__).resolve().parent / "aot_signatures.json"
FALLBACKS: set[str] = set()  # "module:function" of the calls in this process that ran numba's dispatcher
announce = None  # called with a group's name before it is compiled (the CLI says so on stderr)


def group_of(name: str) -> str:
    """The group (extension module) of a kernel ``module:function``: priors, rans or classical."""
    module = name.split(":")[0]
    if module.startswith("flowzip.priors."):
        return "priors"
    return "rans" if module == "flowzip.entropy.rans" else "classical"


def export_name(name: str, index: int) -> str:
    return name.replace("flowzip.", "").replace(".", "_").replace(":", "__") + f"__{index}"


@functools.cache
def table() -> dict[str, list[dict]]:
    """``module:function`` -> its signatures: ``{"signature": numba's spelling, "check": per
    argument [kind, ...]}``."""
    try:
        return json.loads(TABLE.read_text())
    except (OSError, ValueError):
        return {}


def groups() -> set[str]:
    return {group_of(name) for name in table()}


def enabled() -> bool:
    return os.environ.get("FLOWZIP_AOT", "1") != "0"


def module_path(group: str, folder: Path) -> Path:
    return folder / f"flowzip_aot_{group}{sysconfig.get_config_var('EXT_SUFFIX') or '.so'}"


def in_use(folder: Path) -> bool:
    """Whether built kernels run here: turned on, and no group in ``folder`` failed to build."""
    return enabled() and not any(module_path(g, folder).with_suffix(".failed").exists() for g in groups())


def built_any(folder: Path) -> bool:
    return any(module_path(g, folder).exists() for g in groups())


def entry(kernel, folder: Path) -> object | None:
    """The built functions (in ``folder``) of a kernel called from Python, as one callable that
    checks its arguments; None where there are none (numba's dispatcher runs)."""
    name = f"{kernel.py_func.__module__}:{kernel.py_func.__name__}"
    signatures = table().get(name)
    if not enabled() or not signatures:
        return None
    try:
        module = load(group_of(name), folder)
        if module is None:
            return None
        built = [(getattr(module, export_name(name, i)), _checker(s["check"])) for i, s in enumerate(signatures)]
    except Exception:  # noqa: BLE001 - a module built from another table, a damaged one: numba's kernels run
        return None

    def choose(args):
        for function, matches in built:
            if matches(args):
                return function
        FALLBACKS.add(name)
        return kernel.dispatcher

    def run(*args):
        return choose(args)(*args)

    run.choose = choose  # the function that arguments of these types run (``jit.Kernel.typed_once``)
    return run


# the Python and numpy scalars numba types as int64, float64 or boolean (others would compile
# another specialization, e.g. int32 arithmetic that wraps at 2**31)
_SCALARS = {
    "int64": lambda v: type(v) is int or type(v) is np.int64,
    "float64": lambda v: type(v) is float or type(v) is np.float64,
    "bool": lambda v: type(v) is bool or type(v) is np.bool_,
}


def _argument_check(spec: list):
    """A predicate for one argument: ``["array", dtype, ndim, layout, writable]``, ``["tuple", n]``
    (of int64) or a scalar ``[int64 | float64 | bool]``."""
    kind = spec[0]
    if kind == "array":
        dtype, ndim, layout, writable = np.dtype(spec[1]), spec[2], spec[3], spec[4]
        if layout not in ("C", "A"):  # (the table has no other: the script that writes it refuses them)
            return lambda a: False
        contiguous = layout == "C"

        def check(a) -> bool:
            if not (isinstance(a, np.ndarray) and a.ndim == ndim and (a.dtype is dtype or a.dtype == dtype)):
                return False
            flags = a.flags
            return flags.aligned and (flags.c_contiguous or not contiguous) and (flags.writeable or not writable)

        return check
    if kind == "tuple":
        count = spec[1]
        return lambda t: type(t) is tuple and len(t) == count and all(map(_SCALARS["int64"], t))
    return _SCALARS[kind]


def _checker(specs: list):
    checks = tuple(_argument_check(spec) for spec in specs)
    count = len(checks)

    def matches(args) -> bool:
        if len(args) != count:
            return False
        for check, argument in zip(checks, args):
            if not check(argument):
                return False
        return True

    return matches


_LOADED: dict[Path, object] = {}


def load(group: str, folder: Path):
    """The group's extension module, built first if it is not yet; None where it cannot be."""
    path = module_path(group, folder)
    if path not in _LOADED:
        _LOADED[path] = _import(group, path) or _build(group, path)
    return _LOADED[path]


def _import(group: str, path: Path):
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location(f"flowzip_aot_{group}", path)
    try:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except (ImportError, OSError):  # damaged, or built for another machine
        return None
    return module


def _build(group: str, path: Path):
    """Compile the group with ``pycc`` into ``path`` (one process at a time: a lock file), or note
    why it cannot be (``.failed`` beside it: delete it to try again); the module, or None."""
    failed = path.with_suffix(".failed")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(path.with_suffix(".lock")):
            if failed.exists():
                return None
            if not path.exists():
                if announce is not None:
                    announce(group)
                try:
                    _compile(group, path)
                except MemoryError:  # may pass: not noted
                    return None
                except Exception as error:  # no compiler, no pycc, a kernel pycc cannot build
                    failed.write_text(f"{type(error).__name__}: {error}\n")
                    return None
    except OSError:  # an unwritable cache folder: numba's kernels run, and it is tried again next time
        return None
    return _import(group, path)


def _compile(group: str, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pycc's pending deprecation
        from numba.pycc import CC
    with tempfile.TemporaryDirectory(dir=path.parent) as work:
        cc = CC(f"flowzip_aot_{group}")
        cc.output_dir = work
        cc.verbose = False
        cc.target_cpu = "host"  # as numba's own kernels (``jit.aot_folder`` is keyed by the CPU)
        kernels = []
        for name, signatures in table().items():
            if group_of(name) != group:
                continue
            module, function = name.split(":")
            kernel = getattr(importlib.import_module(module), function)
            kernel.dispatcher  # (numba imported)
            kernels.append(kernel)
            for i, signature in enumerate(signatures):
                cc.export(export_name(name, i), signature["signature"])(kernel.py_func)
        # numba's reference counting only where a kernel needs it: inlined helpers would pay it
        # in every loop (``jit.kernel``)
        cc.use_nrt = any(k.targetoptions.get("_nrt", True) for k in kernels)
        with _pycc_as_numba(release_gil=all(k.targetoptions.get("nogil") for k in kernels)), _stdout_to_stderr():
            cc.compile()
        built = next(Path(work).glob(f"flowzip_aot_{group}*"))
        os.replace(built, path)


@contextlib.contextmanager
def _pycc_as_numba(release_gil: bool):
    """``pycc`` compiling as numba's own kernels are: for this CPU's actual instruction set (it
    would take the set its model name implies, which a virtual machine may not offer), and
    letting go of the GIL while a kernel runs (``nogil``; it would hold it)."""
    from numba.core import codegen
    from numba.pycc import compiler

    features, flags = codegen.AOTCPUCodegen._customize_tm_features, compiler.Flags

    class Flags(flags):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.release_gil = release_gil

    codegen.AOTCPUCodegen._customize_tm_features = lambda self: self._get_host_cpu_features()
    compiler.Flags = Flags
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pycc's pending deprecation
            yield
    finally:
        codegen.AOTCPUCodegen._customize_tm_features, compiler.Flags = features, flags


@contextlib.contextmanager
def _stdout_to_stderr():
    """The C compiler's and linker's words on stderr, not in the output of ``decompress -o -``."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


class _locked:
    """An exclusive lock on a file while building (POSIX ``flock``; elsewhere none: two builds
    at once each write the same module)."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        self.handle = open(self.path, "a")
        if sys.platform != "win32":
            import fcntl

            fcntl.flock(self.handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        self.handle.close()
