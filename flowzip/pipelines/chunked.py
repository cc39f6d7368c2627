"""The chunked pipeline (.fz version 3): independent stacks ("chunks"), each coded like a stacked
file but holding only its units (ranges of tiles of some images) and starting from its own seed.

A chunk decodes without the others, so one image is restored by decoding its chunks only, chunks
can be coded in parallel, and a damaged chunk (its CRC) loses only the images it holds.
"""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np

from ..errors import FormatError
from ..fileformat import container
from ..fileformat.container import Header
from . import stacked
from .tiles import blank, boxes_of


def stack_class(coder: int):
    """The ANS stack that chunks of the header's ``coder`` are coded on (numba loads only for 2)."""
    if coder == 1:
        from ..entropy.ans import AnsStack

        return AnsStack
    from ..entropy.rans import RansStack

    return RansStack


def encode(header: Header, images: list[np.ndarray], codecs: list, progress=None, stats: dict | None = None,
           estimate: bool = False) -> tuple[bytes, float | None]:
    """Images matching ``header.entries`` -> (payload, estimated bits if ``estimate``); fills each
    chunk's length and CRC."""
    parts, est_bits = [], 0.0
    for chunk in header.chunks:
        data, bits = encode_chunk(header, chunk, images, codecs, progress, stats, estimate)
        chunk.length, chunk.crc = len(data), zlib.crc32(data)
        parts.append(data)
        est_bits += bits or 0.0
    return b"".join(parts), est_bits if estimate else None


def encode_chunk(header: Header, chunk: container.Chunk, images: list[np.ndarray], codecs: list, progress=None,
                 stats: dict | None = None, estimate: bool = False) -> tuple[bytes, float | None]:
    jobs = stacked.plan(header, codecs, chunk.units, chunk.seed)
    return stacked.encode_units(header, jobs, images, codecs, progress, stats, estimate, stack_class(header.coder))


def decode(header: Header, payload: bytes, codecs: list, progress=None) -> list[np.ndarray]:
    """The inverse of ``encode``: every image of the file, (H, W, C) uint8."""
    out = [blank(e) for e in header.entries]
    for chunk, data in zip(header.chunks, container.chunk_payloads(header, payload)):
        decode_chunk(header, chunk, data, codecs, out, progress)
    return out


def decode_chunk(header: Header, chunk: container.Chunk, data: bytes, codecs: list, out: list, progress=None) -> None:
    """Decode one chunk's tiles into ``out`` (arrays for at least the images it holds)."""
    container.check_chunk(chunk, data)
    jobs = stacked.plan(header, codecs, chunk.units, chunk.seed)
    stacked.decode_units(header, jobs, data, codecs, out, progress, stack_class(header.coder))


def part(header: Header, chunk: container.Chunk) -> tuple[Header, container.Chunk, list[int]]:
    """What a worker needs to code or decode one chunk alone: a header of only the images it
    holds (renumbered from 0), the chunk in those numbers, and the images' indices in ``header``.
    The chunk's stack is the same."""
    images = list(dict.fromkeys(i for i, _, _ in chunk.units))
    local = {image: k for k, image in enumerate(images)}
    sub = dataclasses.replace(header, entries=[header.entries[i] for i in images], chunks=[])
    return sub, dataclasses.replace(chunk, units=[(local[i], f, n) for i, f, n in chunk.units]), images


def bands(header: Header, chunk: container.Chunk, out: list[np.ndarray]) -> list[tuple]:
    """After ``decode_chunk``: per unit (image, first tile, tiles, the rows of ``out[image]``
    its tiles span), for ``place``."""
    result = []
    for image, first, count in chunk.units:
        e = header.entries[image]
        boxes = boxes_of(header, e)
        result.append((image, first, count, out[image][boxes[first][0] : boxes[first + count - 1][1]]))
    return result


def place(header: Header, image: int, first: int, count: int, band: np.ndarray, target: np.ndarray) -> None:
    """Copy a unit's tiles from its rows (``bands``) into the image ``target``."""
    e = header.entries[image]
    boxes = boxes_of(header, e)[first : first + count]
    y = boxes[0][0]
    for y0, y1, x0, x1 in boxes:
        target[y0:y1, x0:x1] = band[y0 - y : y1 - y, x0:x1]


def chunk_map(header: Header) -> list[list[int]]:
    """Per image, the chunks holding its tiles, in file order."""
    out: list[list[int]] = [[] for _ in header.entries]
    for c, chunk in enumerate(header.chunks):
        for image in dict.fromkeys(i for i, _, _ in chunk.units):
            out[image].append(c)
    return out


def chunk_units(header: Header, chunk: container.Chunk) -> int:
    """Progress steps (tiles of plane groups) of one chunk."""
    return sum(n * len(header.entries[i].groups) for i, _, n in chunk.units)


def images_of(header: Header, chunks: list[int]) -> set[int]:
    """The images that some of the given chunks hold tiles of."""
    return {image for c in chunks for image, _, _ in header.chunks[c].units}


def chunks_of(header: Header, images: set[int]) -> list[int]:
    """The chunks that hold tiles of the given images, in file order."""
    return [c for c, chunk in enumerate(header.chunks) if any(image in images for image, _, _ in chunk.units)]


num_units = stacked.num_units
