"""The held-out photos through the CLI: write them as PNG files, compress them (one process, one
thread, ``flowzip compress`` with the given options), decompress, compare every pixel, and count
which coder each file kept, with the pooled bits per sub-pixel from the files' bytes.

    python scripts/measure/heldout_cli.py [--count 40] [-- COMPRESS OPTIONS, e.g. -6]

Held-out photos: those of ``local_prior_curves.held_out_photos`` (the first 40 JPEGs of
``train_photos/bsds500/test``, each reduced 2x and 3x), which no shipped model trained on.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from local_prior_curves import held_out_photos  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=40, help="JPEGs (each gives two images)")
    ap.add_argument("options", nargs="*", help="more options for flowzip compress")
    args = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        (work / "png").mkdir(), (work / "fz").mkdir(), (work / "back").mkdir()
        images = held_out_photos(args.count)
        names = [work / "png" / f"h{i:03d}.png" for i in range(len(images))]
        for im, name in zip(images, names):
            Image.fromarray(im).save(name)
        out = subprocess.run(["flowzip", "compress", "-j", "1", "--no-png", *args.options, *map(str, names),
                              "-o", str(work / "fz")], env=env, capture_output=True, text=True, check=True).stdout
        subprocess.run(["flowzip", "decompress", "-j", "1", "-q", *map(str, sorted((work / "fz").glob("*.fz"))),
                        "-o", str(work / "back")], env=env, check=True)
        bits = subpixels = 0
        for im, name in zip(images, names):
            back = np.asarray(Image.open(work / "back" / name.name))
            assert np.array_equal(back, im), f"MISMATCH {name.name}"
            bits += 8 * (work / "fz" / (name.stem + ".fz")).stat().st_size
            subpixels += im.size
        kept = collections.Counter(re.findall(r"coded by (\S+)", out))
        print(f"{len(images)} held-out photos, identical pixels after the CLI round trip; pooled "
              f"{bits / subpixels:.4f} bpd; kept: " + ", ".join(f"{k} {v}" for k, v in kept.most_common()))


if __name__ == "__main__":
    main()
