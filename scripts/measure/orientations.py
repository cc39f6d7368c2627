"""Would coding an image turned or mirrored (and saying which in the file) pay? Per image the
smallest of the orientations against the image as it is; nothing in flowzip does this (the
ablation of docs/RESULTS.md, tenth session of 2026-12-05).

    python scripts/measure/orientations.py cifar [--model local-rgb-v8] [--count 1000]
    python scripts/measure/orientations.py photos DIR [--effort -6]

``cifar``: held-out CIFAR-10 train images (48000 on), the local prior's float estimate for each
of the 8 orientations (mirrors, turns, transposes). ``photos``: every PNG of DIR compressed by the
CLI (files' bytes) as it is, mirrored left-right, upside down and turned 180 degrees. Both add the
bits that would name the orientation.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from local_prior_curves import held_out_cifar  # noqa: E402

TURNS = {  # (B, C, H, W) tensors
    "as it is": lambda t: t,
    "mirrored": lambda t: t.flip(3),
    "upside down": lambda t: t.flip(2),
    "turned 180": lambda t: t.flip(2, 3),
    "transposed": lambda t: t.transpose(2, 3),
    "transposed, mirrored": lambda t: t.transpose(2, 3).flip(3),
    "transposed, upside down": lambda t: t.transpose(2, 3).flip(2),
    "transposed, turned 180": lambda t: t.transpose(2, 3).flip(2, 3),
}


def report(bits: dict[str, np.ndarray], subpixels: int) -> None:
    """Pooled bpd per orientation and of the per-image best of the first 2, 4 and 8."""
    rows = np.stack(list(bits.values()))
    for name, b in bits.items():
        print(f"{name:24s} {b.sum() / subpixels:.4f}")
    for n in (2, 4, 8):
        if n <= len(rows):
            best = rows[:n].min(0) + math.log2(n)
            print(f"{f'best of the first {n}':24s} {best.sum() / subpixels:.4f}")


def cifar(model_name: str, count: int) -> None:
    import torch

    from flowzip import zoo

    torch.set_num_threads(1)
    model = zoo.load_model(model_name).model.eval()
    x = torch.from_numpy(np.ascontiguousarray(held_out_cifar()[:count].transpose(0, 3, 1, 2)))
    bits = {}
    with torch.no_grad():
        for name, turn in TURNS.items():
            y = turn(x).contiguous()
            nats = torch.cat([-model.log_prob(y[i : i + 250]) for i in range(0, len(y), 250)])
            bits[name] = nats.numpy() / math.log(2)
    report(bits, x.numel())


def photos(folder: Path, effort: str) -> None:
    from PIL import Image

    ops = {"as it is": None, "mirrored": Image.FLIP_LEFT_RIGHT, "upside down": Image.FLIP_TOP_BOTTOM, "turned 180": Image.ROTATE_180}
    files = sorted(folder.glob("*.png"))
    subpixels = 0
    for f in files:
        with Image.open(f) as im:
            subpixels += im.width * im.height * len(im.getbands())
    bits = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, op in ops.items():
            out = Path(tmp) / name.replace(" ", "_")
            out.mkdir()
            for f in files:
                with Image.open(f) as im:
                    (im if op is None else im.transpose(op)).save(out / f.name)
            done = sorted(out.glob("*.png"))
            subprocess.run(["flowzip", "compress", "--no-png", effort, "-j", "1", "-q", *map(str, done)], check=True)
            bits[name] = np.array([8.0 * os.path.getsize(f.with_suffix(".fz")) for f in done])
    report(bits, subpixels)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    c = sub.add_parser("cifar")
    c.add_argument("--model", default="local-rgb-v8")
    c.add_argument("--count", type=int, default=1000)
    p = sub.add_parser("photos")
    p.add_argument("folder", type=Path)
    p.add_argument("--effort", default="-6")
    a = ap.parse_args()
    if a.what == "cifar":
        cifar(a.model, a.count)
    else:
        photos(a.folder, a.effort)


if __name__ == "__main__":
    main()
