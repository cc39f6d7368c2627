"""bpd and seconds per image at each effort level, through the CLI, every image round-tripped.

Photos (a folder of PNGs) are coded one .fz per image; thumbnails (the first N images of a .npy
array, such as CIFAR-10 test) as one archive. Each level runs with ``-j 1`` and with the ``-j``
values asked for; the file's adapters (effort 7-9) are counted apart, as a share of its bytes.

    python scripts/measure/effort_table.py ../shared/data/kodak --levels 1 5 6 7 8 9 --jobs 1 2
    python scripts/measure/effort_table.py ../shared/data/cifar10/test.npy --limit 1000 --levels 5 9
    python scripts/measure/effort_table.py runs/kodak8 --levels 6 9 --model glow-photo-v3   # the adapter alone
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

import numpy as np
from PIL import Image

from flowzip import api


def _images(source: Path, limit: int | None, work: Path) -> list[Path]:
    if source.is_dir():
        return sorted(source.glob("*.png"))[:limit]
    folder = work / "png"
    folder.mkdir()
    for i, x in enumerate(np.load(source, mmap_mode="r")[:limit]):
        Image.fromarray(np.asarray(x)).save(folder / f"{i:05d}.png")
    return sorted(folder.glob("*.png"))


def _timed(cmd: list[str]) -> float:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    start = time.perf_counter()
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if res.returncode:
        sys.exit(f"failed: {' '.join(cmd[:6])} ...\n{res.stderr[-2000:]}")
    return time.perf_counter() - start


def _adapter_bytes(fz: Path) -> int:
    return sum(len(ref.adapter) for ref in api.inspect(fz.read_bytes()).models)


def measure(images: list[Path], level: int, jobs: int, archive: bool, work: Path, model: str | None = None) -> dict:
    out, back = work / f"e{level}j{jobs}", work / f"e{level}j{jobs}-back"
    out.mkdir()
    chosen = ["-m", model] if model else []
    target = out / "all.fz" if archive else out
    encode = _timed(["flowzip", "compress", "-q", "--no-png", "--effort", str(level), "-j", str(jobs), *chosen,
                     *map(str, images), "-o", str(target)])
    files = sorted(out.glob("*.fz"))
    decode = _timed(["flowzip", "decompress", "-q", "-j", str(jobs), *map(str, files), "-o", f"{back}/"])
    size = sub = 0
    for src in images:
        a, b = np.asarray(Image.open(src)), np.asarray(Image.open(back / src.name))
        assert a.shape == b.shape and np.array_equal(a, b), f"MISMATCH {src.name} at effort {level}"
        sub += a.size
    size = sum(f.stat().st_size for f in files)
    adapters = sum(_adapter_bytes(f) for f in files)
    return {"effort": level, "jobs": jobs, "model": model, "images": len(images), "bpd": 8 * size / sub,
            "encode_s_per_image": encode / len(images), "decode_s_per_image": decode / len(images),
            "adapter_share": adapters / size}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source", type=Path, help="a folder of PNGs (one .fz each) or a .npy of thumbnails (one archive)")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--levels", type=int, nargs="+", default=[1, 5, 6, 7, 8, 9])
    ap.add_argument("--jobs", type=int, nargs="+", default=[1])
    ap.add_argument("--model", help="code with this model (--model): the flows alone, adapted at 7-9")
    ap.add_argument("--json", type=Path, help="append each row here as a line of JSON")
    args = ap.parse_args()
    archive = not args.source.is_dir()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        images = _images(args.source, args.limit, work)
        print("| effort | -j | bpd | encode s/image | decode s/image | adapter share |")
        print("|---|---|---|---|---|---|")
        for level in args.levels:
            for jobs in args.jobs:
                row = measure(images, level, jobs, archive, work, args.model)
                print(f"| {level} | {jobs} | {row['bpd']:.4f} | {row['encode_s_per_image']:.3f} | "
                      f"{row['decode_s_per_image']:.3f} | {100 * row['adapter_share']:.2f} % |", flush=True)
                if args.json:
                    with args.json.open("a") as f:
                        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
