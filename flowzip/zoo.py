"""The registry of pretrained models: stable names -> JSON config + safetensors weights.

A model is a pair of files in ``pretrained/`` (installed as ``flowzip.pretrained``): ``NAME.json``
(name, family, architecture, SHA-256 of the weights, training record, measured bpd) and the
weights file it names. A path to such a JSON file works wherever a name does, so freshly
exported models can be used before they are shipped.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .errors import FlowzipError, ModelError
from .models import build_model

DEFAULTS = {3: "idf-rgb-v2", 1: "idf-gray-v1"}  # default model per number of coded channels
# Colour planes that fill more tiles than the seed model codes default to the bits-back model,
# which makes smaller files there (see ``api.default_models``).
BITS_BACK_DEFAULTS = {3: "glow-rgb-v2"}
# Among those, pictures at least a tile high and wide (photos rather than thumbnails) default to
# the bits-back model fine-tuned on photos.
PHOTO_DEFAULTS = {3: "glow-photo-v3"}
# The integer flow fine-tuned on photos: the default for such pictures where no bits-back model
# codes them, and the seed model of a stream file whose first bits-back picture is one.
PHOTO_INTEGER_DEFAULTS = {3: "idf-photo-v2", 1: "idf-gray-photo-v1"}


@dataclass
class LoadedModel:
    name: str
    family: str
    channels: int
    sha256: str
    card: dict
    model: torch.nn.Module

    @property
    def weights_id(self) -> bytes:
        """The 4 bytes of the weights' hash that a .fz file records."""
        return bytes.fromhex(self.sha256[:8])


def pretrained_dir() -> Path:
    return Path(str(resources.files("flowzip.pretrained")))


def available() -> dict[str, dict]:
    """Name -> card, for every shipped model."""
    cards = {}
    for path in sorted(pretrained_dir().glob("*.json")):
        card = json.loads(path.read_text())
        cards[card["name"]] = card
    return cards


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _card_path(name_or_path: str) -> Path:
    if name_or_path.endswith(".json"):
        path = Path(name_or_path)
        if not path.is_file():
            raise ModelError(f"model config {name_or_path} not found")
        return path
    path = pretrained_dir() / f"{name_or_path}.json"
    if not path.is_file():
        known = ", ".join(available()) or "none installed"
        raise ModelError(f"unknown model {name_or_path!r} (known: {known})")
    return path


def installed(name: str) -> bool:
    """Whether ``name`` loads (shipped, or an exported config, with its weights)."""
    try:
        load_model(name)
        return True
    except FlowzipError:
        return False


@lru_cache(maxsize=8)
def load_model(name_or_path: str) -> LoadedModel:
    """Load a shipped model by name, or an exported one by the path of its JSON config."""
    card_path = _card_path(name_or_path)
    try:
        card = json.loads(card_path.read_text())
        weights = card_path.parent / card["weights"]
        family, config = card["family"], card["config"]
    except (OSError, ValueError, KeyError) as e:
        raise ModelError(f"model config {card_path} is invalid: {e}") from None
    if not weights.is_file():
        raise ModelError(f"weights of model {card['name']!r} are missing: {weights}")
    digest = file_sha256(weights)
    if digest != card.get("sha256"):
        raise ModelError(f"weights of model {card['name']!r} do not match their recorded hash "
                         f"(file {weights.name} is damaged or from another model)")
    model = build_model(family, config)
    try:
        model.load_state_dict(load_file(weights))
    except (RuntimeError, OSError) as e:
        raise ModelError(f"weights of model {card['name']!r} do not fit its config: {e}") from None
    model.eval().requires_grad_(False)
    return LoadedModel(card["name"], family, config.get("channels", 3), digest, card, model)


def export(model: torch.nn.Module, family: str, config: dict, name: str, out_dir: str | Path,
           card: dict | None = None) -> Path:
    """Write ``NAME.safetensors`` and ``NAME.json`` (with the model card) into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / f"{name}.safetensors"
    tensors = {k: v.detach().float().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(tensors, weights)
    umask = os.umask(0)
    os.umask(umask)
    weights.chmod(0o666 & ~umask)  # safetensors writes 0600; give it a normal file's permissions
    meta = {"name": name, "family": family, "config": config, "weights": weights.name,
            "sha256": file_sha256(weights), "size_bytes": weights.stat().st_size}
    meta.update(card or {})
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(meta, indent=2) + "\n")
    return path
