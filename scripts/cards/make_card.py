"""Model-card fields for a training run: data, hardware, wall time and the learning curve.

    python scripts/cards/make_card.py runs/idf-rgb > runs/idf-rgb/card.json
    python scripts/cards/make_card.py runs/a runs/b > card.json   # a run continued in another folder

A run that starts from a released model (``train.init``) names it in ``fine_tuned_from``; its
learning curve counts only the crops seen since (that model's card has the curve before).
"""

import json
import os
import platform
import sys
from pathlib import Path

import torch

from flowzip.training.data import downsample_factors
from flowzip.training.trainer import DataConfig, TrainConfig

runs = [Path(a) for a in sys.argv[1:]]
log = [json.loads(line) for run in runs for line in (run / "log.jsonl").read_text().splitlines()]
run = runs[-1]
config = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=False)["config"]
curve = [{"images_seen": r["images_seen"], **{k: round(v, 4) for k, v in r.items() if k.startswith("held_out")}}
         for r in log if any(k.startswith("held_out") for k in r)]
tcfg, dcfg = TrainConfig(**config["train"]), DataConfig(**config["data"])
held_out = f"{tcfg.held_out} CIFAR-10 train images kept out of training (never the test sets)"
if any("held_out_photos_bpd" in r for r in log):
    first = downsample_factors(dcfg.jpeg_downsample)[0]
    held_out += (f"; {tcfg.held_out_photos} whole photo files of the folders kept out of training, measured "
                 f"at their first scale (JPEG-origin ones reduced {first}x)")
card = {
    "data": {"train": config["data"], "held_out": held_out, "crop": config["train"]["crop"]},
    "hardware": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, torch "
                f"{torch.__version__}",
    "learning_curve": curve,
}
if config["train"].get("init"):
    card["fine_tuned_from"] = config["train"]["init"]
print(json.dumps(card, indent=2))
