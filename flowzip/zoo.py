"""The registry of models: stable names -> JSON card + safetensors weights.

A model is a pair of files: ``NAME.json`` (name, family, architecture, SHA-256 of the weights,
training record, measured bpd) and the weights file it names. Names are looked up among the
shipped models (``flowzip/pretrained``, installed as ``flowzip.pretrained``) and then in the user
model folder, where ``flowzip export`` writes: ``$FLOWZIP_MODEL_DIR`` if set, else the platform's
data folder (``~/.local/share/flowzip/models`` on Linux). A path to a model's JSON file works
wherever a name does.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

from . import families
from .adapt import Adapter
from .errors import FormatError, ModelError
from .fileformat.container import ModelRef

MODEL_DIR_VARIABLE = "FLOWZIP_MODEL_DIR"


@dataclass(eq=False)  # compared and hashed by identity: one object per loaded model
class LoadedModel:
    """A model's card and weights (numpy: what coding needs); ``model`` builds the float model in
    torch on first use (training, estimates)."""

    name: str
    family: families.Family
    channels: int
    sha256: str
    card: dict
    config: dict
    weights: dict[str, np.ndarray]
    _model: object = None
    source: str = ""  # the name or card path it was loaded by
    adapter: bytes = b""  # the adapter (flowzip.adapt) whose changes ``weights`` hold
    weights_id: bytes = field(init=False)  # the 4 bytes of the weights' hash that a .fz file records

    def __post_init__(self):
        self.weights_id = bytes.fromhex(self.sha256[:8])

    def __reduce__(self):
        # sent to a worker process as a reference: the worker loads (or finds cached) the same model
        return _reload, (self.source or self.name, self.adapter)

    def with_weights(self, weights: dict[str, np.ndarray], adapter_bytes: bytes = b"") -> "LoadedModel":
        """This model (same name, weights id and card) with other weights: those of an adapter."""
        return LoadedModel(self.name, self.family, self.channels, self.sha256, self.card, self.config, weights,
                           source=self.source, adapter=adapter_bytes)

    @property
    def model(self):
        """The float model (a torch module, in eval mode, without gradients)."""
        if self._model is None:
            import torch

            model = self.family.build(self.config)
            try:
                model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in self.weights.items()})
            except RuntimeError as e:
                raise ModelError(f"weights of model {self.name!r} do not fit its config: {e}") from None
            self._model = model.eval().requires_grad_(False)
        return self._model


def from_torch(model, family: str, config: dict, name: str = "in-memory") -> LoadedModel:
    """A LoadedModel for a float model held in memory (tests, training), not from files."""
    weights = {k: v.detach().float().cpu().numpy() for k, v in model.state_dict().items()}
    return LoadedModel(name, families.by_name(family), config.get("channels", 3), "0" * 64, {}, config, weights,
                       model)


CLASSICAL = "classical-v1"  # the built-in classical coder, named in files like a model


@lru_cache(maxsize=None)
def _builtin(name: str) -> LoadedModel:
    """The coders without a model (no files): their version is in their name."""
    digest = hashlib.sha256(f"flowzip {name}".encode()).hexdigest()
    card = {"name": name, "family": "classical", "config": {}, "builtin": True, "installed_in": "built in",
            "sha256": digest}
    return LoadedModel(name, families.by_name("classical"), 0, digest, card, {}, {}, source=name)


def pretrained_dir() -> Path:
    """Where the shipped models are: the installed ``flowzip.pretrained``, or, run from a source
    checkout that was not installed (``PYTHONPATH=repo``), the checkout's ``pretrained/``."""
    try:
        return Path(str(resources.files("flowzip.pretrained")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "pretrained"


def user_dir() -> Path:
    """The user model folder: ``$FLOWZIP_MODEL_DIR``, else the platform's data folder."""
    if os.environ.get(MODEL_DIR_VARIABLE):
        return Path(os.environ[MODEL_DIR_VARIABLE]).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "flowzip" / "models"


def _cards(folder: Path) -> dict[str, Path]:
    """Name -> card path for the models in one folder (unreadable cards are left out)."""
    out = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            out[json.loads(path.read_text())["name"]] = path
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return out


def available() -> dict[str, dict]:
    """Name -> card, for every shipped model and then every user model (a shipped name wins);
    each card gets ``"installed_in"``: ``"shipped"`` or ``"user"``."""
    cards = {CLASSICAL: _builtin(CLASSICAL).card}
    for where, folder in (("shipped", pretrained_dir()), ("user", user_dir())):
        for name, path in _cards(folder).items():
            if name not in cards:
                cards[name] = {**json.loads(path.read_text()), "installed_in": where}
    return cards


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def how_to_install() -> str:
    return (f"put its .json and .safetensors files in {user_dir()} (or the folder ${MODEL_DIR_VARIABLE} "
            "names), or give the path of its .json file with --model")


def _card_path(name_or_path: str) -> Path:
    if name_or_path.endswith(".json"):
        path = Path(name_or_path)
        if not path.is_file():
            raise ModelError(f"model config {name_or_path} not found")
        return path
    for folder in (pretrained_dir(), user_dir()):
        path = folder / f"{name_or_path}.json"
        if path.is_file():
            return path
        found = _cards(folder).get(name_or_path)
        if found is not None:
            return found
    known = ", ".join(available()) or "none installed"
    raise ModelError(f"unknown model {name_or_path!r} (known: {known}); to use another model, {how_to_install()}")


def installed_names() -> frozenset[str]:
    """The names of the models there are files for (built in, shipped, or in the user folder: a
    card and the weights file it names), found without reading the weights: what a policy may
    plan with. A damaged weights file is still found here, and refused when it is loaded."""
    names = {CLASSICAL}
    for folder in (pretrained_dir(), user_dir()):
        for name, path in _cards(folder).items():
            try:
                if (path.parent / json.loads(path.read_text())["weights"]).is_file():
                    names.add(name)
            except (OSError, ValueError, KeyError, TypeError):
                continue
    return frozenset(names)


@lru_cache(maxsize=16)
def load_model(name_or_path: str) -> LoadedModel:
    """Load a model by name (built in, shipped or in the user folder), or by the path of its JSON
    config."""
    if name_or_path == CLASSICAL:
        return _builtin(name_or_path)
    card_path = _card_path(name_or_path)
    try:
        card = json.loads(card_path.read_text())
        weights = card_path.parent / card["weights"]
        family, config = families.by_name(card["family"]), card["config"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ModelError(f"model config {card_path} is invalid: {e}") from None
    if not weights.is_file():
        raise ModelError(f"weights of model {card['name']!r} are missing: {weights}")
    digest = file_sha256(weights)
    if digest != card.get("sha256"):
        raise ModelError(f"weights of model {card['name']!r} do not match their recorded hash "
                         f"(file {weights.name} is damaged or from another model)")
    try:
        tensors = load_file(weights)
    except (OSError, ValueError) as e:
        raise ModelError(f"weights of model {card['name']!r} cannot be read: {e}") from None
    return LoadedModel(card["name"], family, config.get("channels", 3), digest, card, config, tensors,
                       source=name_or_path)


def adapted(model: LoadedModel, adapter_bytes: bytes) -> LoadedModel:
    """A copy of ``model`` with an adapter's changes (``flowzip.adapt``) in its weights; same name
    and weights id, so that a file names the base model."""
    return model.with_weights(Adapter.from_bytes(adapter_bytes, model.weights).apply(model.weights), adapter_bytes)


def name_of(family_id: int, weights_id: bytes) -> str | None:
    """The installed model of a family whose weights' hash starts with ``weights_id`` (how a compact
    file names its models; shipped models first), from the cards alone; None if there is none."""
    family = families.by_id(family_id).name
    for name, card in available().items():
        if str(card.get("sha256", ""))[:8] == weights_id.hex() and card.get("family") == family:
            return name
    return None


def name_models(refs: list[ModelRef]) -> None:
    """Give the models a compact file names by their weights alone the names of the installed
    models they match (left empty where none does)."""
    for ref in refs:
        if not ref.name:
            ref.name = name_of(ref.family, ref.weights) or ""


def for_file(ref: ModelRef, override: LoadedModel | None = None) -> LoadedModel:
    """The installed model a file names (``override``: a model given for it, e.g. by the path of
    its card), checked against the file's family and weights hash, with the file's adapter applied.
    A compact file names a model by its weights alone (``name_of``)."""
    family = families.by_id(ref.family)
    if not ref.name:
        matches = override is not None and override.weights_id == ref.weights
        name = override.name if matches else name_of(ref.family, ref.weights)
        if name is None:
            raise ModelError(f"this file needs a model of the {family.name} family with weights "
                             f"{ref.weights.hex()}, which is not installed; {how_to_install()}")
        ref = ModelRef(ref.family, name, ref.weights, ref.adapter)
    if override is not None and override.name == ref.name:
        loaded = override
    else:
        try:
            loaded = load_model(ref.name)
        except ModelError:
            raise ModelError(f"this file needs model {ref.name!r} (weights {ref.weights.hex()}), which is not "
                             f"installed; {how_to_install()}") from None
    if loaded.weights_id != ref.weights:
        raise ModelError(f"this file needs model {loaded.name!r} with weights {ref.weights.hex()}, "
                         f"but the installed weights are {loaded.weights_id.hex()}")
    if loaded.family is not family:
        raise FormatError(f"corrupt file: model {loaded.name!r} is not of the {family.name} family")
    return adapted(loaded, ref.adapter) if ref.adapter else loaded


@lru_cache(maxsize=16)
def _reload(source: str, adapter_bytes: bytes) -> LoadedModel:
    """A model sent to a worker process: loaded again there, its adapter applied again."""
    base = load_model(source)
    return adapted(base, adapter_bytes) if adapter_bytes else base


def export(model, family: str, config: dict, name: str, out_dir: str | Path | None = None,
           card: dict | None = None) -> Path:
    """Write ``NAME.safetensors`` and ``NAME.json`` (with the model card) into ``out_dir``, by
    default the user model folder, where ``--model NAME`` and the decoder find them."""
    if out_dir is None:
        if name in _cards(pretrained_dir()):
            raise ModelError(f"{name!r} is the name of a shipped model; choose another name")
        out_dir = user_dir()
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ModelError(f"cannot create the model folder {out_dir}: {e.strerror or e}") from None
    from safetensors.torch import save_file

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
    load_model.cache_clear()  # a re-exported name must not come back from the cache
    return path
