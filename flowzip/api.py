"""compress(image) -> bytes and decompress(bytes) -> image: parse once, ask the policy, run a pipeline.

Encoding: the policy (``flowzip.policy``) plans the file (layout, models per plane group, tile,
batch, seed); the pipeline of that layout (``coding.tiled`` or ``coding.stacked``) codes the
images; the container packs header and payload. Decoding reads the header once, loads and checks
the models it names, runs the same pipeline backwards, and checks every image's pixel CRC here.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import os

import numpy as np

from . import families, policy, zoo
from .coding import chunked, stacked, tiled
from .errors import FlowzipError, FormatError, ModelError
from .fileformat import container
from .coding.tiles import pad_to_multiple, tile_boxes
from .image import Picture, read_image

PIPELINES = {container.TILED: tiled, container.STACKED: stacked, container.CHUNKED: chunked}


@dataclass
class Report:
    """What compressing measured."""

    compressed_bytes: int
    estimated_bits: float | None  # the models' estimate, when asked for
    subpixels: int

    @property
    def bpd(self) -> float:
        return 8 * self.compressed_bytes / self.subpixels

    @property
    def estimated_bpd(self) -> float | None:
        return None if self.estimated_bits is None else self.estimated_bits / self.subpixels


def _cuda_available() -> bool:
    """Whether torch sees a CUDA GPU; torch is imported only where an NVIDIA driver is present."""
    if not os.path.exists("/proc/driver/nvidia/version") and "CUDA_VISIBLE_DEVICES" not in os.environ:
        return False
    import torch

    return torch.cuda.is_available()


def resolve_device(device=None) -> str:
    """"auto" (or None): a CUDA GPU if there is one, else the CPU; "cpu"; "cuda" or "cuda:N";
    "torch:cpu" runs the GPU's code path on the CPU (for checks)."""
    device = str(device or "auto")
    if device == "torch:cpu":
        return device
    if device == "auto":
        return "cuda" if _cuda_available() else "cpu"
    if device.startswith("cuda") and not _cuda_available():
        raise ModelError("--device cuda was asked for, but no CUDA GPU is available")
    if device != "cpu" and not device.startswith("cuda"):
        raise ModelError(f"unknown device {device!r} (cpu, cuda, or auto)")
    return device


def load(model) -> zoo.LoadedModel | None:
    """A model argument (name, JSON path, or loaded model) -> the loaded model."""
    if model is None or isinstance(model, zoo.LoadedModel):
        return model
    if isinstance(model, str):
        return zoo.load_model(model)
    raise ModelError(f"a model is a name, the path of a model's .json file, or flowzip.load_model(...), "
                     f"not a {type(model).__name__}")


@lru_cache(maxsize=8)
def _codec(model: zoo.LoadedModel, device: str):
    return model.family.codec(model, device)


def plan(pictures: list[Picture], model=None, *, archive: bool = False, tile: int | None = None,
         batch: int | None = None, chunk: int | None = None, effort: int | None = None) -> policy.Plan:
    """How ``encode`` would code these pictures (the active policy's plan)."""
    return policy.ACTIVE.plan(pictures, load(model), archive=archive, tile=tile, batch=batch, chunk=chunk,
                              effort=effort)


def encode(pictures: list[tuple[str, Picture]], model=None, *, archive: bool = False, tile: int | None = None,
           batch: int | None = None, chunk: int | None = None, effort: int | None = None, device=None,
           progress=None, stats: dict | None = None, estimate: bool = False) -> tuple[bytes, Report]:
    """Named pictures -> (.fz bytes, Report), laid out as the policy plans (``Policy.plan``):
    ``chunk`` overrides its sub-pixels per chunk (0: one stream, version 2), ``effort`` its level
    (1 .. 9: ``policy.EFFORTS``). ``progress(n)`` is called as each n tiles are done; ``stats``:
    see ``coding.stacked.encode``; ``estimate``: also compute the models' estimate of the size
    (for the Glow, a pass of the float model)."""
    the_plan = plan([p for _, p in pictures], model, archive=archive, tile=tile, batch=batch, chunk=chunk,
                    effort=effort)
    device = resolve_device(device)
    adapters = _fit_adapters(the_plan, [p for _, p in pictures]) if the_plan.adapt else {}
    models = [adapters.get(m, (m, b""))[0] for m in the_plan.models]
    index = {m: i for i, m in enumerate(the_plan.models)}
    entries = [container.Entry(name, *p.pixels.shape[:2], p.mode, zlib.crc32(p.pixels.tobytes()),
                               [(index[m], planes) for m, planes in groups], dict(p.metadata))
               for (name, p), groups in zip(pictures, the_plan.groups)]
    refs = [container.ModelRef(m.family.id, m.name, m.weights_id, adapters.get(m, (m, b""))[1])
            for m in the_plan.models]
    seed = None if the_plan.seed is None else index[the_plan.seed]
    chunks = [container.Chunk(units, None if s is None else index[s]) for units, s in the_plan.chunks]
    header = container.Header(the_plan.layout, the_plan.tile, refs, entries, the_plan.batch, seed, chunks=chunks,
                              coder=the_plan.coder)
    payload, est_bits = PIPELINES[header.version].encode(header, [p.pixels for _, p in pictures],
                                                         [_codec(m, device) for m in models], progress, stats,
                                                         estimate)
    data = container.pack(header, payload)
    return data, Report(len(data), est_bits, header.subpixels)


def _fit_adapters(the_plan: policy.Plan, pictures: list[Picture]) -> dict:
    """Base model -> (adapted model, adapter bytes) for every model that codes plane groups: fitted
    on the tiles it codes (those of its most common shape), and kept where it pays for its bytes."""
    from .adapt import fit, worth_it

    kind, steps, lr = the_plan.adapt
    out = {}
    for model in {m for groups in the_plan.groups for m, _ in groups}:
        multiple = _codec(model, "cpu").multiple
        tiles: dict[tuple, list] = {}
        for picture, groups in zip(pictures, the_plan.groups):
            for m, planes in groups:
                if m is not model:
                    continue
                chw = np.ascontiguousarray(picture.pixels[..., planes].transpose(2, 0, 1))
                for y0, y1, x0, x1 in tile_boxes(*chw.shape[1:], the_plan.tile):
                    tile = pad_to_multiple(chw[:, y0:y1, x0:x1], multiple)
                    tiles.setdefault(tile.shape, []).append(tile)
        common = np.stack(max(tiles.values(), key=len))
        adapter = fit(model, common, kind, steps, lr)
        if worth_it(model, adapter, common):
            out[model] = (adapted(model, adapter), adapter.to_bytes(model.weights))
    return out


def adapted(model: zoo.LoadedModel, adapter) -> zoo.LoadedModel:
    """A copy of ``model`` with an adapter's changes in its weights (same name and weights id)."""
    return zoo.LoadedModel(model.name, model.family, model.channels, model.sha256, model.card, model.config,
                           adapter.apply(model.weights))


def _file_model(ref: container.ModelRef, override: zoo.LoadedModel | None) -> zoo.LoadedModel:
    """The installed model a file names (``override``: a model given for it), checked against the
    file's family and weights hash, with the file's adapter applied."""
    family = families.by_id(ref.family)
    if override is not None and override.name == ref.name:
        loaded = override
    else:
        try:
            loaded = zoo.load_model(ref.name)
        except ModelError:
            raise ModelError(f"this file needs model {ref.name!r} (weights {ref.weights.hex()}), which is not "
                             f"installed; {zoo.how_to_install()}") from None
    if loaded.weights_id != ref.weights:
        raise ModelError(f"this file needs model {loaded.name!r} with weights {ref.weights.hex()}, "
                         f"but the installed weights are {loaded.weights_id.hex()}")
    if loaded.family is not family:
        raise FormatError(f"corrupt file: model {loaded.name!r} is not of the {family.name} family")
    if ref.adapter:
        from .adapt import Adapter

        return adapted(loaded, Adapter.from_bytes(ref.adapter, loaded.weights))
    return loaded


def decode(data: bytes, *, batch: int | None = None, device=None, model=None,
           progress=None) -> list[tuple[str, Picture]]:
    """.fz bytes -> [(name, Picture)]: every image of the file, each checked against its pixel CRC.
    ``model`` may give a model (e.g. the path of an exported model's JSON card) the file names."""
    header, start = container.parse(data)
    override = load(model)
    models = [_file_model(ref, override) for ref in header.models]
    for e in header.entries:
        for m, planes in e.groups:
            if models[m].channels != len(planes):
                raise FormatError(f"corrupt file: model {models[m].name!r} cannot code {len(planes)} planes")
            if header.version == container.TILED and models[m].family.bits_back:
                raise FormatError("corrupt file: a tiled file cannot hold bits-back tiles")
    seeds = [header.seed] + [c.seed for c in header.chunks]
    if any(seed is not None and models[seed].family.bits_back for seed in seeds):
        raise FormatError("corrupt file: the seed model must code directly, not with bits-back")
    if header.version == container.TILED:
        header.batch = batch or policy.ACTIVE.tiled_batch
    device = resolve_device(device)
    images = PIPELINES[header.version].decode(header, data[start:], [_codec(m, device) for m in models], progress)
    for e, pixels in zip(header.entries, images):
        if zlib.crc32(pixels.tobytes()) != e.pixel_crc:
            raise FormatError(f"corrupt file: decoded pixels of {e.name or 'the image'} fail the checksum")
    return [(e.name, Picture(pixels, e.mode, dict(e.metadata))) for e, pixels in zip(header.entries, images)]


def inspect(data: bytes) -> container.Header:
    """The checked header of .fz bytes (no model is loaded, nothing is decoded)."""
    return container.parse(data)[0]


def describe(data: bytes) -> dict:
    """What a .fz file's header says, as plain data (``flowzip info``)."""
    header, start = container.parse(data)

    def codec(ref):
        try:
            return families.by_id(ref.family).title
        except FormatError:
            return f"unknown codec {ref.family}"

    layout = {container.TILED: "tiled", container.STACKED: "stacked", container.CHUNKED: "chunked"}
    fields = {"bytes": len(data), "format_version": header.version, "layout": layout[header.version],
              "images": len(header.entries), "tile": header.tile, "header_bytes": start}
    if header.version == container.STACKED:
        fields["batch"] = header.batch
        fields["seed_model"] = None if header.seed is None else header.models[header.seed].name
    if header.version == container.CHUNKED:
        fields.update(batch=header.batch, coder=header.coder, chunks=len(header.chunks))
    fields["models"] = [{"codec": codec(m), "model": m.name, "weights": m.weights.hex()} for m in header.models]
    if len(header.entries) == 1:
        e = header.entries[0]
        fields.update(width=e.width, height=e.height, mode=e.mode)
    fields["entries"] = [{"name": e.name, "width": e.width, "height": e.height, "mode": e.mode,
                          "bit_depth": e.bit_depth,
                          "groups": [{"model": header.models[m].name, "planes": planes} for m, planes in e.groups],
                          "metadata": {k: f"{len(v)} bytes" for k, v in e.metadata.items()},
                          "pixel_crc32": f"{e.pixel_crc:08x}"} for e in header.entries[:1000]]
    fields["bpd"] = round(8 * len(data) / header.subpixels, 4)
    return fields


def progress_units(header: container.Header) -> int:
    """How many progress steps coding or decoding a file with this header reports."""
    return PIPELINES[header.version].num_units(header)


def compress_picture(picture: Picture, model=None, **options) -> tuple[bytes, Report]:
    """One Picture -> (.fz bytes, Report); ``options`` as for ``encode``."""
    return encode([("", picture)], model, **options)


def decompress_picture(data: bytes, **options) -> Picture:
    """.fz bytes of a single image -> Picture (pixels, mode and metadata); ``options`` as for
    ``decode``."""
    items = decode(data, **options)
    if len(items) != 1:
        raise FlowzipError(f"this file is an archive of {len(items)} images; use decompress_archive "
                           "(or flowzip decompress FILE -o FOLDER)")
    return items[0][1]


def _as_array(picture: Picture) -> np.ndarray:
    return picture.pixels[..., 0] if picture.pixels.shape[2] == 1 else picture.pixels


# --- the public API (flowzip.compress, ...) ---------------------------------------------------

def compress(image, model=None, *, tile: int | None = None, batch: int | None = None, device=None) -> bytes:
    """Compress an image (path, image file bytes, PIL image, or uint8 array (H, W) / (H, W, C))
    to .fz bytes. ``model``: a name, the path of a model's .json card, or ``load_model(...)``."""
    return compress_picture(read_image(image), model, tile=tile, batch=batch, device=device)[0]


def compress_archive(images, model=None, *, tile: int | None = None, batch: int | None = None,
                     device=None) -> bytes:
    """Compress several images into one archive: ``images`` are paths (named after their file
    names) or (name, image) pairs, an image being anything ``compress`` takes."""
    named = []
    for item in images:
        name, image = item if isinstance(item, tuple) else (Path(item).name, item)
        named.append((name, read_image(image)))
    return encode(named, model, archive=True, tile=tile, batch=batch, device=device)[0]


def decompress(data: bytes, *, batch: int | None = None, device=None, model=None) -> np.ndarray:
    """.fz bytes of one image -> uint8 array: (H, W) for gray images, (H, W, C) otherwise."""
    return _as_array(decompress_picture(data, batch=batch, device=device, model=model))


def decompress_archive(data: bytes, *, device=None, model=None) -> list[tuple[str, np.ndarray]]:
    """.fz bytes -> [(name, uint8 array)] for every image the file holds (one for a single image)."""
    return [(name, _as_array(p)) for name, p in decode(data, device=device, model=model)]
