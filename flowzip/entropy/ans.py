"""The boundary to constriction, the only module that imports it: an ANS stack of 32-bit words.

``push_*`` puts symbols on the stack and the matching ``pop_*`` takes them off in reverse order.
Categorical rows are integer masses held in float64 (constriction normalizes them to its 24-bit
precision); uniform symbols are integers below a per-symbol size.
"""

from __future__ import annotations

import numpy as np
import constriction

from ..errors import FormatError
from .logistic import LogisticCodec

_Coder = constriction.stream.stack.AnsCoder  # submodules are attributes, not importable
_CATEGORICAL = constriction.stream.model.Categorical(perfect=False)
_UNIFORM = constriction.stream.model.Uniform()
_LOGISTIC = LogisticCodec()  # the tables' discretized logistics, over categorical windows


class AnsStack:
    """An ANS stack (constriction's ``AnsCoder``)."""

    __slots__ = ("_coder",)

    def __init__(self, words: np.ndarray | None = None):
        self._coder = _Coder() if words is None else _Coder(words)

    @classmethod
    def from_bytes(cls, data: bytes) -> "AnsStack":
        if len(data) % 4:
            raise FormatError("corrupt file: a coded stream is not a whole number of 32-bit words")
        words = np.frombuffer(data, dtype="<u4").astype(np.uint32)
        if len(words) and words[-1] == 0:
            raise FormatError("corrupt file: a coded stream ends in a zero word")
        return cls(words)

    def to_bytes(self) -> bytes:
        return self._coder.get_compressed().astype("<u4").tobytes()

    def words(self) -> np.ndarray:
        """A copy of the compressed words (the stack's whole state)."""
        return self._coder.get_compressed().copy()

    def num_bits(self) -> int:
        return self._coder.num_bits()

    def is_empty(self) -> bool:
        return self._coder.is_empty()

    def push_categorical(self, symbols: np.ndarray, masses: np.ndarray) -> None:
        """Push int ``symbols``, each under its row of ``masses`` (2-D float64, C-contiguous)."""
        self._coder.encode_reverse(symbols.astype(np.int32), _CATEGORICAL, masses)

    def pop_categorical(self, masses: np.ndarray) -> np.ndarray:
        return self._coder.decode(_CATEGORICAL, masses).astype(np.int64)

    def push_uniform(self, values: np.ndarray, sizes: np.ndarray) -> None:
        """Push ``values[i]`` uniform in ``[0, sizes[i])`` (sizes up to 2**24)."""
        self._coder.encode_reverse(values.astype(np.int32), _UNIFORM, sizes.astype(np.int32))

    def pop_uniform(self, sizes: np.ndarray) -> np.ndarray:
        return self._coder.decode(_UNIFORM, sizes.astype(np.int32)).astype(np.int64)

    def push_logistic(self, values: np.ndarray, mu_q: np.ndarray, j: np.ndarray, escape: bool = True) -> None:
        """Push integers under the tables' discretized logistics (``logistic.LogisticCodec``)."""
        _LOGISTIC.push(self, values, mu_q, j, escape)

    def pop_logistic(self, mu_q: np.ndarray, j: np.ndarray, escape: bool = True) -> np.ndarray:
        return _LOGISTIC.pop(self, mu_q, j, escape)

