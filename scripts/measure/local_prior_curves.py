"""Held-out learning curves of local priors trained by ``scripts/gpu/train_local.py``: the float
model's estimate (bits per sub-pixel) of every snapshot on held-out data, beside the classical
coder's actual bytes on the same images.

    python scripts/measure/local_prior_curves.py RUN.pt [RUN.pt ...] [--last] [--json OUT.json]

Held-out photos: the first 40 JPEGs (sorted by name) of ``train_photos/bsds500/test``, which no run
trains on, each reduced 2x and 3x (Lanczos): 80 images. Held-out CIFAR-10: train images 48000 to
49999. One thread.
"""

from __future__ import annotations

import argparse
import io
import json
import lzma
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"


def held_out_photos(count: int = 40) -> list[np.ndarray]:
    from PIL import Image

    out = []
    for f in sorted((DATA / "train_photos" / "bsds500" / "test").glob("*.jpg"))[:count]:
        with Image.open(f) as im:
            im = im.convert("RGB")
            for factor in (2.0, 3.0):
                out.append(np.asarray(im.resize((round(im.width / factor), round(im.height / factor)), Image.LANCZOS)))
    return out


def held_out_cifar() -> np.ndarray:
    return np.load(io.BytesIO(lzma.open(DATA / "cifar10" / "train.npy.xz").read()))[48000:]


def classical_bpd(images: list[np.ndarray]) -> np.ndarray:
    """Per image the classical coder's actual bits per sub-pixel."""
    import flowzip

    return np.array([8 * len(flowzip.compress(im, model="classical-v1")) / im.size for im in images])


def model_bpd(model, images) -> np.ndarray:
    import torch

    with torch.no_grad():
        if isinstance(images, np.ndarray):  # thumbnails: in batches
            x = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
            return np.concatenate([-model.log_prob(x[i : i + 500]).numpy() for i in range(0, len(x), 500)]) / (
                math.log(2) * images[0].size)
        return np.array([-model.log_prob(torch.from_numpy(np.ascontiguousarray(im.transpose(2, 0, 1)))[None]).item()
                         / (math.log(2) * im.size) for im in images])


def main() -> None:
    import torch

    from flowzip.models.localprior import LocalPrior, LocalPriorConfig

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--last", action="store_true", help="the last snapshot only")
    ap.add_argument("--json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    photos = cifar = classical = None
    results = {}
    for path in args.runs:
        run = torch.load(path)
        model = LocalPrior(LocalPriorConfig(**run["config"])).eval()
        data = run.get("run", run["config"]).get("data", "photos")
        if data == "photos" and photos is None:
            photos = held_out_photos()
            classical = classical_bpd(photos)
            sizes = np.array([im.size for im in photos])
            print(f"classical coder on the held-out photos: {(classical * sizes).sum() / sizes.sum():.4f} bpd")
        if data == "cifar" and cifar is None:
            cifar = held_out_cifar()
        for snap in run["snaps"][-1:] if args.last else run["snaps"]:
            model.load_state_dict(snap["state"])
            if data == "photos":
                bpd = model_bpd(model, photos)
                rec = dict(step=snap["step"], held_out_bpd=round(float((bpd * sizes).sum() / sizes.sum()), 4),
                           smaller_than_classical=int((bpd < classical).sum()), images=len(photos))
            else:
                rec = dict(step=snap["step"], held_out_bpd=round(float(model_bpd(model, cifar).mean()), 4),
                           images=len(cifar))
            print(run["name"], rec, flush=True)
            results.setdefault(run["name"], []).append(rec)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
