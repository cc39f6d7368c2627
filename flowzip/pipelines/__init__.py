"""The pipelines: how the tiles of a file's images are laid out and coded, one per format version.
``tiled`` (version 1: a stream per tile), ``stacked`` (version 2: one stack) and ``chunked``
(versions 3 to 7: independent stacks, coded on worker processes, ``workers``; a compact file's
one); ``tiles`` cuts and pads, ``codecs`` builds a model's tile codec. Each follows
``protocols.Pipeline``; ``encode_file`` makes the file a plan describes, and ``encode`` and
``decode_each`` run the pipeline a header's version names, with the models themselves."""

from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np

from ..errors import FlowzipError
from ..fileformat import container
from ..fileformat.checks import check_pixels, pixel_crc
from ..fileformat.container import CHUNKED, COMPACT_VERSIONS, NUMBERED, SEALED_CHUNKS, STACKED, TILED, Header
from . import chunked, stacked, tiled
from .codecs import codec_for

PIPELINES = {TILED: tiled, STACKED: stacked} | dict.fromkeys((CHUNKED, SEALED_CHUNKS, *COMPACT_VERSIONS), chunked)


def header_for(plan, pictures: list, models: dict) -> Header:
    """The header of the file a plan (a ``policy.Plan``) makes of named pictures (``(name,
    Picture)`` each), ``models`` giving each model name of the plan its loaded model."""
    index = {name: i for i, name in enumerate(plan.models)}
    refs = [container.ModelRef(m.family.id, m.name, m.weights_id, m.adapter) for m in (models[n] for n in plan.models)]
    entries = [container.Entry(name, *p.pixels.shape[:2], p.mode, pixel_crc(p.pixels),
                               [(index[m], planes) for m, planes in groups], dict(p.metadata), p.bit_depth, tile=side)
               for (name, p), groups, side in zip(pictures, plan.groups, plan.tiles)]
    chunks = [container.Chunk(units, None if seed is None else index[seed]) for units, seed in plan.chunks]
    return Header(plan.layout, plan.tile, refs, entries, plan.batch, None if plan.seed is None else index[plan.seed],
                  chunks=chunks, coder=plan.coder)


def encode_file(plan, pictures: list, models: dict, device: str = "cpu", jobs: int | None = 1, progress=None,
                stats: dict | None = None, estimate: bool = False, known: list | None = None) -> tuple[bytes, float | None]:
    """The .fz bytes a plan makes of named pictures (``header_for``), and the models' estimate in
    bits (if ``estimate``); options as for ``encode``. Chunks of flowzip's rANS are written sealed:
    a small picture in one chunk compact, its shipped models named by number (version 6), others
    as version 7."""
    header = header_for(plan, pictures, models)
    if header.version == CHUNKED and header.coder == container.RANS_CODER:
        header.version = NUMBERED if container.fits_compact(header) else SEALED_CHUNKS
    payload, bits = encode(header, [p.pixels for _, p in pictures], [models[n] for n in plan.models], device, jobs,
                           progress, stats, estimate, known)
    return container.pack(header, payload), bits


def sampled_bits(plan, pictures: list, models: dict) -> float | None:
    """A cheap estimate of the bits a plan of one picture codes, from the codecs of its plane
    groups that can sample their cost (``sampled_bits``: the local prior); None where none can.
    The other groups (an alpha plane the classical coder codes) are not counted."""
    if len(pictures) != 1:
        return None
    pixels, total = pictures[0][1].pixels, None
    for name, planes in plan.groups[0]:
        codec = codec_for(models[name])
        if hasattr(codec, "sampled_bits"):
            tiles = np.ascontiguousarray(pixels[:, :, planes].transpose(2, 0, 1))[None]
            total = (total or 0.0) + codec.sampled_bits(tiles)
    return total


def encode(header: Header, images: list[np.ndarray], models: list, device: str = "cpu", jobs: int | None = 1,
           progress=None, stats: dict | None = None, estimate: bool = False,
           known: list | None = None) -> tuple[bytes, float | None]:
    """Images matching ``header.entries`` -> (payload, the models' estimate in bits if
    ``estimate``), with ``models[m]`` coding the header's model m; fills the header's lengths and
    CRCs. A chunked file's chunks are coded by ``jobs`` workers (0: one per core). ``known``: per
    image, a coding of its samples at hand (``protocols.TileCodec.push``; chunked files)."""
    if header.chunked:
        return chunked.encode_on_workers(header, images, models, device, jobs, progress, stats, estimate, known)
    codecs = [codec_for(m, device) for m in models]
    return PIPELINES[header.version].encode(header, images, codecs, progress, stats, estimate)


def decode_each(header: Header, payload, models: list, device: str = "cpu", only: Iterable[int] | None = None,
                jobs: int | None = 1, progress=None) -> Iterator[tuple[int, np.ndarray | FlowzipError]]:
    """``(index, pixels)`` of each image (``only``: these indices) as it is restored and checked
    against its pixel CRC, or ``(index, error)`` for one that cannot be (a damaged chunk, a failed
    checksum); the others go on. A chunked file decodes only the chunks holding the images wanted,
    on ``jobs`` workers; older files are one stream."""
    if header.chunked:
        images = chunked.decode_on_workers(header, payload, models, device, only, jobs, progress)
    else:
        codecs = [codec_for(m, device) for m in models]
        decoded = PIPELINES[header.version].decode(header, bytes(payload), codecs, progress)
        images = ((i, decoded[i]) for i in sorted(set(range(len(header.entries)) if only is None else only)))
    for i, pixels in images:
        yield i, pixels if isinstance(pixels, FlowzipError) else (check_pixels(header.entries[i], pixels) or pixels)


def num_units(header: Header) -> int:
    """How many progress steps coding or decoding a file with this header reports."""
    return PIPELINES[header.version].num_units(header)
