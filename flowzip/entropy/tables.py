"""Integer probability tables of the discretized logistic, identical on every machine.

The coder needs the encoder and the decoder to build bit-identical tables. Float ``exp`` may
differ in its last bit between CPUs and libraries, so no transcendental function is evaluated at
coding time: the logistic CDF comes from a table (built once with Python's ``decimal``, which is
correctly rounded everywhere) and linear interpolation in int64. Inputs are integers too: the
location ``mu_q`` on the fixed-point grid (units of 2**-FRAC_BITS) and a log-scale index ``j`` on a
grid of 1/LOG_SCALE_STEPS_PER_UNIT over the models' log-scale range.

The tables are built with ``decimal`` by ``scripts/tables/build.py`` and shipped in ``tables.npz``
beside this module (a test builds them again and compares); nothing here evaluates ``exp``.

Each symbol is coded in a window of ``2R + 1`` values around its rounded location, plus one escape
symbol for values outside; ``R`` grows with the scale so that escapes stay rare (about 1e-4).

A window's masses depend only on the scale index and on where the location sits inside its unit
(2**FRAC_BITS positions), so ``window_probabilities`` keeps them in tables, filled one scale at a time on
first use, and codes by looking rows up instead of evaluating the CDF again.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..files import read_tables

FRAC_BITS = 12  # THE fixed-point grid: every location and log-scale that chooses a probability is an
# integer in units of 2**-FRAC_BITS (the exact networks of ``flows.fixedpoint`` compute on this grid)
LOG_SCALE_MIN = -3.5  # the tables cover logistics of log-scales in this range; the models clamp
LOG_SCALE_MAX = 6.5  # their predicted log-scales to it (``architecture.constants``)
LOG_SCALE_STEPS_PER_UNIT = 32  # the coder's log-scale grid
CDF_BITS = 31  # CDF values are integers in [0, 2**CDF_BITS]
TABLE_STEPS = 256  # table entries per unit of the logistic's argument
TABLE_RANGE = 16  # the table covers arguments in [-16, 16]
INV_SCALE_BITS = 20  # inverse scales are integers in units of 2**-20
NUM_SCALES = (LOG_SCALE_MAX - LOG_SCALE_MIN) * LOG_SCALE_STEPS_PER_UNIT
WINDOW_PER_SCALE = 10  # window radius ~ 10 scales: escape mass 2*sigmoid(-10) ~ 9e-5
MAX_RADIUS = 128
CACHED_RADIUS = 64  # windows up to this radius are looked up (a scale's table: 2**FRAC_BITS x (2R + 2) uint32)
_SHIFT = FRAC_BITS + INV_SCALE_BITS - 8  # 8 = log2(TABLE_STEPS)
INTERPOLATION_SHIFT = _SHIFT  # the fraction bits of the CDF table's interpolation (``rans`` kernels)
assert NUM_SCALES == int(NUM_SCALES) and TABLE_STEPS == 2**8
NUM_SCALES = int(NUM_SCALES)


PATH = Path(__file__).with_name("tables.npz")


@lru_cache(maxsize=None)
def shipped() -> dict[str, np.ndarray]:
    """The shipped tables: ``cdf``, ``inv_scale``, ``radius`` (int64) and ``scale`` (float64)."""
    return read_tables(PATH, "flowzip's probability tables")


def cdf_table() -> np.ndarray:
    """round(2**31 * sigmoid(i / 256 - 16)) for i = 0 .. 8192, as int64."""
    return shipped()["cdf"]


@lru_cache(maxsize=None)
def scale_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per log-scale index j (the centre of its bin, ``LOG_SCALE_MIN + (j + 1/2) / 32``): inverse
    scale (int64, units 2**-20), window radius R (int64, the power of two at or above 10 scales,
    2 .. 128), and the scale itself (float64, for estimates only)."""
    tables = shipped()
    return tables["inv_scale"], tables["radius"], tables["scale"]


def quantize(mu: np.ndarray, log_scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float64 parameters on the fixed-point grid -> (mu_q int64, scale index int64).
    Exact for inputs on the fixed-point grid, which the fixed-point networks produce."""
    mu_q = np.rint(mu * 2.0**FRAC_BITS).astype(np.int64)
    ls_q = np.rint(log_scale * 2.0**FRAC_BITS).astype(np.int64)
    step = 2**FRAC_BITS // LOG_SCALE_STEPS_PER_UNIT
    j = (ls_q - int(LOG_SCALE_MIN * 2**FRAC_BITS)) // step
    return mu_q, np.clip(j, 0, NUM_SCALES - 1)


def centers(mu_q: np.ndarray) -> np.ndarray:
    """Window centres: mu rounded half up."""
    return (mu_q + 2 ** (FRAC_BITS - 1)) >> FRAC_BITS


def _cdf(n: np.ndarray, inv_scale: np.ndarray) -> np.ndarray:
    """2**31 * sigmoid(n * 2**-FRAC_BITS / s), by table and linear interpolation, for int64 n."""
    table = cdf_table()
    last = len(table) - 1
    pos = n * inv_scale + (TABLE_RANGE * TABLE_STEPS << _SHIFT)
    idx = pos >> _SHIFT
    frac = pos & ((1 << _SHIFT) - 1)
    inside = np.clip(idx, 0, last - 1)
    lo = table[inside]
    value = lo + (((table[inside + 1] - lo) * frac) >> _SHIFT)
    value = np.where(idx < 0, 0, value)
    return np.where(idx >= last, 1 << CDF_BITS, value)


def window_masses(mu_q: np.ndarray, j: np.ndarray, radius: int) -> np.ndarray:
    """Integer masses (n, 2R + 2): the window's 2R + 1 values around each centre, then escape."""
    inv_scale = scale_tables()[0][j][:, None]
    c = centers(mu_q)[:, None]
    k = np.arange(-radius, radius + 2, dtype=np.int64)[None, :]
    # boundary between c + k - 1 and c + k, relative to mu, on the fixed-point grid
    n = ((c + k) << FRAC_BITS) - (1 << (FRAC_BITS - 1)) - mu_q[:, None]
    cdf = _cdf(n, inv_scale)
    masses = np.empty((len(mu_q), 2 * radius + 2), np.int64)
    masses[:, :-1] = np.diff(cdf, axis=1)
    masses[:, -1] = cdf[:, 0] + ((1 << CDF_BITS) - cdf[:, -1])
    return masses


class _WindowTables:
    """Masses of every window of one radius, indexed by the scale index and by the location's
    position inside its unit; each scale's part is filled on first use. Masses are below 2**32, so
    they are kept as uint32 (half the memory of the float64 the coder takes)."""

    def __init__(self, radius: int):
        js = np.flatnonzero(scale_tables()[1] == radius)
        self.radius, self.first = radius, int(js[0]) if len(js) else 0
        self.table = np.empty((len(js), 1 << FRAC_BITS, 2 * radius + 2), np.uint32)
        self.filled = np.zeros(len(js), bool)

    def covers(self, j: np.ndarray) -> bool:
        return bool(((j >= self.first) & (j < self.first + len(self.filled))).all())

    def lookup(self, mu_q: np.ndarray, j: np.ndarray) -> np.ndarray:
        rows = j - self.first
        for row in np.unique(rows[~self.filled[rows]]):
            self._fill(int(row))
        position = mu_q - (centers(mu_q) << FRAC_BITS) + (1 << (FRAC_BITS - 1))  # 0 .. 2**FRAC_BITS - 1
        return self.table[rows, position].astype(np.float64)

    def _fill(self, row: int) -> None:
        mu_q = np.arange(1 << FRAC_BITS, dtype=np.int64) - (1 << (FRAC_BITS - 1))
        j = np.full(len(mu_q), self.first + row, np.int64)
        self.table[row] = window_masses(mu_q, j, self.radius)
        self.filled[row] = True


@lru_cache(maxsize=None)
def _window_tables(radius: int) -> _WindowTables:
    return _WindowTables(radius)


def window_probabilities(mu_q: np.ndarray, j: np.ndarray, radius: int) -> np.ndarray:
    """``window_masses`` as float64 for the coder: the same integers, looked up in tables for
    radii up to CACHED_RADIUS (``radius`` is the window radius of every ``j``)."""
    if radius <= CACHED_RADIUS:
        tables = _window_tables(radius)
        if tables.covers(j):
            return tables.lookup(mu_q, j)
    return window_masses(mu_q, j, radius).astype(np.float64)


def bits_np(z: np.ndarray, mu: np.ndarray, s: np.ndarray) -> float:
    """Total information content in bits of integers ``z`` under discretized logistics (float64,
    for estimates and reports)."""
    inv_s = 1.0 / s
    upper = (z + 0.5 - mu) * inv_s
    lower = (z - 0.5 - mu) * inv_s
    logp = -np.logaddexp(0.0, -upper) - np.logaddexp(0.0, lower) + np.log(-np.expm1(-inv_s))
    return float(-logp.sum() / math.log(2.0))
