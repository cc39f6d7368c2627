"""The chunked pipeline (.fz versions 3 and 7): independent stacks ("chunks"), each coded like a
stacked file but holding only its units (ranges of tiles of some images) and starting from its own
seed.

A chunk decodes without the others, so one image is restored by decoding its chunks only, chunks
are coded and decoded side by side by worker processes (``encode_on_workers``, ``decode_on_workers``:
each worker is sent a header of only the chunk's images, ``part``), and a damaged chunk (its CRC)
loses only the images it holds. A compact file (versions 4 to 6) is one chunk. Versions 5 to 7
seal each chunk's stack with the CRC of its tiles' pixels (``seal_of``; a compact file's one
tile is its picture), which a decoder holds again once it has popped the whole chunk.
"""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np

from typing import Iterable, Iterator

from ..errors import FlowzipError, FormatError
from ..fileformat import container
from ..fileformat.checks import pixel_crc
from ..fileformat.container import Header
from . import stacked, workers
from .codecs import codec_for
from .tiles import blank, boxes_of


def stack_class(coder: int):
    """The ANS stack that chunks of the header's ``coder`` are coded on (numba loads only for 2)."""
    if coder == 1:
        from ..entropy.ans import AnsStack

        return AnsStack
    from ..entropy.rans import RansStack

    return RansStack


def seal_of(header: Header, chunk: container.Chunk, images: list[np.ndarray]) -> int:
    """What a sealed chunk's stack starts from: the CRC-32 of its units' tiles' pixels, tile after
    tile (each as ``pixel_crc`` reads an image). A compact file's one tile is its whole picture, so
    there it is the picture's pixel CRC."""
    crc = 0
    for image, first, count in chunk.units:
        for y0, y1, x0, x1 in boxes_of(header, header.entries[image])[first : first + count]:
            crc = pixel_crc(images[image][y0:y1, x0:x1], crc)
    return crc


def stack_of(header: Header, chunk: container.Chunk, images: list[np.ndarray]):
    """What makes a chunk's stack: ``stack_class(header.coder)``, or in a sealed file (versions 5
    to 7) a ``SealedStack`` sealed with ``seal_of`` the chunk."""
    if header.version not in container.SEALED_VERSIONS:
        return stack_class(header.coder)
    from ..entropy.rans import SealedStack

    seal = seal_of(header, chunk, images)
    return lambda: SealedStack(seal=seal)


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
                 stats: dict | None = None, estimate: bool = False, known: list | None = None) -> tuple[bytes, float | None]:
    """One chunk's stack -> (its bytes, estimated bits or None); ``known`` as for
    ``stacked.encode_units``."""
    jobs = stacked.plan(header, codecs, chunk.units, chunk.seed)
    stack = stack_of(header, chunk, images)
    return stacked.encode_units(header, jobs, images, codecs, progress, stats, estimate, stack, known)


def decode(header: Header, payload: bytes, codecs: list, progress=None) -> list[np.ndarray]:
    """The inverse of ``encode``: every image of the file, (H, W, C) uint8."""
    out = [blank(e) for e in header.entries]
    for chunk, data in zip(header.chunks, container.chunk_payloads(header, payload)):
        decode_chunk(header, chunk, data, codecs, out, progress)
    return out


def decode_chunk(header: Header, chunk: container.Chunk, data: bytes, codecs: list, out: list, progress=None) -> None:
    """Decode one chunk's tiles into ``out`` (arrays for at least the images it holds); in a sealed
    file, checked against the stack's seal."""
    jobs = stacked.plan(header, codecs, chunk.units, chunk.seed)
    sealed = header.version in container.SEALED_VERSIONS
    container.check_chunk(chunk, data, sealed)
    if not sealed:
        stacked.decode_units(header, jobs, data, codecs, out, progress, stack_class(header.coder))
        return
    from ..entropy.rans import SealedStack

    seal = stacked.decode_units(header, jobs, data, codecs, out, progress, SealedStack).seal()
    if seal != seal_of(header, chunk, out):
        what = "the image" if len(header.entries) == 1 else "the chunk's images"
        raise FormatError(f"corrupt file: decoded pixels of {what} fail the checksum")


def part(header: Header, chunk: container.Chunk) -> tuple[Header, container.Chunk, list[int]]:
    """What a worker needs to code or decode one chunk alone: a header of only the images it
    holds (renumbered from 0), the chunk in those numbers, and the images' indices in ``header``.
    The chunk's stack is the same."""
    images = list(dict.fromkeys(i for i, _, _ in chunk.units))
    local = {image: k for k, image in enumerate(images)}
    sub = dataclasses.replace(header, entries=[header.entries[i] for i in images], chunks=[])
    return sub, dataclasses.replace(chunk, units=[(local[i], f, n) for i, f, n in chunk.units]), images


def _cpu_jobs(jobs: int | None, device: str) -> int | None:
    """Worker processes for chunks: none on a GPU (a forked process cannot use CUDA)."""
    return 1 if device.startswith("cuda") else jobs


def _encode_task(header: Header, chunk: container.Chunk, images: list[np.ndarray], models: list, device: str,
                 stats: dict | None, estimate: bool, known: list | None) -> tuple[bytes, float | None, dict | None]:
    """One chunk (of a ``part`` header) -> (bytes, estimated bits, stats): a worker's task."""
    data, bits = encode_chunk(header, chunk, images, [codec_for(m, device) for m in models], None, stats, estimate,
                              known)
    return data, bits, stats


def encode_on_workers(header: Header, images: list[np.ndarray], models: list, device: str, jobs: int | None = 1,
                      progress=None, stats: dict | None = None, estimate: bool = False,
                      known: list | None = None) -> tuple[bytes, float | None]:
    """``encode`` with the models themselves (each worker builds their codecs), the chunks coded
    by ``jobs`` workers (0: one per core; the bytes do not depend on it); fills each chunk's length
    and CRC, and ``stats`` with the sum of the chunks'. ``known`` as for ``stacked.encode_units``."""
    parts = [part(header, c) for c in header.chunks]
    tasks = ((sub, c, [images[i] for i in idx], models, device, None if stats is None else {}, estimate,
              None if known is None else [known[i] for i in idx]) for sub, c, idx in parts)
    payloads, est_bits = [b""] * len(parts), 0.0
    for k, result, error in workers.imap(_encode_task, tasks, _cpu_jobs(jobs, device), fail_fast=True):
        if error is not None:
            raise error
        payloads[k], bits, chunk_stats = result
        chunk = header.chunks[k]
        chunk.length, chunk.crc = len(payloads[k]), zlib.crc32(payloads[k])
        est_bits += bits or 0.0
        for kind, values in (chunk_stats or {}).items():
            into = stats.setdefault(kind, dict.fromkeys(values, 0))
            for key, value in values.items():
                into[key] += value
        if progress:
            progress(chunk_units(header, chunk))
    return b"".join(payloads), est_bits if estimate else None


def _decode_task(header: Header, chunk: container.Chunk, data: bytes, models: list, device: str) -> list:
    """One chunk (of a ``part`` header) -> its units' rows (``bands``): a worker's task."""
    out = [blank(e) for e in header.entries]
    decode_chunk(header, chunk, data, [codec_for(m, device) for m in models], out)
    return bands(header, chunk, out)


def decode_on_workers(header: Header, payload, models: list, device: str, only: Iterable[int] | None = None,
                      jobs: int | None = 1, progress=None) -> Iterator[tuple[int, np.ndarray | FlowzipError]]:
    """The images of a chunked file (``only``: these indices) as each is whole, decoding only the
    chunks that hold them, by ``jobs`` workers: ``(index, pixels)``, or ``(index, error)`` for an
    image that a damaged chunk holds (the others go on)."""
    holders = container.holders(header)
    wanted = sorted(set(range(len(header.entries)) if only is None else only))
    waiting = {i: len(holders[i]) for i in wanted}
    chosen = sorted({c for i in wanted for c in holders[i]})
    parts = [part(header, header.chunks[c]) for c in chosen]
    payloads = container.chunk_payloads(header, memoryview(payload))
    tasks = ((sub, c, bytes(payloads[chosen[k]]), models, device) for k, (sub, c, _) in enumerate(parts))
    pixels: dict[int, np.ndarray] = {}
    for k, result, error in workers.imap(_decode_task, tasks, _cpu_jobs(jobs, device)):
        sub, _, images = parts[k]
        if error is not None:
            reason = str(error) if isinstance(error, FlowzipError) else f"{type(error).__name__}: {error}"
            for i in images:
                if waiting.pop(i, None) is not None:
                    pixels.pop(i, None)
                    yield i, FormatError(f"{reason} (chunk {chosen[k]})")
            continue
        for local, first, count, band in result:
            i = images[local]
            if i not in waiting:
                continue
            e = header.entries[i]
            if first == 0 and count == container.num_tiles(e.height, e.width, header.tile_of(e)):
                pixels[i] = band
            else:
                place(sub, local, first, count, band, pixels.setdefault(i, blank(e)))
        for i in dict.fromkeys(images):
            if i in waiting:
                waiting[i] -= 1
                if not waiting[i]:
                    del waiting[i]
                    yield i, pixels.pop(i)
        if progress:
            progress(chunk_units(header, header.chunks[chosen[k]]))


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


def chunk_units(header: Header, chunk: container.Chunk) -> int:
    """Progress steps (tiles of plane groups) of one chunk."""
    return sum(n * len(header.entries[i].groups) for i, _, n in chunk.units)


def images_of(header: Header, chunks: list[int]) -> set[int]:
    """The images that some of the given chunks hold tiles of."""
    return {image for c in chunks for image, _, _ in header.chunks[c].units}


num_units = stacked.num_units
