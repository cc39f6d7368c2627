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

from . import container, stream, zoo
from .bitsback import GlowCodec
from .container import Group, Header
from .errors import FlowzipError, FormatError, ModelError
from .idf_codec import IDFCodec
from .image import Picture, pad_to_multiple, padded_size, read_image, tile_boxes

DEFAULT_TILE = 256
DEFAULT_BATCH = 4
STREAM_TILE = 64  # bits-back files: smaller tiles, so that few of them go to the seed model
STREAM_BATCH = 16


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
def _codec(name: str, device: torch.device) -> tuple[zoo.LoadedModel, IDFCodec | GlowCodec]:
    loaded = zoo.load_model(name)
    codec = GlowCodec if loaded.family == "glow" else IDFCodec
    return loaded, codec(loaded.model, device)


def num_tiles(height: int, width: int, tile: int) -> int:
    return len(tile_boxes(height, width, tile))


def _is_photo(picture: Picture, tile: int) -> bool:
    return min(picture.pixels.shape[:2]) >= tile


def _installed(table: dict[int, str]) -> bool:
    return bool(table) and all(map(zoo.installed, table.values()))


def integer_defaults(picture: Picture, tile: int | None = None) -> dict[int, str]:
    """The integer flows that code a picture's planes by default: for pictures at least a tile
    high and wide, those fine-tuned on photos where they are installed."""
    if not _is_photo(picture, tile or STREAM_TILE):
        return dict(zoo.DEFAULTS)
    return {**zoo.DEFAULTS, **{c: n for c, n in zoo.PHOTO_INTEGER_DEFAULTS.items() if zoo.installed(n)}}


def default_models(pictures: list[Picture], tile: int | None = None) -> list[dict[int, str]]:
    """Default model per number of coded channels, for each of the pictures coded together.
    Colour planes go to a bits-back model when all colour planes together fill more tiles than the
    seed model codes first: bits-back then pays for its start and makes smaller files, at about
    1.5x the time. Pictures at least a tile high and wide get the models fine-tuned on photos, the
    others (thumbnails) the general ones. Otherwise, and for gray and alpha planes, the integer flows."""
    tile = tile or STREAM_TILE
    integer = [integer_defaults(p, tile) for p in pictures]
    colour = [p.pixels.shape[2] >= 3 for p in pictures]
    colour_tiles = sum(num_tiles(p.pixels.shape[0], p.pixels.shape[1], tile) for p, c in zip(pictures, colour) if c)
    if colour_tiles <= stream.SEED_TILES or not _installed(zoo.BITS_BACK_DEFAULTS):
        return integer
    photo = zoo.PHOTO_DEFAULTS if _installed(zoo.PHOTO_DEFAULTS) else {}
    return [{**ints, **zoo.BITS_BACK_DEFAULTS, **(photo if _is_photo(p, tile) else {})}
            for ints, p in zip(integer, pictures)]


def plan_groups(mode: str, model: str | None = None, strict: bool = True,
                defaults: dict[int, str] | None = None) -> list[tuple[str, list[int]]]:
    """(model name, planes) per plane group: colour planes together, gray and alpha alone.
    ``model`` codes the groups it fits, ``defaults`` (by default ``zoo.DEFAULTS``) the rest;
    ``strict``: ``model`` must fit one of them."""
    planes = {"L": [[0]], "LA": [[0], [1]], "RGB": [[0, 1, 2]], "RGBA": [[0, 1, 2], [3]]}[mode]
    defaults = defaults or zoo.DEFAULTS
    chosen = zoo.load_model(model) if model else None
    groups = []
    for p in planes:
        if chosen is not None and chosen.channels == len(p):
            groups.append((model, p))
        else:
            groups.append((defaults[len(p)], p))
    if strict and chosen is not None and all(name != model for name, _ in groups):
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


def _check_tile(tile: int) -> None:
    if tile % 16 or not container.MIN_TILE <= tile <= container.MAX_TILE:
        raise FlowzipError(f"tile must be a multiple of 16 from {container.MIN_TILE} to {container.MAX_TILE}")


def uses_bits_back(picture: Picture, model: str | None, tile: int | None = None) -> bool:
    """Whether ``compress_picture`` codes this picture with a bits-back model (into a stream file)."""
    groups = plan_groups(picture.mode, model, defaults=default_models([picture], tile)[0])
    return any(zoo.load_model(name).family == "glow" for name, _ in groups)


def compress_picture(picture: Picture, model: str | None = None, *, tile: int | None = None,
                     batch: int | None = None, device=None, progress=None) -> tuple[bytes, Report]:
    """Picture -> (.fz bytes, Report). ``progress(n)`` is called as each n tiles are done.
    A bits-back model writes a stream file (version 2); an integer flow a tiled one (version 1).
    Without ``model``, ``default_models`` chooses."""
    if uses_bits_back(picture, model, tile):
        return compress_archive([("", picture)], model, tile=tile, batch=batch, device=device, progress=progress)
    tile, batch = tile or DEFAULT_TILE, batch or DEFAULT_BATCH
    _check_tile(tile)
    device = resolve_device(device)
    h, w, c = picture.pixels.shape
    header = Header(h, w, picture.mode, tile, [], zlib.crc32(picture.pixels.tobytes()),
                    metadata={k: v for k, v in picture.metadata.items()})
    all_payloads, est_bits = [], 0.0
    for name, planes in plan_groups(picture.mode, model, defaults=integer_defaults(picture)):  # integer flows only
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


def compress_archive(pictures: list[tuple[str, Picture]], model: str | None = None, *, tile: int | None = None,
                     batch: int | None = None, device=None, progress=None,
                     stats: dict | None = None) -> tuple[bytes, Report]:
    """Named pictures -> one stream file (.fz version 2) holding them all, and a Report.
    ``stats``: see ``stream.encode``."""
    if not pictures:
        raise FlowzipError("an archive needs at least one image")
    tile, batch = tile or STREAM_TILE, batch or STREAM_BATCH
    _check_tile(tile)
    if not 1 <= batch <= container.MAX_BATCH:
        raise FlowzipError(f"batch must be from 1 to {container.MAX_BATCH}")
    device = resolve_device(device)
    names: list[str] = []
    entries = []
    defaults = default_models([p for _, p in pictures], tile)
    for (name, picture), picture_defaults in zip(pictures, defaults):
        groups = []
        for model_name, planes in plan_groups(picture.mode, model, strict=len(pictures) == 1,
                                              defaults=picture_defaults):
            if model_name not in names:
                names.append(model_name)
            groups.append((names.index(model_name), planes))
        h, w, _ = picture.pixels.shape
        entries.append(container.Entry(name, h, w, picture.mode, zlib.crc32(picture.pixels.tobytes()), groups,
                                       dict(picture.metadata)))
    seed = None
    first = next((p for (_, p), e in zip(pictures, entries)
                  if any(zoo.load_model(names[m]).family == "glow" for m, _ in e.groups)), None)
    if first is not None:  # the seed codes the first tiles of the first picture that bits-back codes
        seed_model = integer_defaults(first, tile)[3]
        if seed_model not in names:
            names.append(seed_model)
        seed = names.index(seed_model)
    loaded = [_codec(n, device) for n in names]
    models = [container.Model(m.family, m.name, m.weights_id) for m, _ in loaded]
    header = container.StreamHeader(tile, batch, models, seed, entries)
    data, est_bits = stream.encode(header, [p.pixels for _, p in pictures], [c for _, c in loaded], progress,
                                   stats)
    return data, Report(len(data), est_bits, sum(p.pixels.size for _, p in pictures))


def compress(image, model: str | None = None, *, tile: int | None = None, batch: int | None = None,
             device=None) -> bytes:
    """Compress an image (path, PIL image, or uint8 array (H, W) / (H, W, C)) to .fz bytes."""
    return compress_picture(read_image(image), model, tile=tile, batch=batch, device=device)[0]


def _file_codec(name: str, weights: bytes, family: str, device, model: str | None):
    """The codec for a model a file names (``model``: an exported JSON config to use for it)."""
    if model is not None and zoo.load_model(model).name == name:
        name = model
    loaded, codec = _codec(name, device)
    if loaded.weights_id != weights:
        raise ModelError(f"this file needs model {loaded.name!r} with weights {weights.hex()}, "
                         f"but the installed weights are {loaded.weights_id.hex()}")
    if loaded.family != family:
        raise FormatError(f"corrupt file: model {loaded.name!r} is not of the {family} family")
    return loaded, codec


def decompress_archive(data: bytes, *, batch: int | None = None, device=None, model: str | None = None,
                       progress=None) -> list[tuple[str, Picture]]:
    """.fz bytes -> [(name, Picture)]: every image of a stream file, or the one of a tiled file."""
    if container.version_of(data) == container.VERSION:
        return [("", decompress_picture(data, batch=batch, device=device, model=model, progress=progress))]
    device = resolve_device(device)
    header, start = container.read_stream_header(data)
    loaded = [_file_codec(m.name, m.weights, m.codec, device, model) for m in header.models]
    codecs = [codec for _, codec in loaded]
    for e in header.entries:
        for m, planes in e.groups:
            if loaded[m][0].channels != len(planes):
                raise FormatError(f"corrupt file: model {loaded[m][0].name!r} cannot code {len(planes)} planes")
    if header.seed is not None and loaded[header.seed][0].family != "idf":
        raise FormatError("corrupt file: the seed model must be an integer flow")
    pictures = stream.decode(data, header, start, codecs, progress)
    return [(e.name, p) for e, p in zip(header.entries, pictures)]


def decompress_picture(data: bytes, *, batch: int | None = None, device=None,
                       model: str | None = None, progress=None) -> Picture:
    """.fz bytes -> Picture (pixels, mode and metadata), verified against the stored CRC.
    ``model`` may give the path of an exported model's JSON config that the file names."""
    if container.version_of(data) == container.STREAM_VERSION:
        items = decompress_archive(data, device=device, model=model, progress=progress)
        if len(items) != 1:
            raise FlowzipError(f"this file is an archive of {len(items)} images; decompress it into a folder")
        return items[0][1]
    device = resolve_device(device)
    batch = batch or DEFAULT_BATCH
    header, start = container.read_header(data)
    streams = container.split_payloads(data, header, start)
    out = np.empty((header.height, header.width, header.channels), np.uint8)
    boxes = tile_boxes(header.height, header.width, header.tile)
    for group, payloads in zip(header.groups, streams):
        if group.codec != "idf":
            raise FormatError("corrupt file: a tiled file can only hold integer-flow tiles")
        loaded, codec = _file_codec(group.model, group.weights, group.codec, device, model)
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


def decompress(data: bytes, *, batch: int | None = None, device=None) -> np.ndarray:
    """.fz bytes -> uint8 array: (H, W) for gray images, (H, W, C) otherwise."""
    pixels = decompress_picture(data, batch=batch, device=device).pixels
    return pixels[..., 0] if pixels.shape[2] == 1 else pixels
