"""Measure a set of images coded as ONE archive (.fz version 2, one ANS stream): actual bpd from
the archive's bytes, the model's estimate, the parts of the stream (seed tiles, bits-back tiles,
header), an exact round trip of every image, and the time. Prints one JSON object.

    python scripts/measure/evaluate_archive.py ../shared/data/cifar10/test.npy --limit 1000 --model glow-rgb-v1
    python scripts/measure/evaluate_archive.py ../shared/data/kodak --limit 1 --model glow-rgb-v1   # one file
    python scripts/measure/evaluate_archive.py ../shared/data/cifar10/test.npy --start 5000 --model glow-rgb-v1
    python scripts/measure/merge_archive_results.py half0.json half1.json   # archives run side by side
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

from flowzip import __version__, api, families
from flowzip.fileformat import container

sys.path.insert(0, str(Path(__file__).parent))
from evaluate import images  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("path", type=Path)
    ap.add_argument("--start", type=int, default=0, help="skip this many images first")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--model")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--tile", type=int)
    ap.add_argument("--batch", type=int)
    ap.add_argument("--out", type=Path, help="also write the archive here")
    args = ap.parse_args()

    pictures = list(images(args.path, args.limit, gray=False, start=args.start))
    stats: dict = {}
    t0 = time.perf_counter()
    data, report = api.encode(pictures, args.model, archive=True, tile=args.tile, batch=args.batch,
                       device=args.device, stats=stats)
    t1 = time.perf_counter()
    decoded = api.decode(data, device=args.device)
    t2 = time.perf_counter()
    exact = sum(np.array_equal(a.pixels, b.pixels) for (_, a), (_, b) in zip(pictures, decoded))
    if args.out:
        args.out.write_bytes(data)
    header_bytes = container.parse(data)[1]
    parts = {(kind if kind == "seed" else families.by_id(kind).name): {"actual_bpd": round(s["bits"] / s["subpixels"], 4),
                    "estimated_bpd": round(s["estimate"] / s["subpixels"], 4),
                    "subpixels": s["subpixels"], "batches": s["batches"]} for kind, s in stats.items()}
    print(json.dumps({
        "data": str(args.path), "start": args.start, "images": len(pictures), "model": args.model, "flowzip": __version__,
        "bytes": len(data), "header_bytes": header_bytes, "subpixels": report.subpixels,
        "actual_bpd": round(report.bpd, 4), "estimated_bpd": round(report.estimated_bpd, 4),
        "actual_over_estimate": round(report.bpd / report.estimated_bpd - 1, 5),
        "parts": parts, "exact": f"{exact}/{len(pictures)}",
        "compress_s": round(t1 - t0, 2), "decompress_s": round(t2 - t1, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "threads": torch.get_num_threads(), "cpu": platform.processor() or platform.machine(),
    }, indent=2))
    if exact != len(pictures):
        sys.exit(1)


if __name__ == "__main__":
    main()
