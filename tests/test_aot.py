"""Kernels built ahead of time (``flowzip.aot``): the same files as numba's kernels both ways, no
numba in a process that only runs them, arguments of another type sent to numba, a build that
fails leaving numba's kernels to run, and a cold build end to end (of a test kernel)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from flowzip import aot, jit
from flowzip.priors import network

CODE = r"""
import sys, numpy as np, flowzip
from flowzip import aot
rng = np.random.default_rng(7)
yy, xx = np.mgrid[0:70, 0:90]
photo = np.stack([(xx * 2 + yy) % 256, (xx + yy * 3) % 256, (xx * yy) % 256], -1).astype(np.uint8)
photo = np.clip(photo.astype(int) + rng.integers(-6, 7, photo.shape), 0, 255).astype(np.uint8)
pictures = [photo, photo, photo, photo[:30, :30], photo[:40, :40]]
files = [flowzip.compress(photo, effort=e) for e in (1, 4, 5)] + [flowzip.compress(photo[:30, :30], effort=5)]
files.append(flowzip.compress(photo[:40, :40], model="idf-rgb-v2"))
for f in sys.argv[2:]:
    files.append(open(f, "rb").read())
for data, picture in zip(files, pictures + pictures):
    assert np.array_equal(flowzip.decompress(data), picture)
open(sys.argv[1], "wb").write(b"".join(len(f).to_bytes(4, "big") + f for f in files))
print("numba" in sys.modules, "torch" in sys.modules, sorted(aot.FALLBACKS))
"""


def _run(tmp_path, out: str, built: bool, *decode: str) -> list[str]:
    env = dict(os.environ, FLOWZIP_AOT="1" if built else "0", OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, "-c", CODE, str(tmp_path / out), *decode], env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.split(maxsplit=2)


def _files(path) -> list[bytes]:
    data, files = path.read_bytes(), []
    while data:
        n = int.from_bytes(data[:4], "big")
        files.append(data[4:4 + n])
        data = data[4 + n:]
    return files


@pytest.mark.slow
def test_built_kernels_code_the_same_files_as_numbas_and_decode_them(tmp_path):
    numba_run = _run(tmp_path, "numba.bin", False)
    _run(tmp_path, "built.bin", True)  # (builds the groups on a cold cache)
    assert numba_run[0] == "True"
    assert _files(tmp_path / "numba.bin") == _files(tmp_path / "built.bin")
    # each decodes the other's files (the decoding itself asserted in the child)
    names = []
    for i, data in enumerate(_files(tmp_path / "numba.bin")):
        names.append(str(tmp_path / f"{i}.fz"))
        Path(names[-1]).write_bytes(data)
    built_run = _run(tmp_path, "again.bin", True, *names)
    _run(tmp_path, "again2.bin", False, *names)
    _skip_where_not_built()
    assert built_run[2].strip() == "[]"  # every call ran a built kernel
    assert built_run[0] == "False"  # and numba was never imported


def _skip_where_not_built():
    for group in ("classical", "priors", "rans"):
        if aot.load(group, jit.aot_folder()) is None:
            failed = aot.module_path(group, jit.aot_folder()).with_suffix(".failed")
            pytest.skip(f"the {group} kernels cannot be built here: "
                        f"{failed.read_text().strip() if failed.exists() else 'turned off'}")


def test_the_table_names_kernels_with_their_checks():
    assert aot.table(), "flowzip/aot_signatures.json is empty: run scripts/tables/aot_signatures.py"
    for name, signatures in aot.table().items():
        module, function = name.split(":")
        kernel = getattr(importlib.import_module(module), function)
        assert isinstance(kernel, jit.Kernel), name
        assert aot.group_of(name) in ("classical", "priors", "rans")
        for signature in signatures:
            assert signature["signature"].endswith(")") and "(" in signature["signature"]
            for check in signature["check"]:
                assert check[0] in ("array", "tuple", "int64", "float64", "bool"), (name, check)


def test_arguments_of_another_type_run_numbas_kernel():
    z = (np.arange(24, dtype=np.float64).reshape(4, 6) * 100)[:, ::2]  # not contiguous
    expected = np.clip(np.floor((z + 1.0) * 0.25), 0.0, 50.0)
    aot.FALLBACKS.discard("flowzip.priors.network:requantize")
    network.requantize(z, np.ones(3), np.full(3, 0.25), 0.0, 50.0)
    assert np.array_equal(z, expected)
    if aot.enabled() and aot.load("priors", jit.aot_folder()) is not None:
        assert "flowzip.priors.network:requantize" in aot.FALLBACKS
        fresh = np.arange(12, dtype=np.float64).reshape(4, 3) * 100
        aot.FALLBACKS.discard("flowzip.priors.network:requantize")
        network.requantize(fresh, np.ones(3), np.full(3, 0.25), 0.0, 50.0)
        assert "flowzip.priors.network:requantize" not in aot.FALLBACKS


def test_the_argument_checks_take_only_what_the_built_function_reads():
    c = aot._checker([["array", "int32", 2, "C", True], ["int64"], ["float64"], ["bool"], ["tuple", 3]])
    good = np.zeros((2, 3), np.int32)
    ok = (good, 1, 1.0, True, (1, 2, 3))
    assert c(ok) and c((good, np.int64(1), np.float64(1.0), np.bool_(False), (1, 2, np.int64(3))))
    readonly = good.copy()
    readonly.flags.writeable = False
    for bad in (good.astype(np.int64), good.astype(">i4"), good[None], np.zeros((2, 6), np.int32)[:, ::2],
                readonly, np.asfortranarray(np.zeros((3, 2), np.int32))):
        assert not c((bad,) + ok[1:])
    for i, bad in ((1, True), (1, np.int32(1)), (1, 1.0), (2, 1), (2, np.float32(1)), (3, 1), (4, (1, 2)),
                   (4, (1, 2, 3.0)), (4, [1, 2, 3])):
        assert not c(ok[:i] + (bad,) + ok[i + 1:]), (i, bad)
    assert not c(ok[:4]) and not c(ok + (1,))
    any_layout = aot._checker([["array", "uint8", 1, "A", False]])
    view = np.arange(10, dtype=np.uint8)[::3]
    view.flags.writeable = False
    assert any_layout((view,)) and any_layout((np.zeros(4, np.uint8),))
    assert not aot._checker([["array", "uint8", 1, "F", True]])((np.zeros(4, np.uint8),))


def test_a_kernel_is_numbas_dispatcher_to_numba_and_pickles_by_name():
    import pickle

    import numba

    @numba.njit
    def calls_it(z):
        network.requantize(z, np.ones(2), np.ones(2), 0.0, 9.0)
        return z

    assert calls_it(np.full((1, 2), 20.0)).tolist() == [[9.0, 9.0]]  # typed as its dispatcher
    assert pickle.loads(pickle.dumps(network.requantize)) is network.requantize
    assert network.requantize.signatures is not None  # the dispatcher's attributes


@jit.kernel
def _triple(a, out):
    for i in range(a.shape[0]):
        out[i] = a[i] * 3


@jit.kernel
def _spin(n):
    total = 0
    for i in range(n):
        total = (total * 31 + i) % 1000003
    return total


def _one_kernel_table(monkeypatch, tmp_path):
    monkeypatch.setattr(aot, "table", lambda: {
        f"{__name__}:_triple": [
            {"signature": "none(Array(int64, 1, 'C'), Array(int64, 1, 'C'))",
             "check": [["array", "int64", 1, "C", True], ["array", "int64", 1, "C", True]]}],
        f"{__name__}:_spin": [{"signature": "int64(int64)", "check": [["int64"]]}]})
    monkeypatch.setattr(jit, "aot_folder", lambda: tmp_path)
    monkeypatch.setattr(aot, "_LOADED", {})
    for name in ("_triple", "_spin"):  # fresh kernels: not yet bound to numba's or a built module
        kernel = getattr(sys.modules[__name__], name)
        monkeypatch.setattr(sys.modules[__name__], name, jit.Kernel(kernel.py_func, kernel.targetoptions))
    return sys.modules[__name__]._triple


@pytest.mark.slow
def test_a_cold_build_compiles_the_group_and_its_module_runs(monkeypatch, tmp_path):
    kernel = _one_kernel_table(monkeypatch, tmp_path)
    said = []
    monkeypatch.setattr(aot, "announce", said.append)
    assert jit.cache_is_cold()  # the CLI's first run says so up front
    out = np.zeros(3, np.int64)
    kernel(np.array([1, 2, 3]), out)
    assert list(out) == [3, 6, 9] and said == ["classical"] and not jit.cache_is_cold()
    assert aot.module_path("classical", tmp_path).exists() and aot.in_use(tmp_path)
    module = aot.load("classical", tmp_path)
    getattr(module, aot.export_name(f"{__name__}:_triple", 0))(np.array([5, 6]), out[:2])  # the built function itself
    assert list(out) == [15, 18, 9]
    # a built kernel lets go of the GIL as numba's do: Python runs beside it
    import threading

    spin, started, counted = sys.modules[__name__]._spin, threading.Event(), []
    spin(10)
    worker = threading.Thread(target=lambda: (started.set(), spin(100_000_000)))
    worker.start()
    started.wait()
    count = 0
    while worker.is_alive():
        count += 1
    worker.join()
    assert count > 100_000, count  # (holding the GIL, at most one switch interval: about 10,000)


def test_a_group_that_cannot_be_built_runs_numbas_kernels_and_says_why(monkeypatch, tmp_path):
    kernel = _one_kernel_table(monkeypatch, tmp_path)

    def no_compiler(group, path):
        raise OSError("no C compiler")

    monkeypatch.setattr(aot, "_compile", no_compiler)
    out = np.zeros(2, np.int64)
    kernel(np.array([4, 5]), out)
    assert list(out) == [12, 15]
    assert "no C compiler" in aot.module_path("classical", tmp_path).with_suffix(".failed").read_text()
    assert aot.load("classical", tmp_path) is None  # settled: not tried again
    assert not aot.in_use(tmp_path)  # so numba's cache decides whether the CLI says it compiles


def test_turned_off_by_the_environment(monkeypatch):
    monkeypatch.setenv("FLOWZIP_AOT", "0")
    assert aot.entry(network.requantize, jit.aot_folder()) is None and not aot.in_use(jit.aot_folder())


def test_the_table_is_json_the_package_ships():
    """An installed (not editable) copy has the table too, else it would build nothing."""
    import tomllib

    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert aot.TABLE.name in pyproject["tool"]["setuptools"]["package-data"]["flowzip"]
    assert json.loads(aot.TABLE.read_text()) == aot.table()
