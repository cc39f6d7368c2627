"""Integer tables that take about a second to compute with ``decimal`` (correctly rounded, so
identical everywhere), shipped already computed in ``tables.npz`` so that a process does not pay
for them at start-up. The definitions stay in code (``tables``, ``glow``); a test recomputes each
and compares, and ``python -m flowzip.coding.precomputed`` writes the file anew."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

PATH = Path(__file__).with_name("tables.npz")


@lru_cache(maxsize=None)
def _shipped() -> dict[str, np.ndarray]:
    try:
        with np.load(PATH) as data:
            return {k: data[k].astype(np.int64) for k in data.files}
    except (OSError, ValueError):
        return {}


def table(name: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """The shipped table ``name``, or ``compute()`` where it is not shipped."""
    shipped = _shipped().get(name)
    return shipped if shipped is not None else compute()


def definitions() -> dict[str, Callable[[], np.ndarray]]:
    from . import glow, tables

    return {"cdf": tables.compute_cdf_table, "exp": glow.compute_exp_table,
            "thresholds": lambda: glow.compute_coupling_thresholds(glow.SCALE_LIMIT)}


if __name__ == "__main__":
    arrays = {name: compute() for name, compute in definitions().items()}
    assert all(np.abs(a).max() < 2**31 for a in arrays.values())
    np.savez_compressed(PATH, **{k: v.astype(np.int32) for k, v in arrays.items()})
    print(f"wrote {PATH} ({PATH.stat().st_size} bytes)")
