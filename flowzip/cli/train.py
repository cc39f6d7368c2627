"""``flowzip train`` and ``flowzip export``: a model trained from a recipe, and exported by name."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from ..pipelines.codecs import resolve_device
from .common import DEVICES, Command


def _recipes_help() -> str:
    from ..training import recipes_dir

    return "Recipes: " + ", ".join(sorted(p.stem for p in recipes_dir().glob("*.json")))


@click.command(cls=Command, epilog_text=_recipes_help)
@click.argument("config")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Run folder.")
@click.option("--resume", is_flag=True, help="Continue from the run folder's checkpoint.")
@click.option("--device", type=DEVICES, default="auto", show_default=True)
def train(config, out_dir, resume, device):
    """Train the model a JSON CONFIG describes: a file, or the recipe of a shipped model by name
    (e.g. `flowzip train glow-photo-v3 --out runs/g3`).

    A config has "family" ("idf" or "glow"), "model" (the architecture), "train" (steps, batch, lr,
    warmup, crop, init: a model to start from, ...) and "data" ("arrays": .npy/.npy.xz image arrays,
    "folders": photo folders, relative to the working folder); a recipe is an example of each."""
    from ..training import load_config
    from ..training.trainer import TrainConfig
    from ..training.trainer import train as run

    cfg, _ = load_config(config)
    steps = cfg.get("train", {}).get("stop_at") or cfg.get("train", {}).get("steps", TrainConfig.steps)
    device = resolve_device(device)
    if os.environ.get("RANK", "0") != "0":  # under torchrun, rank 0 alone reports
        run(cfg, out_dir, resume=resume, device=device, log=lambda line: None)
        return
    if not sys.stderr.isatty():  # a log: every record (each 50 steps), evaluations and resumes
        click.echo(f"flowzip: training {cfg.get('family')} for {steps} steps into {out_dir}", err=True)
        run(cfg, out_dir, resume=resume, device=device, log=lambda line: click.echo(f"flowzip: {line}", err=True))
        return

    def log(line: str):  # evaluations and resumes; the bar shows the rest, log.jsonl has all
        if "held_out" in line or "resumed" in line:
            click.echo(f"\n{line}", err=True)

    with click.progressbar(length=steps, label="training", file=sys.stderr, show_pos=True,
                           item_show_func=lambda status: status) as bar:
        run(cfg, out_dir, resume=resume, device=device, log=log,
            progress=lambda step, status: bar.update(1 if step else 0, status))


@click.command()
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="Stable model name, e.g. my-idf-v1.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path),
              help="Folder for the model's files [default: the user model folder, where --model NAME finds it].")
@click.option("--card", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON file with model-card fields to record (data, steps, hardware, measured bpd).")
def export(checkpoint, name, out_dir, card):
    """Export a training CHECKPOINT's EMA weights as a model usable by name."""
    from ..training.trainer import export_checkpoint

    path = export_checkpoint(checkpoint, name, out_dir, json.loads(card.read_text()) if card else None)
    click.echo(f"wrote {path}")


COMMANDS = [train, export]
