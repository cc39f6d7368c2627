"""What a decoder checks beyond the header's own bytes (``container``): that the models a file
names can code what the header asks of them, and that decoded pixels match their CRC."""

from __future__ import annotations

import zlib

import numpy as np

from ..errors import FormatError
from .container import TILED, Entry, Header


def pixel_crc(pixels: np.ndarray, start: int = 0) -> int:
    """CRC-32 of an image's samples, row-major H x W x C, 16-bit samples little-endian (``start``:
    the CRC of what came before them, to go on from)."""
    return zlib.crc32(pixels.astype("<u2").tobytes() if pixels.dtype.itemsize > 1 else pixels.tobytes(), start)


def check_pixels(entry: Entry, pixels: np.ndarray) -> FormatError | None:
    """The error of decoded pixels that fail the image's checksum, else None (a sealed file's
    checksums are checked as its stacks are decoded)."""
    if entry.pixel_crc is not None and pixel_crc(pixels) != entry.pixel_crc:
        return FormatError(f"corrupt file: decoded pixels of {entry.name or 'the image'} fail the checksum")
    return None


def check_models(header: Header, models: list) -> None:
    """The models a header names (loaded: ``channels``, ``name`` and ``family.bits_back`` each) can
    code its plane groups: as many planes as a model codes, classically coded planes only in a
    chunked file, bits-back neither in a tiled file nor as a seed."""
    for e in header.entries:
        for m, planes in e.groups:
            if models[m].channels and models[m].channels != len(planes):
                raise FormatError(f"corrupt file: model {models[m].name!r} cannot code {len(planes)} planes")
            if not header.chunked and not models[m].channels:
                raise FormatError("corrupt file: only a chunked file can hold classically coded planes")
            if header.version == TILED and models[m].family.bits_back:
                raise FormatError("corrupt file: a tiled file cannot hold bits-back tiles")
    seeds = [header.seed] + [c.seed for c in header.chunks]
    if any(seed is not None and models[seed].family.bits_back for seed in seeds):
        raise FormatError("corrupt file: the seed model must code directly, not with bits-back")
