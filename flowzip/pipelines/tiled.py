"""The tiled pipeline (.fz version 1): one image whose tiles each have an ANS stream of their own.

Each plane group is cut into tiles (row-major), padded to the model's multiple by repeating edge
pixels, and coded in batches of equally shaped tiles; every tile's stream lengths go into the
header. Tiles decode independently, in any batch size (``Header.batch``: tiles per network pass,
chosen by the caller, not stored in the file).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ..fileformat.container import Header
from .tiles import blank, boxes_of, pad_to_multiple, padded_size

DEFAULT_BATCH = 4  # tiles per network pass when the caller does not say (not part of the file)


def _by_shape(boxes, multiple: int) -> dict[tuple[int, int], list[int]]:
    """Tile indices grouped by padded shape, in row-major order within each."""
    shapes = defaultdict(list)
    for k, (y0, y1, x0, x1) in enumerate(boxes):
        shapes[padded_size(y1 - y0, multiple), padded_size(x1 - x0, multiple)].append(k)
    return shapes


def encode(header: Header, images: list[np.ndarray], codecs: list, progress=None, stats: dict | None = None,
           estimate: bool = False) -> tuple[bytes, float | None]:
    """The one image (H, W, C) uint8 -> (payload, estimated bits if ``estimate``); fills
    ``header.lengths``."""
    (entry,), (pixels,) = header.entries, images
    batch = header.batch
    boxes = boxes_of(header, entry)
    header.lengths, streams, est_bits = [], [], 0.0
    for m, planes in entry.groups:
        codec = codecs[m]
        data = np.ascontiguousarray(pixels[..., planes].transpose(2, 0, 1))
        payloads = [b""] * len(boxes)
        for ks in _by_shape(boxes, codec.multiple).values():
            for i in range(0, len(ks), batch):
                chunk = ks[i : i + batch]
                tiles = np.stack([pad_to_multiple(data[:, y0:y1, x0:x1], codec.multiple)
                                  for y0, y1, x0, x1 in (boxes[k] for k in chunk)])
                coded, bits = codec.encode(tiles, estimate)
                est_bits += bits or 0.0
                for k, p in zip(chunk, coded):
                    payloads[k] = p
                if progress:
                    progress(len(chunk))
        header.lengths.append([len(p) for p in payloads])
        streams += payloads
    return b"".join(streams), est_bits if estimate else None


def decode(header: Header, payload: bytes, codecs: list, progress=None) -> list[np.ndarray]:
    """The inverse of ``encode``: [the image, (H, W, C) uint8]."""
    (entry,) = header.entries
    batch = header.batch
    out = blank(entry)
    boxes = boxes_of(header, entry)
    pos = 0
    for (m, planes), lengths in zip(entry.groups, header.lengths):
        codec = codecs[m]
        streams = []
        for n in lengths:
            streams.append(payload[pos : pos + n])
            pos += n
        for (th, tw), ks in _by_shape(boxes, codec.multiple).items():
            for i in range(0, len(ks), batch):
                chunk = ks[i : i + batch]
                tiles = codec.decode([streams[k] for k in chunk], len(planes), th, tw)
                for k, t in zip(chunk, tiles):
                    y0, y1, x0, x1 = boxes[k]
                    out[y0:y1, x0:x1, planes] = t[:, : y1 - y0, : x1 - x0].transpose(1, 2, 0)
                if progress:
                    progress(len(chunk))
    return [out]


def num_units(header: Header) -> int:
    """How many tiles ``encode`` and ``decode`` report progress for."""
    (entry,) = header.entries
    return len(boxes_of(header, entry)) * len(entry.groups)
