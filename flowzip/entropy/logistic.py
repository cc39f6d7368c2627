"""The logistic codec: integers under discretized logistics, pushed onto and popped off an ANS stack.

``push`` writes symbols so that the matching ``pop`` reads them back; the stack order means that a
sequence of pushes is undone by the pops in reverse order.
"""

from __future__ import annotations

import numpy as np

from ..errors import FlowzipError, FormatError
from . import tables

ESCAPE_BITS = 23  # escaped offsets beyond the window must be below 2**23
TABLE_ENTRIES = 2**20  # probability tables are built in chunks of about this many entries


def _chunks(idx: np.ndarray, radius: int) -> list[np.ndarray]:
    """Split a group so that no table exceeds TABLE_ENTRIES entries. The bitstream does not depend
    on the split: pushing chunks last-first equals pushing the whole group."""
    size = max(1, TABLE_ENTRIES // (2 * radius + 2))
    return [idx[i : i + size] for i in range(0, len(idx), size)]


class LogisticCodec:
    """Integers under discretized logistics with per-symbol integer parameters (``tables``).

    Symbols are grouped by window radius (a function of the scale); each group is one vectorized
    call of the ANS stack. A value outside its window is coded as the escape symbol followed by its
    sign, its bit length and its low bits (uniform).
    """

    @staticmethod
    def _groups(radius: np.ndarray) -> list[tuple[int, np.ndarray]]:
        return [(int(r), np.flatnonzero(radius == r)) for r in np.unique(radius)]

    @staticmethod
    def _masses(mu_q: np.ndarray, j: np.ndarray, r: int, escape: bool) -> np.ndarray:
        masses = tables.window_probabilities(mu_q, j, r)
        return masses if escape else np.ascontiguousarray(masses[:, :-1])

    def push(self, coder, values: np.ndarray, mu_q: np.ndarray, j: np.ndarray, escape: bool = True) -> None:
        """Push int64 ``values`` (flat) with parameters from ``tables.quantize``. Without ``escape``
        the distribution is the window alone (for values that were popped from it)."""
        offset = values - tables.centers(mu_q)
        radius = tables.scale_tables()[1][j]
        escaped = np.flatnonzero(np.abs(offset) > radius)
        symbols = offset + radius
        if len(escaped) and not escape:
            raise FormatError("corrupt file: a value lies outside its coding window")
        symbols[escaped] = 2 * radius[escaped] + 1
        if len(escaped):
            self._push_escapes(coder, offset[escaped], radius[escaped])
        for r, idx in reversed(self._groups(radius)):
            for chunk in reversed(_chunks(idx, r)):
                coder.push_categorical(symbols[chunk], self._masses(mu_q[chunk], j[chunk], r, escape))

    def pop(self, coder, mu_q: np.ndarray, j: np.ndarray, escape: bool = True) -> np.ndarray:
        """Pop as many values as there are parameters."""
        offset = np.empty(len(mu_q), np.int64)
        escape_flags = np.zeros(len(mu_q), bool)
        radius = tables.scale_tables()[1][j]
        for r, idx in self._groups(radius):
            for chunk in _chunks(idx, r):
                s = coder.pop_categorical(self._masses(mu_q[chunk], j[chunk], r, escape))
                offset[chunk] = s - r
                escape_flags[chunk] = s == 2 * r + 1
        escaped = np.flatnonzero(escape_flags)
        if len(escaped):
            offset[escaped] = self._pop_escapes(coder, radius[escaped])
        return offset + tables.centers(mu_q)

    @staticmethod
    def _push_escapes(coder, offset: np.ndarray, radius: np.ndarray) -> None:
        excess = np.abs(offset) - radius  # >= 1
        if excess.max() >= 2**ESCAPE_BITS:
            raise FlowzipError("this model cannot code the image: a latent lies too far from its prediction")
        nbits = np.floor(np.log2(excess)).astype(np.int64)  # exact for integers below 2**23
        low = excess - (1 << nbits)
        has_low = nbits > 0
        if has_low.any():
            coder.push_uniform(low[has_low], 1 << nbits[has_low])
        coder.push_uniform(nbits, np.full(len(nbits), ESCAPE_BITS))
        coder.push_uniform((offset < 0).astype(np.int64), np.full(len(nbits), 2))

    @staticmethod
    def _pop_escapes(coder, radius: np.ndarray) -> np.ndarray:
        n = len(radius)
        negative = coder.pop_uniform(np.full(n, 2)).astype(bool)
        nbits = coder.pop_uniform(np.full(n, ESCAPE_BITS))
        excess = np.ones(n, np.int64) << nbits
        has_low = nbits > 0
        if has_low.any():
            excess[has_low] += coder.pop_uniform(1 << nbits[has_low])
        if (excess >= 2**ESCAPE_BITS).any():
            raise FormatError("corrupt file: an escaped value is out of range")
        return np.where(negative, -(radius + excess), radius + excess)
