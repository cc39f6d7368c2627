"""The Glow's integer tables, shipped in ``tables.npz`` beside this module (built with ``decimal`` by
``scripts/tables/build.py``; a test builds them again and compares): ``exp(k * 2**-FRAC_BITS)`` in
units of ``2**-EXP_BITS``, and the thresholds that map a coupling network's raw output to its coded
log-scale without evaluating ``tanh``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from ..entropy.tables import FRAC_BITS
from ..files import read_tables

PATH = Path(__file__).with_name("tables.npz")
MAX_STEP = 2 << FRAC_BITS  # one bits-back scaling step moves at most 2 nats
EXP_BITS = 20  # exp(l * 2**-FRAC_BITS) as an integer in units of 2**-20


@lru_cache(maxsize=None)
def shipped() -> dict[str, np.ndarray]:
    """The shipped tables: ``exp`` and ``thresholds`` (int64)."""
    return read_tables(PATH, "flowzip's Glow tables")


def exp_table() -> np.ndarray:
    """round(2**20 * exp(k * 2**-FRAC_BITS)) for k = -MAX_STEP .. MAX_STEP."""
    return shipped()["exp"]


def coupling_thresholds() -> np.ndarray:
    """Integer thresholds on the fixed-point grid of a raw coupling output r: the coded log-scale
    round(2**FRAC_BITS * SCALE_LIMIT * tanh(r / SCALE_LIMIT)) is -m + (number of thresholds <= r),
    m = its maximum (``architecture.constants.SCALE_LIMIT``)."""
    return shipped()["thresholds"]


@lru_cache(maxsize=None)
def coupling_lookup() -> tuple[int, np.ndarray]:
    """(first, table): the coded log-scale of a raw coupling output r is
    ``table[clip(r - first, 0, len(table) - 1)]``, the thresholds' count for every r between the
    first threshold minus one and the last (one lookup instead of a search)."""
    thresholds = coupling_thresholds()
    first = int(thresholds[0]) - 1
    r = np.arange(first, int(thresholds[-1]) + 1)
    return first, (np.searchsorted(thresholds, r, side="right") - len(thresholds) // 2).astype(np.int64)
