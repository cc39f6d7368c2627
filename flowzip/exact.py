"""Exact integer arithmetic for compiled kernels, done in float64 where that is provably exact.

``floor_div(a, b)`` is ``a // b`` for integers with ``|a| < 2**53`` and ``0 < |b| < 2**53``: both
are exact float64 numbers, IEEE division rounds the quotient correctly, and the quotient cannot
round onto or across an integer (its distance to one is at least ``1 / |b|``, its rounding error
below ``|a / b| * 2**-53``). A float64 division takes a third of an int64 division's time; each
caller keeps to the bound (the tests check the function at both ends of it).
"""

from __future__ import annotations

import math

import numpy as np

from .jit import inline_kernel

EXACT_LIMIT = 2**53  # |a| below this: ``floor_div`` is exact


@inline_kernel
def floor_div(a, b):
    """``a // b`` (floor) for ``|a| < 2**53``, ``b != 0``."""
    return np.int64(math.floor(np.float64(a) / np.float64(b)))
