"""Fine-tune a local prior on photos on the CPU (one thread), resumable: the recipe of the photo
guides tried on the CPU (none shipped yet: docs/RESULTS.md).

    python scripts/train/local_photos_cpu.py --init RUN.pt --out runs/local-photo --steps 7000 --lr 3e-4

``--init`` as for ``local_cifar_cpu.py``. Data: the JPEGs of train_photos/bsds500 (train, val, and
test but its first 40, which are held out), each reduced by 6 random factors from 2 to 4 with a
Lanczos filter so that JPEG artefacts fade; batches of 32 random 48x48 crops with random
horizontal flips. Held out: ``local_prior_curves.held_out_photos`` (the first 40 of test, reduced
2x and 3x: 80 images), pooled bpd. The loop: ``local_cpu.py``.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts" / "measure"))
sys.path.insert(0, str(ROOT / "scripts" / "gpu"))
PHOTOS = ROOT.parent / "shared" / "data" / "train_photos" / "bsds500"
HELD_OUT = 40  # the first photos of test/, sorted by name


def training_photos() -> list[Path]:
    test = sorted((PHOTOS / "test").glob("*.jpg"))
    return sorted((PHOTOS / "train").glob("*.jpg")) + sorted((PHOTOS / "val").glob("*.jpg")) + test[HELD_OUT:]


def main() -> None:
    import torch
    from PIL import Image

    from local_cpu import setup, train
    from local_prior_curves import held_out_photos

    a, model, rng = setup(__doc__)
    images = []
    for f in training_photos():
        with Image.open(f) as im:
            im = im.convert("RGB")
            for factor in rng.uniform(2.0, 4.0, 6):
                images.append(np.asarray(im.resize((round(im.width / factor), round(im.height / factor)), Image.LANCZOS)))
    held = [torch.from_numpy(np.ascontiguousarray(im.transpose(2, 0, 1)))[None] for im in held_out_photos(HELD_OUT)]
    crop = 48

    def held_out_bpd() -> float:
        with torch.no_grad():
            nats = -sum(model.log_prob(x).item() for x in held)
        return nats / math.log(2) / sum(x.numel() for x in held)

    def next_batch():
        out = np.empty((a.batch, crop, crop, 3), np.uint8)
        for k, i in enumerate(rng.integers(0, len(images), a.batch)):
            im = images[i]
            y, x = rng.integers(0, im.shape[0] - crop + 1), rng.integers(0, im.shape[1] - crop + 1)
            c = im[y : y + crop, x : x + crop]
            out[k] = c[:, ::-1] if rng.random() < 0.5 else c
        return torch.from_numpy(np.ascontiguousarray(out.transpose(0, 3, 1, 2)))

    train(model, next_batch, held_out_bpd, a)


if __name__ == "__main__":
    main()
