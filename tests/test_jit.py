"""numba's cache of flowzip's kernels lives in the user's cache folder, one per flowzip version,
never inside the package (rough edge 1: a cache written into an installed package outlived its
uninstall and shadowed the editable install next to it); the first run says that it compiles
(rough edge 7)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import flowzip
from flowzip import jit

PACKAGE = Path(flowzip.__file__).resolve().parent
COMPILE = ("import numpy as np; from flowzip import jit; cold = jit.cache_is_cold(); "
           "from flowzip.classical import pngrows; pngrows.filter_rows(np.zeros((2, 3), np.uint8), 1); "
           "print(jit.cache_dir(), cold, jit.cache_is_cold())")


def _env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env["FLOWZIP_AOT"] = "0"  # numba's kernels (the built ones: tests/test_aot.py)
    return env


def _cached_in_package() -> set[Path]:
    return {p for p in PACKAGE.rglob("*") if p.suffix in (".nbi", ".nbc")}


@pytest.mark.slow
def test_kernels_cache_in_the_user_folder_by_version_never_in_the_package(tmp_path):
    before = _cached_in_package()
    out = subprocess.run([sys.executable, "-c", COMPILE], env=_env(tmp_path), capture_output=True, text=True,
                         check=True).stdout.split()
    folder = tmp_path / "cache" / "flowzip" / "numba" / flowzip.__version__ / jit.sources_digest()
    assert out == [str(folder), "True", "False"]  # cold before the first compile, warm after it
    assert list(folder.rglob("*.nbi")) and list(folder.rglob("*.nbc"))
    assert _cached_in_package() == before  # nothing written inside the package


def test_the_cache_folder_changes_with_any_kernel_source(tmp_path, monkeypatch):
    """numba keys a kernel's cache on its own file; a change to a module it inlines (here the
    mixer, inlined by the guided coder) must not leave stale kernels: the folder changes."""
    for pattern in jit.KERNEL_SOURCES:
        for path in jit.PACKAGE.glob(pattern):
            copy = tmp_path / path.relative_to(jit.PACKAGE)
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(path.read_bytes())
    monkeypatch.setattr(jit, "PACKAGE", tmp_path)
    before = jit.sources_digest()
    assert before == jit.sources_digest() and len(before) == 16
    (tmp_path / "cli").mkdir()
    (tmp_path / "cli" / "main.py").write_text("# not a kernel\n")
    assert jit.sources_digest() == before
    with (tmp_path / "entropy" / "mixing.py").open("a") as f:
        f.write("# changed\n")
    assert jit.sources_digest() != before


def test_numba_cache_dir_is_respected(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    assert jit.cache_dir() == tmp_path / "mine"


@pytest.mark.slow
def test_the_first_run_says_it_compiles(tmp_path):
    """On a cold cache, compress says on stderr that the kernels compile; once they are cached,
    nothing is said. (A flat image at effort 1: the classical coder's constant, the fewest kernels
    to compile.)"""
    from PIL import Image

    image = tmp_path / "a.png"
    Image.new("RGB", (70, 70), (10, 20, 30)).save(image)
    command = [sys.executable, "-m", "flowzip.cli", "compress", "-1", str(image), "-f", "--no-png"]
    first = subprocess.run(command, env=_env(tmp_path), capture_output=True, text=True)
    second = subprocess.run(command, env=_env(tmp_path), capture_output=True, text=True)
    assert first.returncode == second.returncode == 0, first.stderr
    assert "compiling its kernels" in first.stderr and "first run only" in first.stderr
    assert "compiling" not in second.stderr


def test_quiet_says_nothing_of_compiling(monkeypatch, capsys):
    from flowzip import aot
    from flowzip.cli import common

    monkeypatch.setattr(jit, "cache_is_cold", lambda: True)
    monkeypatch.setattr(aot, "announce", None)
    common.announce_compiling(quiet=True)
    assert capsys.readouterr().err == "" and aot.announce is None
    common.announce_compiling(quiet=False)
    assert "compiling its kernels" in capsys.readouterr().err


def test_a_later_group_says_it_compiles_as_it_starts(monkeypatch, capsys):
    """After the first run, a group of kernels built ahead of time for the first time (a
    thumbnail's after photos) says so when its build starts."""
    from flowzip import aot
    from flowzip.cli import common

    monkeypatch.setattr(jit, "cache_is_cold", lambda: False)
    monkeypatch.setattr(aot, "announce", None)
    common.announce_compiling(quiet=False)
    assert capsys.readouterr().err == ""
    aot.announce("priors")
    assert "compiling its priors kernels" in capsys.readouterr().err
