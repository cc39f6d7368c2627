"""Compress and decompress a large photo-like image through the CLI, reporting time and peak memory.

The image is built from a Kodak photo scaled up (Lanczos) to WIDTHxHEIGHT, so it has photo
statistics; no data is downloaded.

    python scripts/measure/large_image.py --width 6000 --height 4000
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def timed(cmd: list[str]) -> dict:
    start = time.perf_counter()
    res = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
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
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "large.png"
        Image.open(args.source).convert("RGB").resize((args.width, args.height), Image.LANCZOS).save(src)
        fz, out = Path(tmp) / "large.fz", Path(tmp) / "restored.png"
        enc = timed(["flowzip", "compress", "--no-png", "--device", args.device, str(src), "-o", str(fz)])
        dec = timed(["flowzip", "decompress", "--device", args.device, str(fz), "-o", str(out)])
        same = np.array_equal(np.asarray(Image.open(src)), np.asarray(Image.open(out)))
        print(json.dumps({"width": args.width, "height": args.height, "fz_bytes": fz.stat().st_size,
                          "bpd": round(8 * fz.stat().st_size / (args.width * args.height * 3), 4),
                          "compress": enc, "decompress": dec, "identical": same, "device": args.device},
                         indent=2))
        if not same:
            sys.exit("MISMATCH")


if __name__ == "__main__":
    main()
