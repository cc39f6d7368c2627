"""The boundary to constriction: ANS coders and their conversion to and from bytes."""

from __future__ import annotations

import numpy as np
import constriction

from .errors import FormatError

AnsCoder = constriction.stream.stack.AnsCoder  # submodules are attributes, not importable

CATEGORICAL = constriction.stream.model.Categorical(perfect=False)
UNIFORM = constriction.stream.model.Uniform()


def new_coder() -> AnsCoder:
    return AnsCoder()


def coder_from_bytes(data: bytes) -> AnsCoder:
    if len(data) % 4:
        raise FormatError("corrupt file: a coded stream is not a whole number of 32-bit words")
    words = np.frombuffer(data, dtype="<u4").astype(np.uint32)
    if len(words) and words[-1] == 0:
        raise FormatError("corrupt file: a coded stream ends in a zero word")
    return AnsCoder(words)


def coder_to_bytes(coder: AnsCoder) -> bytes:
    return coder.get_compressed().astype("<u4").tobytes()
