"""compress(image) -> bytes and decompress(bytes) -> image: the one orchestrator.

An image is split into plane groups (RGB, or a single plane for gray and alpha), each coded by a
model made for that many channels. Each group is cut into tiles; tiles are padded to the model's
multiple by repeating edge pixels, batched by shape through the flow, and coded one ANS stream each.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from . import container, zoo
from .container import Group, Header
from .errors import FlowzipError, FormatError, ModelError
from .idf_codec import IDFCodec
from .image import Picture, pad_to_multiple, padded_size, read_image, tile_boxes

DEFAULT_TILE = 256
DEFAULT_BATCH = 4


@dataclass
class Report:
    """What compressing one image measured."""

    compressed_bytes: int
    estimated_bits: float
    subpixels: int

    @property
    def bpd(self) -> float:
        return 8 * self.compressed_bytes / self.subpixels

    @property
    def estimated_bpd(self) -> float:
        return self.estimated_bits / self.subpixels


def resolve_device(device: str | torch.device | None) -> torch.device:
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ModelError("--device cuda was asked for, but no CUDA GPU is available")
    return device


@lru_cache(maxsize=8)
def _codec(name: str, device: torch.device) -> tuple[zoo.LoadedModel, IDFCodec]:
    loaded = zoo.load_model(name)
    return loaded, IDFCodec(loaded.model, device)


def num_tiles(height: int, width: int, tile: int) -> int:
    return len(tile_boxes(height, width, tile))


def plan_groups(mode: str, model: str | None = None) -> list[tuple[str, list[int]]]:
    """(model name, planes) per plane group: colour planes together, gray and alpha alone."""
    planes = {"L": [[0]], "LA": [[0], [1]], "RGB": [[0, 1, 2]], "RGBA": [[0, 1, 2], [3]]}[mode]
    chosen = zoo.load_model(model) if model else None
    groups = []
    for p in planes:
        if chosen is not None and chosen.channels == len(p):
            groups.append((model, p))
        else:
            groups.append((zoo.DEFAULTS[len(p)], p))
    if chosen is not None and all(name != model for name, _ in groups):
        raise ModelError(f"model {chosen.name!r} codes {chosen.channels}-channel planes; "
                         f"a {mode} image has none")
    return groups


def _tiles_by_shape(planes: np.ndarray, tile: int, multiple: int):
    """Yield (shape, [(tile index, padded tile)]) for a (C, H, W) array."""
    by_shape = defaultdict(list)
    for k, (y0, y1, x0, x1) in enumerate(tile_boxes(planes.shape[1], planes.shape[2], tile)):
        block = pad_to_multiple(planes[:, y0:y1, x0:x1], multiple)
        by_shape[block.shape].append((k, block))
    return by_shape.items()


def compress_picture(picture: Picture, model: str | None = None, *, tile: int = DEFAULT_TILE,
                     batch: int = DEFAULT_BATCH, device=None, progress=None) -> tuple[bytes, Report]:
    """Picture -> (.fz bytes, Report). ``progress(n)`` is called as each n tiles are done."""
    if tile % 16 or not container.MIN_TILE <= tile <= container.MAX_TILE:
        raise FlowzipError(f"tile must be a multiple of 16 from {container.MIN_TILE} to {container.MAX_TILE}")
    device = resolve_device(device)
    h, w, c = picture.pixels.shape
    header = Header(h, w, picture.mode, tile, [], zlib.crc32(picture.pixels.tobytes()),
                    metadata={k: v for k, v in picture.metadata.items()})
    all_payloads, est_bits = [], 0.0
    for name, planes in plan_groups(picture.mode, model):
        loaded, codec = _codec(name, device)
        header.groups.append(Group(loaded.family, loaded.name, loaded.weights_id, planes))
        data = np.ascontiguousarray(picture.pixels[..., planes].transpose(2, 0, 1))
        payloads = [b""] * len(tile_boxes(h, w, tile))
        for _, items in _tiles_by_shape(data, tile, codec.multiple):
            for i in range(0, len(items), batch):
                chunk = items[i : i + batch]
                coded, bits = codec.encode(np.stack([block for _, block in chunk]))
                est_bits += bits
                for (k, _), p in zip(chunk, coded):
                    payloads[k] = p
                if progress:
                    progress(len(chunk))
        all_payloads.append(payloads)
    data = container.pack(header, all_payloads)
    return data, Report(len(data), est_bits, h * w * c)


def compress(image, model: str | None = None, *, tile: int = DEFAULT_TILE, batch: int = DEFAULT_BATCH,
             device=None) -> bytes:
    """Compress an image (path, PIL image, or uint8 array (H, W) / (H, W, C)) to .fz bytes."""
    return compress_picture(read_image(image), model, tile=tile, batch=batch, device=device)[0]


def decompress_picture(data: bytes, *, batch: int = DEFAULT_BATCH, device=None,
                       model: str | None = None, progress=None) -> Picture:
    """.fz bytes -> Picture (pixels, mode and metadata), verified against the stored CRC.
    ``model`` may give the path of an exported model's JSON config that the file names."""
    device = resolve_device(device)
    header, start = container.read_header(data)
    streams = container.split_payloads(data, header, start)
    out = np.empty((header.height, header.width, header.channels), np.uint8)
    boxes = tile_boxes(header.height, header.width, header.tile)
    for group, payloads in zip(header.groups, streams):
        name = group.model
        if model is not None and zoo.load_model(model).name == group.model:
            name = model
        loaded, codec = _codec(name, device)
        if loaded.weights_id != group.weights:
            raise ModelError(f"this file needs model {group.model!r} with weights {group.weights.hex()}, "
                             f"but the installed weights are {loaded.weights_id.hex()}")
        if loaded.channels != len(group.planes):
            raise FormatError(f"corrupt file: model {group.model!r} cannot code {len(group.planes)} planes")
        shapes = defaultdict(list)
        for k, (y0, y1, x0, x1) in enumerate(boxes):
            shapes[padded_size(y1 - y0, codec.multiple), padded_size(x1 - x0, codec.multiple)].append(k)
        for (th, tw), ks in shapes.items():
            for i in range(0, len(ks), batch):
                chunk = ks[i : i + batch]
                tiles = codec.decode([payloads[k] for k in chunk], len(group.planes), th, tw)
                for k, t in zip(chunk, tiles):
                    y0, y1, x0, x1 = boxes[k]
                    out[y0:y1, x0:x1, group.planes] = t[:, : y1 - y0, : x1 - x0].transpose(1, 2, 0)
                if progress:
                    progress(len(chunk))
    if zlib.crc32(out.tobytes()) != header.pixel_crc:
        raise FormatError("corrupt file: decoded pixels fail the checksum")
    return Picture(out, header.mode, dict(header.metadata))


def decompress(data: bytes, *, batch: int = DEFAULT_BATCH, device=None) -> np.ndarray:
    """.fz bytes -> uint8 array: (H, W) for gray images, (H, W, C) otherwise."""
    pixels = decompress_picture(data, batch=batch, device=device).pixels
    return pixels[..., 0] if pixels.shape[2] == 1 else pixels
