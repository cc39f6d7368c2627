"""Float image models for training and estimates: they know nothing about coding.
``flowzip.families`` maps a family name to its model and config classes."""

from .glow import Glow, GlowConfig
from .idf import IDF, IDFConfig

__all__ = ["IDF", "IDFConfig", "Glow", "GlowConfig"]
