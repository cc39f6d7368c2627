"""Reproduce a shipped model end to end from its recipe (flowzip/training/recipes/NAME.json).

A recipe may continue another recipe's run (``recipe.continues``: its checkpoint, optimizer state
included, is copied into the new run folder and resumed) and may start from another model's
weights (``train.init``). With ``--from-scratch`` every model an ``init`` names is reproduced
first too, exported into RUNS/models and used from there, so that nothing shipped is used;
otherwise the shipped weights of an ``init`` model are used. Run from the repository root with
../shared/data present:

    python scripts/train/reproduce.py glow-photo-v3 --runs runs/repro --from-scratch --dry-run
    python scripts/train/reproduce.py idf-gray-photo-v1 --runs runs/repro
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from flowzip.training import load_config

ROOT = Path(__file__).resolve().parents[2]


def steps(name: str, from_scratch: bool, done: list[str]) -> list[tuple[str, dict]]:
    """The recipes to run, dependencies first: (recipe name, config)."""
    if name in done:
        return []
    config, _ = load_config(name)
    out = []
    if "continues" in config.get("recipe", {}):
        out += steps(config["recipe"]["continues"], from_scratch, done)
    init = config.get("train", {}).get("init")
    if init and from_scratch:
        out += steps(init, from_scratch, done)
    done.append(name)
    return out + [(name, config)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="a recipe name, e.g. glow-photo-v3")
    ap.add_argument("--runs", type=Path, default=Path("runs/reproduce"), help="folder for the runs")
    ap.add_argument("--from-scratch", action="store_true", help="reproduce the models that inits name too")
    ap.add_argument("--steps", type=int, help="cap every stage at this many steps (a smoke test)")
    ap.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = ap.parse_args()
    models = args.runs / "models"

    def run(cmd: list[str]) -> None:
        print("+ " + shlex.join(cmd), flush=True)
        if not args.dry_run:
            subprocess.run(cmd, check=True)

    for name, config in steps(args.model, args.from_scratch, []):
        run_dir = args.runs / name
        train = config.setdefault("train", {})
        if args.from_scratch and train.get("init"):
            train["init"] = str(models / f"{train['init']}.json")
        if args.steps:
            train["steps"] = min(train.get("steps", args.steps), args.steps)
            train["stop_at"] = min(train.get("stop_at") or args.steps, args.steps)
            train.update(eval_every=args.steps, checkpoint_every=args.steps, warmup=min(train.get("warmup", 1), args.steps))
        resume = []
        if "continues" in config.get("recipe", {}):
            source = args.runs / config["recipe"]["continues"] / "checkpoint.pt"
            print(f"+ copy {source} -> {run_dir}/", flush=True)
            if not args.dry_run:
                run_dir.mkdir(parents=True, exist_ok=True)
                shutil.copy(source, run_dir / "checkpoint.pt")
            resume = ["--resume"]
        config_path = run_dir / "config.json"
        if not args.dry_run:
            run_dir.mkdir(parents=True, exist_ok=True)
            config_path.write_text(json.dumps(config, indent=2) + "\n")
        run([sys.executable, "-m", "flowzip.cli", "train", str(config_path), "--out", str(run_dir), "--device", "cpu",
             *resume])
        if ".stage" not in name:
            card = run_dir / "card.json"
            print(f"+ {sys.executable} {ROOT / 'scripts/cards/make_card.py'} {run_dir} > {card}", flush=True)
            if not args.dry_run:
                card.write_text(subprocess.run([sys.executable, str(ROOT / "scripts/cards/make_card.py"), str(run_dir)],
                                               check=True, capture_output=True, text=True).stdout)
            run([sys.executable, "-m", "flowzip.cli", "export", str(run_dir / "checkpoint.pt"), "--name", name,
                 "--out", str(models), "--card", str(card)])


if __name__ == "__main__":
    main()
