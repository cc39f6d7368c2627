"""Write ``flowzip/aot_signatures.json``, the table of kernels built ahead of time (``flowzip.aot``):
every kernel that flowzip's own Python code calls while the test suite runs (in this process: calls
made only in worker processes are not seen), with the types of the arguments of those calls. Run it after changing a kernel's arguments (a built kernel called with
other types is bypassed for numba's: ``tests/test_aot.py`` checks the default paths).

    python scripts/tables/aot_signatures.py [pytest arguments; default: the whole suite]
"""

from __future__ import annotations

import json
import os
import sys
from collections import defaultdict

os.environ["FLOWZIP_AOT"] = "0"  # numba's dispatchers only: they record what they compiled

import pytest  # noqa: E402

from flowzip import aot, jit  # noqa: E402

CALLS: dict[jit.Kernel, set] = defaultdict(set)  # kernel -> the argument types of flowzip's calls


def _recording_first_call(kernel, *args):
    """Instead of ``Kernel._first_call``: numba's dispatcher, each call's argument types noted
    where the caller is flowzip's code (not a test's)."""
    import numba

    dispatcher = kernel.dispatcher

    def run(*args):
        caller = sys._getframe(1)
        while caller.f_globals.get("__name__") in ("flowzip.jit", __name__):
            caller = caller.f_back
        if caller.f_globals.get("__name__", "").startswith("flowzip."):
            CALLS[kernel].add(tuple(numba.typeof(a) for a in args))
        return dispatcher(*args)

    kernel._run = run
    return run(*args)


def spell(t) -> str:
    """numba's type ``t`` as a string ``pycc`` parses (numba's types by name)."""
    from numba.core import types

    if isinstance(t, types.Array):
        return f"Array({spell(t.dtype)}, {t.ndim}, '{t.layout}'{'' if t.mutable else ', readonly=True'})"
    if isinstance(t, types.UniTuple):
        return f"UniTuple({spell(t.dtype)}, {t.count})"
    if isinstance(t, types.BaseTuple):
        return f"Tuple(({''.join(spell(e) + ', ' for e in t.types)}))"
    if isinstance(t, types.Boolean):
        return "boolean"
    if isinstance(t, types.NoneType):
        return "none"
    if isinstance(t, (types.Integer, types.Float)):
        return str(t)
    raise TypeError(f"no spelling for numba type {t}")


def check(t) -> list:
    """How ``aot`` checks an argument of numba's type ``t`` at run time."""
    from numba.core import types

    if isinstance(t, types.Array) and t.layout in ("C", "A"):
        return ["array", str(t.dtype), t.ndim, t.layout, t.mutable]
    if isinstance(t, types.UniTuple) and t.dtype == types.int64:
        return ["tuple", t.count]
    if isinstance(t, types.Boolean):
        return ["bool"]
    if t in (types.int64, types.float64):
        return [str(t)]
    raise TypeError(f"no run-time check for numba type {t}")


def main() -> int:
    jit.Kernel._first_call = lambda kernel, *args: _recording_first_call(kernel, *args)
    code = pytest.main(sys.argv[1:] or ["-q", "-p", "no:cacheprovider"])
    if code != 0:
        print("the tests failed: the table is written from what ran", file=sys.stderr)
    entries = {}
    for kernel in sorted(CALLS, key=repr):
        f = kernel.py_func
        signatures = []
        # contiguous arrays' signatures first: a call takes the first that fits, 'A' fits all
        for args in sorted(CALLS[kernel], key=lambda a: (sum(getattr(t, "layout", "") == "A" for t in a), str(a))):
            returns = kernel.dispatcher.overloads[args].signature.return_type
            signatures.append({"signature": f"{spell(returns)}({', '.join(map(spell, args))})",
                               "check": [check(a) for a in args]})
        entries[f"{f.__module__}:{f.__name__}"] = signatures
    aot.TABLE.write_text(json.dumps(entries, indent=1) + "\n")
    print(f"{aot.TABLE}: {len(entries)} kernels, {sum(map(len, entries.values()))} signatures")
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
