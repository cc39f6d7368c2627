"""The contract of an entropy stack: what every coder of this folder is, and what the codecs above
push onto (tests/checks.py ``check_stack`` runs it on each)."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class EntropyStack(Protocol):
    """An ANS stack of 32-bit words. ``push_*`` puts symbols on and the matching ``pop_*`` takes
    them off in the reverse order, leaving the stack exactly as it was before the pushes;
    ``words()`` is its whole state. Uniform symbols have power-of-two sizes up to 2**16; logistic
    ones are integers under the discretized logistics of ``tables`` (location ``mu_q`` in units
    of 2**-FRAC_BITS, scale index ``j``), escaping their window unless ``escape`` is off (values
    popped from a window, in bits-back coding)."""

    @classmethod
    def from_bytes(cls, data: bytes) -> "EntropyStack": ...

    def to_bytes(self) -> bytes: ...

    def words(self) -> np.ndarray: ...

    def num_bits(self) -> int: ...

    def is_empty(self) -> bool: ...

    def push_uniform(self, values: np.ndarray, sizes: np.ndarray) -> None: ...

    def pop_uniform(self, sizes: np.ndarray) -> np.ndarray: ...

    def push_logistic(self, values: np.ndarray, mu_q: np.ndarray, j: np.ndarray, escape: bool = True) -> None: ...

    def pop_logistic(self, mu_q: np.ndarray, j: np.ndarray, escape: bool = True) -> np.ndarray: ...
