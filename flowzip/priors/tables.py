"""The local prior's integer table, shipped in ``tables.npz`` beside this module (built with
``decimal`` by ``scripts/tables/build.py``; a test builds it again and compares): the mixture
weight of a component ``d / 64`` nats below the best, ``round(2**16 * exp(-d / 64))``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from ..files import read_tables

PATH = Path(__file__).with_name("tables.npz")


@lru_cache(maxsize=None)
def shipped() -> dict[str, np.ndarray]:
    return read_tables(PATH, "flowzip's local prior tables")


def exp_table() -> np.ndarray:
    """round(2**16 * exp(-d / 64)) for d = 0 .. 1024."""
    return shipped()["mixture_exp"]
