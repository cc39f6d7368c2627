"""Measure flowzip on a data set: actual bpd from real .fz bytes, the model's estimate, exact round
trips, seconds per image and peak memory. Prints one JSON object.

    python scripts/measure/evaluate.py ../shared/data/kodak                   # a folder of images
    python scripts/measure/evaluate.py ../shared/data/cifar10/test.npy --limit 1000
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

from flowzip import api
from flowzip.images.image import load_pictures, read_image
from flowzip.training.data import to_gray


def images(path: Path, limit: int | None, gray: bool, start: int = 0):
    """(name, Picture) for images start .. start + limit; ``gray`` converts to 8-bit luma first."""
    for item in load_pictures([path], limit, start):
        yield item.name, read_image(to_gray(item.picture.pixels)) if gray else item.picture


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("path", type=Path)
    ap.add_argument("--limit", type=int)
    ap.add_argument("--model")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--tile", type=int, help="default: the API's, which depends on the codec")
    ap.add_argument("--batch", type=int)
    ap.add_argument("--per-image", action="store_true")
    ap.add_argument("--gray", action="store_true", help="convert the images to 8-bit gray first")
    args = ap.parse_args()

    bits = est = subpixels = 0.0
    enc_s = dec_s = 0.0
    n = 0
    rows = []
    worst_excess = -1e9
    for name, picture in images(args.path, args.limit, args.gray):
        t = time.perf_counter()
        data, report = api.compress_picture(picture, args.model, tile=args.tile, batch=args.batch,
                                            device=args.device)
        t1 = time.perf_counter()
        back = api.decompress_picture(data, batch=args.batch, device=args.device)
        t2 = time.perf_counter()
        if not np.array_equal(back.pixels, picture.pixels):
            sys.exit(f"ROUND TRIP MISMATCH on {name}")
        n += 1
        bits += 8 * len(data)
        est += report.estimated_bits
        subpixels += report.subpixels
        enc_s += t1 - t
        dec_s += t2 - t1
        excess = 8 * len(data) - report.estimated_bits
        worst_excess = max(worst_excess, excess - 0.005 * report.estimated_bits - 512)
        rows.append({"image": name, "bytes": len(data), "bpd": report.bpd, "estimated_bpd": report.estimated_bpd,
                     "encode_s": t1 - t, "decode_s": t2 - t1})
        if args.per_image:
            print(json.dumps(rows[-1]), file=sys.stderr)
    summary = {
        "data": str(args.path), "images": n, "all_round_trips_exact": True,
        "mean_bpd": float(np.mean([r["bpd"] for r in rows])),
        "mean_estimated_bpd": float(np.mean([r["estimated_bpd"] for r in rows])),
        "pooled_bpd": bits / subpixels, "pooled_estimated_bpd": est / subpixels,
        "worst_excess_over_allowance_bits": worst_excess,
        "encode_s_per_image": enc_s / n, "decode_s_per_image": dec_s / n,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "device": args.device, "torch_threads": torch.get_num_threads(), "cpu": platform.processor() or platform.machine(),
        "tile": args.tile, "batch": args.batch, "model": args.model or "default", "gray": args.gray,
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
