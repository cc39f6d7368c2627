"""Where the time of a default decode goes, in a fresh process on one thread: starting Python,
importing flowzip, loading the compiled kernels (the first decode less the second), decoding,
and writing the PNG; beside the whole ``flowzip decompress`` command's wall time. Of a decode by a
local prior's network (the local and guided coders), the network's passes, the coding kernel and
the gathering of windows are timed apart (in the second decode).

    python scripts/measure/decode_profile.py ../shared/data/kodak/kodim05.png [--effort 5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
import flowzip
from flowzip.images import pngfile
t1 = time.perf_counter()
from flowzip.priors import guided, kernels, network
parts = {}
def timed(owner, name, key):
    function = getattr(owner, name)
    def run(*args):
        start = time.perf_counter()
        out = function(*args)
        parts[key] = parts.get(key, 0.0) + time.perf_counter() - start
        return out
    setattr(owner, name, run)
timed(network.ExactLocalNet, "__call__", "network")
timed(kernels, "gather_values", "windows")
timed(guided, "code_pixels", "coding kernel")
timed(kernels, "decode_pixels", "coding kernel")
data = open(sys.argv[1], "rb").read()
pixels = flowzip.decompress(data)
t2 = time.perf_counter()
parts.clear()
flowzip.decompress(data)
t3 = time.perf_counter()
from PIL import Image
Image.fromarray(pixels).save(sys.argv[2])
t4 = time.perf_counter()
print(json.dumps(dict(imports=t1 - t0, first_decode=t2 - t1, decode=t3 - t2, png_write=t4 - t3, parts=parts)))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("image")
    ap.add_argument("--effort", type=int, default=5)
    args = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as work:
        fz, out = Path(work) / "x.fz", Path(work) / "x.png"
        subprocess.run(["flowzip", "compress", "-q", "--no-png", f"-{args.effort}", args.image, "-o", str(fz)],
                       env=env, check=True)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
        python = time.perf_counter() - start
        start = time.perf_counter()
        subprocess.run(["flowzip", "decompress", "-q", "-f", str(fz), "-o", str(out)], env=env, check=True)
        command = time.perf_counter() - start
        parts = json.loads(subprocess.run([sys.executable, "-c", PROBE, str(fz), str(out)], env=env, check=True,
                                          capture_output=True, text=True).stdout)
    parts["kernel_load"] = max(parts["first_decode"] - parts["decode"], 0.0)
    rows = [("python start-up", python), ("imports", parts["imports"]), ("kernels loaded", parts["kernel_load"]),
            ("decoding", parts["decode"]), ("PNG written", parts["png_write"])]
    print(f"{Path(args.image).name}, effort {args.effort}: flowzip decompress {command:.3f} s in all")
    for name, seconds in rows:
        print(f"  {name:16s} {seconds:7.3f} s  {100 * seconds / command:5.1f} %")
        if name == "decoding":
            for part, part_seconds in parts["parts"].items():
                print(f"    {part:14s} {part_seconds:7.3f} s")


if __name__ == "__main__":
    main()
