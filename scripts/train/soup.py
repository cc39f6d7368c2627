"""Average the weights of local-prior runs trained from one start (a "model soup"): one checkpoint
that ``load_run`` and ``export_local.py`` read.

    python scripts/train/soup.py A.pt B.pt [...] --out SOUP.pt

Each input is a checkpoint of ``local_cifar_cpu.py`` or ``local_photos_cpu.py`` (OUT.pt or
OUT.avg.pt) with the same network; the soup's held-out bpd is that of a run of no steps:
``python scripts/train/local_cifar_cpu.py --init SOUP.pt --out EVAL --steps 0`` (EVAL.jsonl).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> None:
    import torch

    from flowzip.models.localprior import load_run

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    models = [load_run(r) for r in a.runs]
    if len({repr(m.config) for m in models}) != 1:
        sys.exit("soup.py: the runs' networks differ: " + ", ".join(a.runs))
    states = [m.state_dict() for m in models]
    soup = {k: sum(s[k] for s in states) / len(states) for k in states[0]}
    torch.save(dict(config=models[0].config.to_dict(), state=soup), a.out)
    print(a.out)


if __name__ == "__main__":
    main()
