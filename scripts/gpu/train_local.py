"""Train local priors (``flowzip.models.localprior``) side by side on one GPU for a fixed wall time.

    PYTHONPATH=REPO python3 scripts/gpu/train_local.py --budget SECONDS --out DIR --photos FOLDER \
        [--cifar FILE.npy.xz] [--runs NAME,...] [--device cuda]

Each run (``RUNS``) trains in its own process for ``--budget`` seconds (Adam, 2 % warm-up, cosine
decay to 4-5 % of the peak learning rate, by elapsed time) on random crops, and writes DIR/NAME.pt:
its config, ten snapshots of its weights over the run (for learning curves) and its training-loss
log. Photos: every JPEG of ``--photos`` at 6 random downsampling factors from 2 to 4 (Lanczos,
so that JPEG artefacts fade), a pool of 48x48 crops, 128 a step; CIFAR-10: whole 32x32 images,
128 a step; random horizontal flips. Held-out evaluation happens afterwards, elsewhere
(``scripts/measure/local_prior_curves.py``). A CPU dry run: ``--device cpu --budget 20``.

The shipped ``local-photo-v1`` is run ``p_h3w64l2k5`` (first session, 440 s, ten runs side by side
on one H200), continued as ``p_h3w64l2k5_cont`` (second session, 285 s, four runs side by side,
300 photos): docs/RESULTS.md has both sessions' commands and the held-out curves. The third
session's runs (``c3_*``) train on CIFAR-10 only (``--cifar`` holding train images 0-12999,
then 13000-25999 for the ``_cont`` runs, whose ``init`` file is copied into ``--out`` first).
"""

from __future__ import annotations

import argparse
import io
import json
import lzma
import math
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path

RUNS = {
    # first session: the sweep (photos: 150 JPEGs; CIFAR-10: its first 8500 train images)
    "p_h3w32l2k5": dict(data="photos", horizon=3, width=32, layers=2, mixture=5, lr=2e-3),
    "p_h3w48l1k4": dict(data="photos", horizon=3, width=48, layers=1, mixture=4, lr=2e-3),
    "p_h3w64l2k5": dict(data="photos", horizon=3, width=64, layers=2, mixture=5, lr=2e-3),
    "p_h2w48l2k5": dict(data="photos", horizon=2, width=48, layers=2, mixture=5, lr=2e-3),
    "p_h4w48l1k4": dict(data="photos", horizon=4, width=48, layers=1, mixture=4, lr=2e-3),
    "p_h3w96l3k6": dict(data="photos", horizon=3, width=96, layers=3, mixture=6, lr=1e-3),
    "c_h3w128l3k8": dict(data="cifar", horizon=3, width=128, layers=3, mixture=8, lr=1e-3),
    "c_h3w64l2k5": dict(data="cifar", horizon=3, width=64, layers=2, mixture=5, lr=2e-3),
    # second session (300 JPEGs): the chosen width, continued; and narrower or shallower ones
    "p_h3w64l2k5_cont": dict(data="photos", horizon=3, width=64, layers=2, mixture=5, lr=6e-4,
                             init="p_h3w64l2k5.pt"),
    "p_h3w64l1k5": dict(data="photos", horizon=3, width=64, layers=1, mixture=5, lr=2e-3),
    "p_h3w48l2k4": dict(data="photos", horizon=3, width=48, layers=2, mixture=4, lr=2e-3),
    "p_h3w80l1k5": dict(data="photos", horizon=3, width=80, layers=1, mixture=5, lr=2e-3),
    # third session (CIFAR-10 train images 0-12999, what fits the device tool's 64 MiB beside the
    # repository): local-rgb-v1 continued, and wider networks from scratch
    "c3_w64l2k5_v1": dict(data="cifar", horizon=3, width=64, layers=2, mixture=5, lr=5e-4,
                          init="pretrained:local-rgb-v1"),
    "c3_w64l2k5": dict(data="cifar", horizon=3, width=64, layers=2, mixture=5, lr=2e-3),
    "c3_w96l2k6": dict(data="cifar", horizon=3, width=96, layers=2, mixture=6, lr=2e-3),
    "c3_w128l2k6": dict(data="cifar", horizon=3, width=128, layers=2, mixture=6, lr=1.5e-3),
    "c3_w128l3k8": dict(data="cifar", horizon=3, width=128, layers=3, mixture=8, lr=1e-3),
    # ... continued on CIFAR-10 train images 13000-25999
    "c3_w96l2k6_cont": dict(data="cifar", horizon=3, width=96, layers=2, mixture=6, lr=1e-3, init="c3_w96l2k6.pt"),
    "c3_w128l2k6_cont": dict(data="cifar", horizon=3, width=128, layers=2, mixture=6, lr=8e-4,
                             init="c3_w128l2k6.pt"),
    "c3_w64l2k5_v1_cont": dict(data="cifar", horizon=3, width=64, layers=2, mixture=5, lr=5e-4,
                               init="c3_w64l2k5_v1.pt"),
}


def load_photos(folder: Path, rng, versions: int = 6):
    import numpy as np
    from PIL import Image

    out = []
    for f in sorted(folder.glob("*.jpg")):
        with Image.open(f) as im:
            im = im.convert("RGB")
            for factor in rng.uniform(2.0, 4.0, versions):
                size = (round(im.width / factor), round(im.height / factor))
                out.append(np.asarray(im.resize(size, Image.LANCZOS)))
    return out


def crop_pool(images, crop: int, n: int, rng):
    import numpy as np

    pool = np.empty((n, crop, crop, 3), np.uint8)
    for k, i in enumerate(rng.integers(0, len(images), n)):
        im = images[i]
        y = rng.integers(0, im.shape[0] - crop + 1)
        x = rng.integers(0, im.shape[1] - crop + 1)
        pool[k] = im[y : y + crop, x : x + crop]
    return pool


def train_one(name: str, run: dict, args) -> None:
    import numpy as np
    import torch

    from flowzip.models.localprior import LocalPrior, LocalPriorConfig

    torch.manual_seed(0)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    device = args.device
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True  # training only: coding runs the exact twin
    loaded_at = time.time()
    if run["data"] == "photos":
        pool = crop_pool(load_photos(Path(args.photos), rng), 48, 300_000 if device == "cuda" else 2000, rng)
        batch = 128
    else:
        pool = np.load(io.BytesIO(lzma.open(args.cifar).read()))
        batch = 128
    pool = torch.from_numpy(pool).to(device).permute(0, 3, 1, 2).contiguous()
    config = LocalPriorConfig(3, run["horizon"], run["width"], run["layers"], run["mixture"])
    model = LocalPrior(config).to(device)
    if run.get("init", "").startswith("pretrained:"):
        from safetensors.torch import load_file

        shipped = Path(__file__).resolve().parents[2] / "pretrained" / f"{run['init'].split(':')[1]}.safetensors"
        model.load_state_dict({k: v.float() for k, v in load_file(shipped).items()})
    elif run.get("init"):
        model.load_state_dict(torch.load(Path(args.out) / run["init"], map_location=device)["snaps"][-1]["state"])
    opt = torch.optim.Adam(model.parameters(), run["lr"])
    log, snaps, step, ema, next_snap = [], [], 0, None, 0.1
    start = time.time()
    load_s = start - loaded_at

    def snapshot():
        state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        snaps.append(dict(step=step, t=round(time.time() - start, 1), state=state))

    while (frac := (time.time() - start) / args.budget) < 1:
        lr = run["lr"] * min(1.0, frac / 0.02) * (0.04 + 0.96 * 0.5 * (1 + math.cos(math.pi * frac)))
        for group in opt.param_groups:
            group["lr"] = lr
        x = pool[torch.randint(0, pool.shape[0], (batch,), device=device)]
        flip = torch.rand(batch, device=device) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        loss = -model.log_prob(x).sum() / x.numel() / math.log(2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 50 == 0:
            ema = loss.item() if ema is None else 0.9 * ema + 0.1 * loss.item()
        if step % 500 == 0:
            log.append(dict(step=step, t=round(time.time() - start, 1), train_bpd=round(ema, 4), lr=lr))
        if frac >= next_snap:
            snapshot()
            next_snap += 0.1
    snapshot()
    torch.save(dict(name=name, config=config.to_dict(), run=run, snaps=snaps, log=log, steps=step, batch=batch,
                    load_s=load_s, crops=step * batch), Path(args.out) / f"{name}.pt")
    print(name, "steps", step, "train bpd", ema, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budget", type=float, required=True, help="seconds of training per run")
    ap.add_argument("--out", required=True)
    ap.add_argument("--photos", default="photos")
    ap.add_argument("--cifar", default="cifar8k.npy.xz")
    ap.add_argument("--runs", default="", help="comma-separated names (default: every run)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--worker", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.worker:
        train_one(args.worker, RUNS[args.worker], args)
        return
    names = [n for n in RUNS if n in args.runs.split(",")] if args.runs else list(RUNS)
    started = time.time()
    procs = {n: subprocess.Popen([sys.executable, __file__, *sys.argv[1:], "--worker", n],
                                 stdout=open(Path("/tmp") / f"{n}.log", "w"), stderr=subprocess.STDOUT,
                                 env={**os.environ, "OMP_NUM_THREADS": "1"}) for n in names}
    for p in procs.values():
        try:
            p.wait(timeout=max(1.0, args.budget + 100 - (time.time() - started)))
        except subprocess.TimeoutExpired:
            p.kill()
    summary = {n: (Path("/tmp") / f"{n}.log").read_text()[-2000:] for n in names}
    (out / "log.json").write_text(json.dumps(dict(logs=summary, wall=time.time() - started), indent=1))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
