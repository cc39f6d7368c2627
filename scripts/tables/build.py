"""The integer tables flowzip codes with, built with Python's ``decimal`` (correctly rounded, so
identical on every machine), and written as the files the package ships:

- ``flowzip/entropy/tables.npz``: the logistic CDF (``cdf``) and, per log-scale index, the
  inverse scale, window radius and scale (``inv_scale``, ``radius``, ``scale``);
- ``flowzip/flows/tables.npz``: the Glow's ``exp`` table and its coupling ``thresholds``;
- ``flowzip/priors/tables.npz``: the local prior's mixture weights (``mixture_exp``).

    python scripts/tables/build.py            # write the files
    python scripts/tables/build.py --check    # build and compare with the shipped files

The runtime package only reads these files; tests/test_tables.py builds every table again and
compares. Any change to a table changes the bitstream and needs a new format version.
"""

from __future__ import annotations

import argparse
import decimal
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from flowzip.architecture.constants import SCALE_LIMIT  # noqa: E402
from flowzip.entropy import tables as entropy_tables  # noqa: E402
from flowzip.flows import tables as flow_tables  # noqa: E402
from flowzip.priors import kernels as prior_kernels  # noqa: E402
from flowzip.priors import tables as prior_tables  # noqa: E402


def compute_cdf_table() -> np.ndarray:
    """round(2**31 * sigmoid(i / 256 - 16)) for i = 0 .. 8192."""
    t = entropy_tables
    ctx = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)
    one, full = decimal.Decimal(1), decimal.Decimal(2**t.CDF_BITS)
    n = 2 * t.TABLE_RANGE * t.TABLE_STEPS
    values = []
    for i in range(n + 1):
        x = ctx.divide(decimal.Decimal(i - n // 2), t.TABLE_STEPS)
        sig = ctx.divide(one, ctx.add(one, ctx.exp(-x)))
        values.append(int(ctx.multiply(sig, full).to_integral_value(decimal.ROUND_HALF_EVEN)))
    return np.array(values, dtype=np.int64)


def compute_scale_tables() -> dict[str, np.ndarray]:
    """Per log-scale index j: inverse scale (units 2**-20), window radius, scale (float64)."""
    t = entropy_tables
    ctx = decimal.Context(prec=40)
    inv, radius, scale = [], [], []
    for j in range(t.NUM_SCALES):
        ls = (decimal.Decimal(t.LOG_SCALE_MIN) * t.LOG_SCALE_STEPS_PER_UNIT + j + decimal.Decimal("0.5")) / (
            t.LOG_SCALE_STEPS_PER_UNIT)
        s = ctx.exp(ls)
        inv.append(int(ctx.multiply(ctx.exp(-ls), 2**t.INV_SCALE_BITS).to_integral_value()))
        r = int(ctx.multiply(s, t.WINDOW_PER_SCALE).to_integral_value(decimal.ROUND_CEILING))
        radius.append(min(t.MAX_RADIUS, 1 << max(1, r - 1).bit_length()))
        scale.append(float(s))
    return {"inv_scale": np.array(inv, np.int64), "radius": np.array(radius, np.int64),
            "scale": np.array(scale, np.float64)}


def compute_exp_table() -> np.ndarray:
    """round(2**20 * exp(k * 2**-FRAC_BITS)) for k = -MAX_STEP .. MAX_STEP."""
    t = flow_tables
    ctx = decimal.Context(prec=34)
    one = 2**t.FRAC_BITS
    return np.array([int(ctx.multiply(ctx.exp(decimal.Decimal(k) / one), 2**t.EXP_BITS).to_integral_value())
                     for k in range(-t.MAX_STEP, t.MAX_STEP + 1)], np.int64)


def compute_mixture_exp_table() -> np.ndarray:
    """round(2**16 * exp(-d / 64)) for d = 0 .. 1024: the local prior's mixture weights."""
    k = prior_kernels
    ctx = decimal.Context(prec=34)
    return np.array([int(ctx.multiply(ctx.exp(-decimal.Decimal(d) / (1 << k.EXP_STEP_BITS)), 1 << k.WEIGHT_BITS)
                         .to_integral_value(decimal.ROUND_HALF_EVEN)) for d in range(k.EXP_LIMIT + 1)], np.int64)


def compute_coupling_thresholds(limit: float = SCALE_LIMIT) -> np.ndarray:
    """Integer thresholds on the fixed-point grid of a raw coupling output r: the coded log-scale
    round(2**FRAC_BITS * limit * tanh(r / limit)) is -m + (number of thresholds <= r)."""
    t = flow_tables
    ctx = decimal.Context(prec=34)
    one = 2**t.FRAC_BITS
    top = math.floor(limit * one)
    lim = decimal.Decimal(repr(limit))
    out = []
    for k in range(-top + 1, top + 1):
        y = (decimal.Decimal(k) - decimal.Decimal("0.5")) / (one * lim)  # tanh(r / limit) >= y
        r = lim * ctx.divide(ctx.ln(ctx.divide(1 + y, 1 - y)), 2)
        out.append(int(ctx.multiply(r, 2**t.FRAC_BITS).to_integral_value(decimal.ROUND_CEILING)))
    return np.array(out, np.int64)


def build() -> dict[Path, dict[str, np.ndarray]]:
    """Every shipped file and the tables it holds."""
    return {entropy_tables.PATH: {"cdf": compute_cdf_table(), **compute_scale_tables()},
            flow_tables.PATH: {"exp": compute_exp_table(), "thresholds": compute_coupling_thresholds()},
            prior_tables.PATH: {"mixture_exp": compute_mixture_exp_table()}}


def _stored(array: np.ndarray) -> np.ndarray:
    """Integers as int32 (all are below 2**31), floats as float64."""
    if array.dtype.kind == "f":
        return array.astype(np.float64)
    if np.abs(array).max() >= 2**31:
        raise ValueError("a table does not fit in int32")
    return array.astype(np.int32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the shipped files, write nothing")
    args = parser.parse_args()
    differ = []
    for path, arrays in build().items():
        if args.check:
            with np.load(path) as shipped:
                differ += [f"{path.name}:{k}" for k, v in arrays.items()
                           if k not in shipped.files or not np.array_equal(shipped[k], v)]
            continue
        np.savez_compressed(path, **{k: _stored(v) for k, v in arrays.items()})
        print(f"wrote {path} ({path.stat().st_size} bytes)")
    if differ:
        raise SystemExit(f"tables differ from the shipped ones: {', '.join(differ)}")
    if args.check:
        print("the shipped tables are those built")


if __name__ == "__main__":
    main()
