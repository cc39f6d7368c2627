"""``exact.floor_div`` against Python's integer floor division, up to the bound it keeps."""

import numpy as np

from flowzip.exact import EXACT_LIMIT, floor_div
from flowzip.jit import kernel


@kernel
def _divide_all(a, b, out):
    for i in range(a.shape[0]):
        out[i] = floor_div(a[i], b[i])


def _check(a: np.ndarray, b: np.ndarray) -> None:
    out = np.zeros(len(a), np.int64)
    _divide_all(a.astype(np.int64), b.astype(np.int64), out)
    assert [int(v) for v in out] == [int(x) // int(y) for x, y in zip(a, b)]


def test_floor_div_is_integer_division_within_its_bound():
    rng = np.random.default_rng(0)
    top = EXACT_LIMIT - 1
    a = np.concatenate([rng.integers(-top, top, 20000), rng.integers(-2**20, 2**20, 20000),
                        [top, -top, top - 1, 0, 1, -1, 2**52 + 1, -(2**52 + 1)]])
    b = np.concatenate([rng.integers(1, 2**40, 10000), -rng.integers(1, 2**20, 10000), rng.integers(1, 64, 20000),
                        [1, 1, 3, 5, 7, 3, 3, 7]])
    _check(a, b)
    # quotients just below an integer, where a rounding would show: a = q * b - 1
    q, b = rng.integers(1, 2**20, 20000), rng.integers(2, 2**32, 20000)
    _check(q * b - 1, b)
    _check(-(q * b) + 1, b)
    big = rng.integers(2**40, 2**52, 5000)
    divisor = rng.integers(2, 2**12, 5000)
    _check((big // divisor) * divisor - 1, divisor)
