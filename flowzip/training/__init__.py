"""Training: the trainer (``trainer``), its data (``data``), and the recipes of the shipped models
(``recipes/NAME.json``: the config that produced model NAME)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from ..errors import FlowzipError


def recipes_dir() -> Path:
    return Path(str(resources.files("flowzip.training") / "recipes"))


def load_config(name_or_path: str | Path) -> tuple[dict, Path]:
    """A training config from a file, or the recipe of a shipped model by name (``flowzip train
    glow-photo-v3``). Returns it with the path it came from."""
    path = Path(name_or_path)
    if not path.is_file() and not str(name_or_path).endswith(".json"):
        path = recipes_dir() / f"{name_or_path}.json"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in recipes_dir().glob("*.json")))
        raise FlowzipError(f"{name_or_path}: no such config file or recipe (recipes: {known})")
    try:
        return json.loads(path.read_text()), path
    except (OSError, ValueError) as e:
        raise FlowzipError(f"{path}: not a readable training config ({e})") from None
