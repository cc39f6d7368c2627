"""Time flowzip through the CLI (one process per file, start-up included) against JPEG XL effort 7
(imagecodecs, one thread, in process) on the same images, side by side in one run, and print the
ratios. Every flowzip round trip is compared pixel for pixel.

    python scripts/measure/speed.py ../shared/data/kodak/kodim01.png ../shared/data/kodak/kodim02.png
    python scripts/measure/speed.py IMAGES... --model idf-photo-v2 --threads 2 --json runs/speed.json
    python scripts/measure/speed.py IMAGES... --effort 4  (the classical coder alone)

``--threads N`` gives flowzip N threads (OMP/OpenBLAS/numba) and N cores for its chunks; JPEG XL
always gets one thread, as in the comparison the project tracks.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def _env(threads: int) -> dict:
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
                "FLOWZIP_JOBS"):
        env[var] = str(threads)
    return env


def _run(cmd: list[str], env: dict) -> tuple[float, float]:
    """Wall seconds and the child's peak resident memory (MB)."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    return wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _jxl(pixels: np.ndarray, repeats: int = 3) -> tuple[float, float, int]:
    import imagecodecs

    enc, dec = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        data = imagecodecs.jpegxl_encode(pixels, lossless=True, effort=7, numthreads=1)
        enc.append(time.perf_counter() - t)
        t = time.perf_counter()
        back = imagecodecs.jpegxl_decode(data, numthreads=1)
        dec.append(time.perf_counter() - t)
        assert np.array_equal(back, pixels)
    return min(enc), min(dec), len(data)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("images", nargs="+", type=Path)
    ap.add_argument("--model", help="flowzip model (default: the policy's defaults)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--effort", type=int, help="flowzip's effort (default: its default)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    env = _env(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in args.images:
            pixels = np.asarray(Image.open(path))
            fz, png = Path(tmp) / "x.fz", Path(tmp) / "x.png"
            options = (["--model", args.model] if args.model else []) + ([f"-{args.effort}"] if args.effort else [])
            enc_s, enc_mb = _run([sys.executable, "-m", "flowzip.cli", "compress", "-q", "-f", "--no-png", *options,
                                  str(path), "-o", str(fz)], env)
            dec_s, dec_mb = _run([sys.executable, "-m", "flowzip.cli", "decompress", "-q", "-f", str(fz), "-o",
                                  str(png)], env)
            assert np.array_equal(np.asarray(Image.open(png)), pixels), f"round trip mismatch on {path}"
            jxl_enc, jxl_dec, jxl_bytes = _jxl(pixels)
            rows.append({"image": path.name, "subpixels": int(pixels.size), "bpd": 8 * fz.stat().st_size / pixels.size,
                         "compress_s": enc_s, "decompress_s": dec_s, "peak_mb": max(enc_mb, dec_mb),
                         "jxl_e7_bpd": 8 * jxl_bytes / pixels.size, "jxl_e7_compress_s": jxl_enc,
                         "jxl_e7_decompress_s": jxl_dec})
            r = rows[-1]
            print(f"{path.name}: flowzip {r['bpd']:.3f} bpd, {enc_s:.2f} s / {dec_s:.2f} s; JPEG XL e7 "
                  f"{r['jxl_e7_bpd']:.3f} bpd, {jxl_enc:.3f} s / {jxl_dec:.3f} s", flush=True)

    def mean(key):
        return float(np.mean([r[key] for r in rows]))

    mb = mean("subpixels") / 1e6
    summary = {"images": len(rows), "threads": args.threads, "model": args.model or "defaults", "effort": args.effort,
               "bpd": mean("bpd"), "compress_s": mean("compress_s"), "decompress_s": mean("decompress_s"),
               "compress_mb_s": mb / mean("compress_s"), "decompress_mb_s": mb / mean("decompress_s"),
               "jxl_e7_compress_s": mean("jxl_e7_compress_s"), "jxl_e7_decompress_s": mean("jxl_e7_decompress_s"),
               "compress_ratio": mean("compress_s") / mean("jxl_e7_compress_s"),
               "decompress_ratio": mean("decompress_s") / mean("jxl_e7_decompress_s"),
               "peak_mb": max(r["peak_mb"] for r in rows), "load_average": os.getloadavg()[0]}
    print(f"\nmean of {len(rows)}: flowzip {summary['bpd']:.3f} bpd; compress {summary['compress_s']:.2f} s "
          f"({summary['compress_mb_s']:.2f} MS/s), {summary['compress_ratio']:.1f}x JPEG XL e7; decompress "
          f"{summary['decompress_s']:.2f} s ({summary['decompress_mb_s']:.2f} MS/s), "
          f"{summary['decompress_ratio']:.1f}x JPEG XL e7; peak {summary['peak_mb']:.0f} MB; "
          f"load average {summary['load_average']:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
