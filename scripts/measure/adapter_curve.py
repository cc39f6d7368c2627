"""How much per-image adaptation saves, and what its parameters cost to send: float estimates of a
model on an image's coding tiles before and after fitting each adapter, the adapter's size in the
file, and the fitting time. Choose adapters on held-out *training* photos (``--held-out``), not
on the test sets.

    python scripts/measure/adapter_curve.py --held-out 8 --adapters norms biases --steps 30 60
    python scripts/measure/adapter_curve.py ../shared/data/kodak/kodim05.png --adapters biases --steps 60
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from flowzip import adapt, zoo
from flowzip.models.adaptation import fit
from flowzip.pipelines.tiles import pad_to_multiple, tile_boxes
from flowzip.images.image import image_files, read_image

TRAIN_PHOTOS = Path("../shared/data/train_photos")


def held_out_photos(n: int) -> list[Path]:
    """The photo files the shipped photo models' trainer held out (seed 0, after the CIFAR split)."""
    files = image_files(TRAIN_PHOTOS, recursive=True)
    rng = np.random.default_rng(0)
    rng.permutation(50000)  # the trainer first holds out CIFAR-10 train images with the same generator
    return [files[i] for i in rng.permutation(len(files))[:n]]


def tiles_of(pixels: np.ndarray, tile: int = 64, multiple: int = 8) -> np.ndarray:
    chw = np.ascontiguousarray(pixels.transpose(2, 0, 1))
    out = [pad_to_multiple(chw[:, y0:y1, x0:x1], multiple) for y0, y1, x0, x1 in tile_boxes(*pixels.shape[:2], tile)]
    return np.stack([t for t in out if t.shape == out[0].shape])


@torch.no_grad()
def estimate(model, tiles: np.ndarray, seed: int = 0) -> float:
    """bpd of the float model on the tiles, with fixed dequantization noise."""
    g = torch.Generator().manual_seed(seed)
    total = 0.0
    for i in range(0, len(tiles), 32):
        x = torch.from_numpy(tiles[i : i + 32].astype(np.float32))
        total += -model.log_density((x + torch.rand(x.shape, generator=g)) / 256 - 0.5).sum().item()
    return total / (tiles.size * math.log(2))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("images", nargs="*", type=Path)
    ap.add_argument("--held-out", type=int, default=0, help="add this many held-out training photos")
    ap.add_argument("--model", default="glow-photo-v3")
    ap.add_argument("--adapters", nargs="+", default=list(adapt.ADAPTERS))
    ap.add_argument("--steps", nargs="+", type=int, default=[30])
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(1)
    loaded = zoo.load_model(args.model)
    images = list(args.images) + held_out_photos(args.held_out)
    rows = []
    for path in images:
        pixels = read_image(path).pixels
        pixels = pixels[: pixels.shape[0] // 64 * 64, : pixels.shape[1] // 64 * 64]  # whole tiles
        tiles = tiles_of(pixels)
        base = estimate(loaded.model, tiles)
        for name in args.adapters:
            for steps in args.steps:
                start = time.perf_counter()
                keys = adapt.adapted_keys(loaded.weights, name)
                adapter = adapt.Adapter(name, fit(loaded.model, loaded.weights, keys, tiles, steps, args.lr,
                                                  adapt.STEP_BITS))
                seconds = time.perf_counter() - start
                adapted = loaded.with_weights(adapter.apply(loaded.weights))
                after = estimate(adapted.model, tiles)
                cost = 8 * len(adapter.to_bytes(loaded.weights)) / pixels.size
                rows.append({"image": path.name, "size": f"{pixels.shape[1]}x{pixels.shape[0]}", "adapter": name,
                             "steps": steps, "base_bpd": base, "adapted_bpd": after, "adapter_bpd": cost,
                             "net_saving": (base - after - cost) / base,
                             "values": int(sum(q.size for q in adapter.deltas.values())), "fit_s": seconds})
                r = rows[-1]
                print(f"{r['image']} {r['size']} {name} {steps}: {base:.4f} -> {after:.4f} + {cost:.4f} "
                      f"({100 * r['net_saving']:+.2f} % net), {r['values']} values, {seconds:.1f} s", flush=True)
    for name in args.adapters:
        for steps in args.steps:
            sel = [r for r in rows if r["adapter"] == name and r["steps"] == steps]
            print(f"mean {name} {steps}: net saving {100 * np.mean([r['net_saving'] for r in sel]):.2f} %, "
                  f"adapter {np.mean([r['adapter_bpd'] for r in sel]):.4f} bpd, {np.mean([r['fit_s'] for r in sel]):.1f} s")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
