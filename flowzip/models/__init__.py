"""Lossless image models. Each family maps a config dict to a model."""

from __future__ import annotations

from .glow import Glow, GlowConfig
from .idf import IDF, IDFConfig

FAMILIES = {"idf": (IDF, IDFConfig), "glow": (Glow, GlowConfig)}


def build_model(family: str, config: dict):
    if family not in FAMILIES:
        raise ValueError(f"unknown model family {family!r}; known: {', '.join(FAMILIES)}")
    model_cls, config_cls = FAMILIES[family]
    return model_cls(config_cls(**config))
