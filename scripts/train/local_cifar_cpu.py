"""Fine-tune a local prior on CIFAR-10 train on the CPU (one thread), resumable: the recipe of
``local-rgb-v1``.

    python scripts/train/local_cifar_cpu.py --init RUN.pt --out runs/local-rgb --steps 11000
    python scripts/train/local_cifar_cpu.py --init RUN.pt --out runs/local-rgb --steps 11000 --resume

``--init``: a run of ``scripts/gpu/train_local.py`` (its last snapshot) or a checkpoint of this
script, whose network (width, layers, mixture) it continues; input columns the model does not have
(a run with activity inputs) are dropped. Data:
train images 0 to 47999 in batches of 32 with random horizontal flips; images 48000 to 49999 are
held out and measured every ``--eval-every`` steps (OUT.jsonl: step, training loss, held-out bpd,
seconds). Adam, 200 warm-up steps, cosine decay to 5 % of ``--lr``. OUT.pt holds the weights,
optimizer state and step (``--resume`` continues from it; the batches' random draws start again).
"""

from __future__ import annotations

import argparse
import io
import json
import lzma
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "cifar10" / "train.npy.xz"


def main() -> None:
    import torch

    from flowzip.models.localprior import load_run

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--init", required=True)
    ap.add_argument("--out", required=True, help="OUT.pt and OUT.jsonl are written")
    ap.add_argument("--steps", type=int, default=11000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--eval-every", type=int, default=1000)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--seed", type=int, default=1, help="the batches' and flips' random draws")
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    model = load_run(a.init)
    config = model.config
    arr = np.load(io.BytesIO(lzma.open(DATA).read()))
    images = arr[:48000]
    held = torch.from_numpy(np.ascontiguousarray(arr[48000:].transpose(0, 3, 1, 2)))

    def held_out_bpd() -> float:
        with torch.no_grad():
            nats = -sum(model.log_prob(held[i : i + 500]).sum().item() for i in range(0, len(held), 500))
        return nats / math.log(2) / held.numel()

    opt = torch.optim.Adam(model.parameters(), a.lr)
    start = 0
    if a.resume:
        ck = torch.load(a.out + ".pt")
        model.load_state_dict(ck["state"])
        opt.load_state_dict(ck["opt"])
        start = ck["step"]
    log = open(a.out + ".jsonl", "a")
    if start == 0:
        log.write(json.dumps(dict(step=0, held=held_out_bpd())) + "\n")
    t0, ema = time.time(), None
    for step in range(start + 1, a.steps + 1):
        for g in opt.param_groups:
            g["lr"] = a.lr * min(1.0, step / 200) * (0.05 + 0.475 * (1 + math.cos(math.pi * step / a.steps)))
        x = images[rng.integers(0, len(images), a.batch)].copy()
        flip = rng.random(a.batch) < 0.5
        x[flip] = x[flip, :, ::-1]
        x = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        loss = -model.log_prob(x).sum() / x.numel() / math.log(2)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        ema = loss.item() if ema is None else 0.99 * ema + 0.01 * loss.item()
        if step % a.eval_every == 0 or step == a.steps:
            record = dict(step=step, train=round(ema, 4), held=round(held_out_bpd(), 4), t=round(time.time() - t0))
            print(record, flush=True)
            log.write(json.dumps(record) + "\n")
            log.flush()
            torch.save(dict(config=config.to_dict(), state=model.state_dict(), opt=opt.state_dict(), step=step),
                       a.out + ".pt")


if __name__ == "__main__":
    main()
