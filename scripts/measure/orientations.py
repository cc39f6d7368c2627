"""Would coding an image turned or mirrored (and saying which in the file) pay? Per image the
smallest of the orientations against the image as it is; nothing in flowzip does this (the
ablation of docs/RESULTS.md, tenth session of 2026-12-05).

    python scripts/measure/orientations.py cifar [--model NAME] [--count 1000]
    python scripts/measure/orientations.py photos DIR [--effort -6]

``cifar``: held-out CIFAR-10 train images (48000 on), the local prior's float estimate (by default
the policy's thumbnails' prior) for each of the 8 orientations (mirrors, turns, transposes).
``photos``: every PNG of DIR compressed by the CLI (files' bytes) as it is, mirrored left-right,
upside down and turned 180 degrees. Both add the bits that would name the orientation.
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

TURNS = {  # arrays (..., H, W, C): one image or a batch
    "as it is": lambda a: a,
    "mirrored": lambda a: np.flip(a, -2),
    "upside down": lambda a: np.flip(a, -3),
    "turned 180": lambda a: np.flip(a, (-3, -2)),
    "transposed": lambda a: np.swapaxes(a, -3, -2),
    "transposed, mirrored": lambda a: np.flip(np.swapaxes(a, -3, -2), -2),
    "transposed, upside down": lambda a: np.flip(np.swapaxes(a, -3, -2), -3),
    "transposed, turned 180": lambda a: np.flip(np.swapaxes(a, -3, -2), (-3, -2)),
}
SAME_SHAPE = list(TURNS)[:4]  # the orientations that keep a picture's height and width


def report(bits: dict[str, np.ndarray], subpixels: int) -> None:
    """Pooled bpd per orientation and of the per-image best of the first 2, 4 and 8."""
    rows = np.stack(list(bits.values()))
    for name, b in bits.items():
        print(f"{name:24s} {b.sum() / subpixels:.4f}")
    for n in (2, 4, 8):
        if n <= len(rows):
            best = rows[:n].min(0) + math.log2(n)
            print(f"{f'best of the first {n}':24s} {best.sum() / subpixels:.4f}")


def cifar(model_name: str | None, count: int) -> None:
    import torch

    from flowzip import policy, zoo

    torch.set_num_threads(1)
    model = zoo.load_model(model_name or policy.DEFAULT.local[3]).model.eval()
    images = held_out_cifar()[:count]
    bits = {}
    with torch.no_grad():
        for name, turn in TURNS.items():
            x = torch.from_numpy(np.ascontiguousarray(turn(images).transpose(0, 3, 1, 2)))
            nats = torch.cat([-model.log_prob(x[i : i + 250]) for i in range(0, len(x), 250)])
            bits[name] = nats.numpy() / math.log(2)
    report(bits, images.size)


def photos(folder: Path, effort: str) -> None:
    from PIL import Image

    files = sorted(folder.glob("*.png"))
    pictures = [np.asarray(Image.open(f)) for f in files]
    bits = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in SAME_SHAPE:
            out = Path(tmp) / name.replace(" ", "_")
            out.mkdir()
            for f, picture in zip(files, pictures):
                Image.fromarray(np.ascontiguousarray(TURNS[name](picture))).save(out / f.name)
            done = sorted(out.glob("*.png"))
            subprocess.run(["flowzip", "compress", "--no-png", effort, "-j", "1", "-q", *map(str, done)], check=True)
            bits[name] = np.array([8.0 * os.path.getsize(f.with_suffix(".fz")) for f in done])
    report(bits, sum(p.size for p in pictures))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    c = sub.add_parser("cifar")
    c.add_argument("--model", help="a local prior (default: the policy's for thumbnails)")
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
