"""The test corpus (tests/classical/test_corpus.py: drawings, text, gradients, flat planes, noise, palettes,
1/2/4/16-bit, gray+alpha) through this checkout's CLI and an earlier release's: PNG bytes, and
the .fz bytes of each, or why it refused. Every file this checkout writes is decoded and compared
with the PNG's samples.

    git worktree add ../flowzip-0.1 9fe8f2c
    python scripts/measure/corpus_table.py ../flowzip-0.1
"""

from __future__ import annotations

import argparse
import os
import subprocess
import importlib.util
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))  # the tests' helpers
_spec = importlib.util.spec_from_file_location("test_corpus", ROOT / "tests" / "classical" / "test_corpus.py")
_corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_corpus)
CORPUS = _corpus.CORPUS  # the corpus the tests hold flowzip to

from flowzip.images.image import read_image  # noqa: E402


def _compress(release: Path | None, src: Path, out: Path) -> str:
    """The .fz's bytes, or the error line."""
    if release is None:
        cmd = ["flowzip", "compress", "-q", "-f", str(src), "-o", str(out)]
        env = os.environ
    else:
        cmd = [sys.executable, "-P", "-c", "from flowzip.cli import main; main()", "compress", "-f", str(src),
               "-o", str(out)]
        env = dict(os.environ, PYTHONPATH=str(release))
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if res.returncode:
        return "refused: " + res.stderr.strip().splitlines()[-1].split(": ", 2)[-1][:70]
    return str(out.stat().st_size)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("release", type=Path, help="the earlier release's source tree")
    args = ap.parse_args()
    print("| image | PNG bytes | flowzip 0.1 | this checkout |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in CORPUS.items():
            src = Path(tmp) / name
            src.write_bytes(data)
            old = _compress(args.release.resolve(), src, Path(tmp) / "old.fz")
            new = _compress(None, src, Path(tmp) / "new.fz")
            back = Path(tmp) / ("back-" + name)
            subprocess.run(["flowzip", "decompress", "-q", "-f", str(Path(tmp) / "new.fz"), "-o", str(back)], check=True)
            a, b = read_image(src), read_image(back)
            assert np.array_equal(a.pixels, b.pixels) and a.bit_depth == b.bit_depth, f"MISMATCH {name}"
            print(f"| {name} | {len(data)} | {old} | {new} |", flush=True)


if __name__ == "__main__":
    main()
