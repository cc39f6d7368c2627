"""The table of model families: everything that differs between the IDF and the Glow lives here.

A family ties together the float model (and its config) that training and estimates use, the exact
codec that codes with it, the id that a .fz file records, the label users see, and whether it is
coded directly or with bits-back. Nothing else in flowzip compares family names; another family
costs one entry in ``FAMILIES`` (its codec following ``pipelines.protocols.TileCodec``, which
tests/test_contracts.py checks with a tiny model of it) and a role in the ``Policy``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

from .errors import FormatError, ModelError


@dataclass(frozen=True)
class Family:
    name: str  # as written in model cards
    id: int  # as written in .fz files
    label: str
    model_class: str | None  # "module:Class" of the float model (torch: imported only to train or
    config_class: str | None  # estimate); None for a coder without a model
    codec_class: str  # "module:Class" of the exact codec (imported when first used: ``codec``)

    @property
    def codec(self) -> type:
        """The codec, built with (loaded model, device); ``codec.bits_back`` says how it codes."""
        return _import(self.codec_class)

    @property
    def bits_back(self) -> bool:
        """Whether the codec takes bits from the stack (it then needs a seed to start a file)."""
        return self.codec.bits_back

    @property
    def whole_pictures(self) -> bool:
        """Whether its codec codes pictures whole (or in large tiles), in chunked files only."""
        return getattr(self.codec, "whole_pictures", False)

    @property
    def title(self) -> str:
        return f"{self.name} ({self.label})"

    def build(self, config: dict):
        """A fresh float model (torch) from a config dict."""
        if self.model_class is None:
            raise ModelError(f"the {self.name} coder has no model to build or train")
        model = _import(self.model_class)
        return model(_import(self.config_class)(**config))


def _import(path: str):
    module, name = path.split(":")
    return getattr(import_module(module), name)


FAMILIES = [
    Family("idf", 1, "integer discrete flow, direct ANS", "flowzip.models.idf:IDF", "flowzip.models.idf:IDFConfig",
           "flowzip.flows.idf:IDFCodec"),
    Family("glow", 2, "local bits-back ANS", "flowzip.models.glow:Glow", "flowzip.models.glow:GlowConfig",
           "flowzip.flows.glow:GlowCodec"),
    Family("classical", 3, "context modelling, palette or deflate per tile, no model", None, None,
           "flowzip.classical.planes:PlanesCodec"),
    Family("local", 4, "learned local-context prior, direct ANS", "flowzip.models.localprior:LocalPrior",
           "flowzip.models.localprior:LocalPriorConfig", "flowzip.priors.codec:LocalCodec"),
    Family("guided", 5, "classical context modelling guided by a learned local prior",
           "flowzip.models.localprior:LocalPrior", "flowzip.models.localprior:LocalPriorConfig",
           "flowzip.priors.guided:GuidedCodec"),
]
_BY_NAME = {f.name: f for f in FAMILIES}
_BY_ID = {f.id: f for f in FAMILIES}


def by_name(name: str) -> Family:
    if name not in _BY_NAME:
        raise ModelError(f"unknown model family {name!r} (known: {', '.join(_BY_NAME)})")
    return _BY_NAME[name]


def by_id(family_id: int) -> Family:
    if family_id not in _BY_ID:
        raise FormatError(f"corrupt file: unknown codec {family_id}")
    return _BY_ID[family_id]
