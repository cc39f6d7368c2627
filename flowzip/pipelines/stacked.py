"""The stacked pipeline (.fz version 2): one image, or an archive of many, coded onto one ANS stack.

Bits-back coding takes bits from the stack before it gives any, so its tiles cannot have streams
of their own. Here every tile of every image goes onto one stack, in a plan that the encoder and
the decoder compute alike from the header (``plan``): images in order, then their plane groups,
then tiles in row-major order; consecutive tiles of one model and one padded shape are coded
together as one batch. The decoder runs the plan backwards.

Initial bits: the first ``SEED_TILES`` tiles that a bits-back model would code are coded by the
seed model (an integer flow, which only pushes) instead, and a bits-back batch holds at most a
eighth as many sub-pixels as were coded before it. Every tile leaves 2.5 to 4 bits per sub-pixel
on the stack, and a batch takes up to about 18 bits per sub-pixel before the priors give them
back (8 for the dequantization noise, the log-determinants, then a scaling decodes before it
encodes), so the stack is not short. A shortfall is still decodable (the coder then reads zeros)
but costs its size: with a third instead of an eighth, a single Kodak image paid 0.77 bits per
sub-pixel for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import FormatError
from ..fileformat.container import Header
from ..entropy.ans import AnsStack
from .tiles import blank, boxes_of, pad_to_multiple, padded_size

SEED_TILES = 6  # tiles coded by the seed model before bits-back starts
GROWTH = 8  # a bits-back batch holds at most 1/GROWTH of the sub-pixels coded before it


@dataclass
class Job:
    """Tiles coded together: (image, plane group, box) each, all of one padded shape."""

    model: int
    shape: tuple[int, int, int]
    capacity: int
    seed: bool = False  # coded by the seed model in place of a bits-back model
    units: list[tuple[int, int, tuple[int, int, int, int]]] = field(default_factory=list)
    bits: int = 8  # bits per sample of its images


def all_units(header: Header) -> list[tuple[int, int, int]]:
    """(image, first tile, tiles) covering every image whole: a version 2 file's one stack."""
    return [(ei, 0, len(boxes_of(header, e))) for ei, e in enumerate(header.entries)]


def plan(header: Header, codecs: list, units: list[tuple[int, int, int]] | None = None,
         seed: int | None = None) -> list[Job]:
    """The coding order of one stack holding ``units`` (by default every image whole, with the
    header's seed): per unit, its plane groups, each its tiles in row-major order. ``codecs[m]``
    codes with model m (its ``multiple`` and ``bits_back``)."""
    if units is None:
        units, seed = all_units(header), header.seed
    jobs: list[Job] = []
    coded, seeds = 0, 0 if seed is None else SEED_TILES
    for ei, first, count in units:
        entry = header.entries[ei]
        boxes = boxes_of(header, entry)[first : first + count]
        for gi, (model, planes) in enumerate(entry.groups):
            tile_models = entry.tile_models.get(gi)
            for k, box in enumerate(boxes, first):
                m, is_seed = (model if tile_models is None else tile_models[k]), False
                if codecs[m].bits_back and seeds:
                    m, is_seed, seeds = seed, True, seeds - 1
                y0, y1, x0, x1 = box
                multiple = codecs[m].multiple
                shape = (len(planes), padded_size(y1 - y0, multiple), padded_size(x1 - x0, multiple))
                size = shape[0] * shape[1] * shape[2]
                job = jobs[-1] if jobs else None
                if (job is None or job.model != m or job.seed != is_seed or job.shape != shape
                        or job.bits != entry.bit_depth or len(job.units) >= job.capacity):
                    capacity = header.batch
                    if codecs[m].bits_back:
                        capacity = max(1, min(header.batch, coded // (GROWTH * size)))
                    job = Job(m, shape, capacity, is_seed, bits=entry.bit_depth)
                    jobs.append(job)
                job.units.append((ei, gi, box))
                coded += size
    return jobs


def encode(header: Header, images: list[np.ndarray], codecs: list, progress=None, stats: dict | None = None,
           estimate: bool = False) -> tuple[bytes, float | None]:
    """Images (H, W, C) uint8 matching ``header.entries`` -> (payload, the models' estimate in bits
    if ``estimate``). ``stats``, if given, gets per kind of job ("seed", or the coding model's
    family id): the stack's growth in bits, the estimate, sub-pixels and batches."""
    return encode_units(header, plan(header, codecs), images, codecs, progress, stats, estimate)


def encode_units(header: Header, jobs: list[Job], images: list[np.ndarray], codecs: list, progress=None,
                 stats: dict | None = None, estimate: bool = False, stack=AnsStack,
                 known: list | None = None) -> tuple[bytes, float | None]:
    """The planned ``jobs`` on a new ``stack`` -> (its bytes, estimated bits or None). ``known``:
    per image, a coding of all its samples at hand (``protocols.TileCodec.push``), handed to the
    codec of a tile that is the whole image."""
    coder = stack()
    est_bits = 0.0
    for job in jobs:
        bits_before = coder.num_bits()
        tiles, whole = [], []
        for ei, gi, (y0, y1, x0, x1) in job.units:
            planes = header.entries[ei].groups[gi][1]
            block = np.ascontiguousarray(images[ei][y0:y1, x0:x1, planes].transpose(2, 0, 1))
            tiles.append(pad_to_multiple(block, codecs[job.model].multiple))
            is_whole = (y1 - y0, x1 - x0, len(planes)) == images[ei].shape
            whole.append(known[ei] if known is not None and is_whole else None)
        batch = np.stack(tiles)
        bits = codecs[job.model].push(coder, batch, estimate, job.bits, whole if any(whole) else None)
        est_bits += bits or 0.0
        if stats is not None:
            kind = stats.setdefault("seed" if job.seed else header.models[job.model].family,
                                    {"bits": 0, "estimate": 0.0, "subpixels": 0, "batches": 0})
            kind["bits"] += coder.num_bits() - bits_before
            kind["estimate"] += bits or 0.0
            kind["subpixels"] += batch.size
            kind["batches"] += 1
        if progress:
            progress(len(job.units))
    return coder.to_bytes(), est_bits if estimate else None


def decode(header: Header, payload: bytes, codecs: list, progress=None) -> list[np.ndarray]:
    """The inverse of ``encode``: every image of the file, (H, W, C) uint8."""
    out = [blank(e) for e in header.entries]
    decode_units(header, plan(header, codecs), payload, codecs, out, progress)
    return out


def decode_units(header: Header, jobs: list[Job], payload: bytes, codecs: list, out: list[np.ndarray],
                 progress=None, stack=AnsStack):
    """The inverse of ``encode_units``: fills the planned tiles of the images in ``out``; returns
    the emptied stack."""
    coder = stack.from_bytes(payload)
    for job in reversed(jobs):
        tiles = codecs[job.model].pop(coder, len(job.units), *job.shape, bits=job.bits)
        for (ei, gi, (y0, y1, x0, x1)), t in zip(job.units, tiles):
            planes = header.entries[ei].groups[gi][1]
            out[ei][y0:y1, x0:x1, planes] = t[:, : y1 - y0, : x1 - x0].transpose(1, 2, 0)
        if progress:
            progress(len(job.units))
    if not coder.is_empty():
        raise FormatError("corrupt file: the coded stream has data left over after decoding")
    return coder


def num_units(header: Header) -> int:
    """How many tiles ``encode`` and ``decode`` report progress for."""
    return sum(len(boxes_of(header, e)) * len(e.groups) for e in header.entries)
