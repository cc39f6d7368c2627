"""Ship a trained local prior: its weights and model card into ``pretrained/`` (or ``--out``).

    python scripts/train/export_local.py RUN.pt NAME --card CARD.json [--out DIR]

``RUN.pt``: a run of ``scripts/gpu/train_local.py`` (its last snapshot) or a checkpoint of
``scripts/train/local_cifar_cpu.py`` or ``local_photos_cpu.py``; the network's config comes with it. ``CARD.json``: the card's
fields (training sessions, data, held-out figures), merged into the card that ``zoo.export`` writes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from flowzip import zoo
    from flowzip.models.localprior import load_run

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run")
    ap.add_argument("name")
    ap.add_argument("--card", required=True)
    ap.add_argument("--out", default=str(ROOT / "pretrained"))
    a = ap.parse_args()
    model = load_run(a.run)
    card = json.loads(Path(a.card).read_text())
    print(zoo.export(model, "local", model.config.to_dict(), a.name, out_dir=a.out, card=card))


if __name__ == "__main__":
    main()
