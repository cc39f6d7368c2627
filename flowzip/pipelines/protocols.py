"""The contracts of this floor: a tile codec (what each model family's codec is, ``families``),
and a pipeline (what ``tiled``, ``stacked`` and ``chunked`` are). tests/checks.py runs one check
of each on every implementation; a new family needs a codec that passes ``check_tile_codec``."""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np

from ..entropy.protocols import EntropyStack
from ..fileformat.container import Header


class TileCodec(Protocol):
    """Codes batches of equally shaped (C, H, W) tiles onto an entropy stack; ``pop`` undoes
    ``push`` exactly, leaving the stack as it found it. Built by its family from a loaded model
    and a device (``codecs.codec_for``)."""

    bits_back: bool  # takes bits from the stack before it gives any: a stack needs a seed to start
    multiple: int  # tiles are padded on the bottom and right to multiples of this
    # Optional: ``whole_pictures`` (True: planned as the classical coder, pictures whole in chunked
    # files) and ``entropy_stacks`` (the stack classes it codes on; every one when absent).

    def push(self, coder: EntropyStack, tiles: np.ndarray, estimate: bool = False, bits: int = 8,
             known: Sequence[bytes | None] | None = None) -> float | None:
        """Push a (B, C, H, W) batch of ``bits``-bit samples; returns the model's estimate of
        their size in bits when asked. ``known``: per tile, a coding of its samples already at hand
        (a PNG's own image data), which a codec that can use it may keep where it is smaller."""

    def pop(self, coder: EntropyStack, batch: int, channels: int, height: int, width: int,
            bits: int = 8) -> np.ndarray:
        """The ``batch`` tiles the matching ``push`` pushed, (B, C, H, W)."""


class StreamTileCodec(TileCodec, Protocol):
    """A codec that also codes each tile into a stream of its own (the tiled layout, version 1)."""

    def encode(self, tiles: np.ndarray, estimate: bool = False) -> tuple[list[bytes], float | None]: ...

    def decode(self, payloads: list[bytes], channels: int, height: int, width: int) -> np.ndarray: ...


class Pipeline(Protocol):
    """How a format version lays the tiles of a header's images out: ``decode`` undoes ``encode``
    (given codecs for the header's models), and both report ``num_units(header)`` progress steps."""

    def encode(self, header: Header, images: list[np.ndarray], codecs: list, progress=None,
               stats: dict | None = None, estimate: bool = False) -> tuple[bytes, float | None]: ...

    def decode(self, header: Header, payload: bytes, codecs: list, progress=None) -> list[np.ndarray]: ...

    def num_units(self, header: Header) -> int: ...
