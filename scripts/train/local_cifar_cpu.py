"""Fine-tune a local prior on CIFAR-10 train on the CPU (one thread), resumable: the recipe of
``local-rgb-v1`` and of every ``local-rgb`` from ``v3`` on (docs/MODELS.md gives each run).

    python scripts/train/local_cifar_cpu.py --init RUN.pt --out runs/local-rgb --steps 11000
    python scripts/train/local_cifar_cpu.py --init RUN.pt --out runs/local-rgb --steps 11000 --resume

``--init``: a run of ``scripts/gpu/train_local.py`` (its last snapshot), a checkpoint of these
scripts or a shipped model's card (``pretrained/NAME.json``), whose network (width, layers,
mixture, window) it continues, widened with ``--width`` (the same function at first), deepened
with ``--layers`` (nearly the same) or given a larger window with ``--horizon`` (the same);
``--bf16`` makes the wider products affordable on a CPU with bfloat16 units; input columns the
model does not have (a run with activity inputs) are dropped.
Data: train images 0 to 47999 in batches of 32 with random horizontal flips; images 48000 to 49999
are held out. The loop: ``local_cpu.py``.
"""

from __future__ import annotations

import io
import lzma
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "cifar10" / "train.npy.xz"


def main() -> None:
    import torch

    from local_cpu import setup, train

    a, model, rng = setup(__doc__)
    arr = np.load(io.BytesIO(lzma.open(DATA).read()))
    images = arr[:48000]
    held = torch.from_numpy(np.ascontiguousarray(arr[48000:].transpose(0, 3, 1, 2)))

    def held_out_bpd() -> float:
        with torch.no_grad():
            nats = -sum(model.log_prob(held[i : i + 500]).sum().item() for i in range(0, len(held), 500))
        return nats / math.log(2) / held.numel()

    def next_batch():
        x = images[rng.integers(0, len(images), a.batch)].copy()
        flip = rng.random(a.batch) < 0.5
        x[flip] = x[flip, :, ::-1]
        return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))

    train(model, next_batch, held_out_bpd, a)


if __name__ == "__main__":
    main()
