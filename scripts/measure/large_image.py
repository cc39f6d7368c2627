"""Compress and decompress a large photo-like image through the CLI, reporting time and peak memory.

The image is built from a Kodak photo scaled up (Lanczos) to WIDTHxHEIGHT, so it has photo
statistics; no data is downloaded.

    python scripts/measure/large_image.py --width 6000 --height 4000
    python scripts/measure/large_image.py --width 2000 --height 1500 --jobs 1 2   # the 2-core ratio

Each run has OMP/BLAS at one thread per process; ``--jobs N`` is flowzip's ``-j N``.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def timed(cmd: list[str]) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    start = time.perf_counter()
    res = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env=env)
    if res.returncode:
        sys.exit(f"failed: {' '.join(cmd)}\n{res.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", res.stderr).group(1))
    return {"seconds": round(time.perf_counter() - start, 1), "peak_rss_mb": round(rss / 1024)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=6000)
    ap.add_argument("--height", type=int, default=4000)
    ap.add_argument("--source", default="../shared/data/kodak/kodim05.png")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1], help="flowzip -j values to time, side by side")
    ap.add_argument("--model", default=None, help="a model for the planes it fits (default: the policy's choice)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "large.png"
        Image.open(args.source).convert("RGB").resize((args.width, args.height), Image.LANCZOS).save(src)
        model = ["-m", args.model] if args.model else []
        pixels = np.asarray(Image.open(src))
        for jobs in args.jobs:
            fz, out = Path(tmp) / f"large-{jobs}.fz", Path(tmp) / f"restored-{jobs}.png"
            common = ["--device", args.device, "-j", str(jobs)]
            enc = timed(["flowzip", "compress", "-f", "-q", "--no-png", *common, *model, str(src), "-o", str(fz)])
            dec = timed(["flowzip", "decompress", "-f", "-q", *common, str(fz), "-o", str(out)])
            same = np.array_equal(pixels, np.asarray(Image.open(out)))
            print(json.dumps({"width": args.width, "height": args.height, "jobs": jobs, "model": args.model,
                              "fz_bytes": fz.stat().st_size,
                              "bpd": round(8 * fz.stat().st_size / (args.width * args.height * 3), 4),
                              "compress": enc, "decompress": dec, "identical": same, "device": args.device}),
                  flush=True)
            if not same:
                sys.exit("MISMATCH")


if __name__ == "__main__":
    main()
