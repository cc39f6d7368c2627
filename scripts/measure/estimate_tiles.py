"""Estimated bpd of models on images cut into coding tiles, at several scales: a quick way to see
which model suits which images, without coding. Estimates only (the models' likelihoods, no file
bytes); `scripts/measure/evaluate.py` and `scripts/measure/kodak_cli_roundtrip.sh` measure real sizes.

    python scripts/measure/estimate_tiles.py ../shared/data/kodak --models glow-rgb-v2 glow-photo-v1 --scales 1 2 4
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from flowzip import policy, zoo
from flowzip.pipelines.tiles import pad_to_multiple, tile_boxes
from flowzip.images.image import load_pictures
from flowzip.training.trainer import held_out_bpd


def downscale(pixels: np.ndarray, factor: int) -> np.ndarray:
    if factor == 1:
        return pixels
    h, w = pixels.shape[:2]
    return np.asarray(Image.fromarray(pixels).resize((max(1, w // factor), max(1, h // factor)), Image.BOX))


def tiles(pixels: np.ndarray, tile: int, multiple: int) -> list[np.ndarray]:
    """The image's coding tiles as (C, H, W), padded as the codecs pad them."""
    chw = np.ascontiguousarray(pixels.transpose(2, 0, 1))
    return [pad_to_multiple(np.ascontiguousarray(chw[:, y0:y1, x0:x1]), multiple)
            for y0, y1, x0, x1 in tile_boxes(chw.shape[1], chw.shape[2], tile)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("path", type=Path, help="a folder of images or a .npy array of them")
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("--scales", nargs="+", type=int, default=[1])
    ap.add_argument("--limit", type=int)
    ap.add_argument("--tile", type=int, default=policy.DEFAULT.stacked_tile)
    args = ap.parse_args()
    images = [item.picture.pixels for item in load_pictures([args.path], args.limit)]
    result = {"data": str(args.path), "images": len(images), "tile": args.tile, "estimate_bpd": {}}
    for name in args.models:
        loaded = zoo.load_model(name)
        multiple = loaded.model.multiple
        for scale in args.scales:
            cut = [t for im in images for t in tiles(downscale(im, scale), args.tile, multiple)]
            bpd = held_out_bpd(loaded.model, cut, torch.device("cpu"), batch=32)
            result["estimate_bpd"].setdefault(name, {})[f"1/{scale}"] = round(bpd, 4)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
