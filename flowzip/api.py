"""compress(image) -> bytes and decompress(bytes) -> image: parse once, ask the policy, run a pipeline.

Encoding: the policy (``flowzip.policy``) plans the file (layout, models per plane group, tile,
batch, seed); the pipeline of that layout (``coding.tiled`` or ``coding.stacked``) codes the
images; the container packs header and payload. Decoding reads the header once, loads and checks
the models it names, runs the same pipeline backwards, and checks every image's pixel CRC here.
"""

from __future__ import annotations

import fnmatch
import os
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from . import families, policy, zoo
from .errors import FlowzipError, FormatError, ModelError
from .fileformat import container
from .images.image import Picture, read_image
from .pipelines import chunked, stacked, tiled
from .pipelines import workers as parallel
from .pipelines.tiles import blank, pad_to_multiple, tile_boxes

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


def candidates(pictures: list[Picture], model=None, *, archive: bool = False, tile: int | None = None,
               batch: int | None = None, chunk: int | None = None, jobs: int | None = 1,
               effort: int | None = None) -> list[policy.Plan]:
    """The plans ``encode`` would code these pictures with (the active policy's; the smallest file wins)."""
    return policy.ACTIVE.candidates(pictures, load(model), archive=archive, tile=tile, batch=batch, chunk=chunk,
                                    jobs=parallel.workers(jobs), effort=effort)


def plan(pictures: list[Picture], model=None, **options) -> policy.Plan:
    """The first of ``candidates``."""
    return candidates(pictures, model, **options)[0]


def work_units(pictures: list[Picture], model=None, **options) -> int:
    """The tiles ``encode`` codes (every candidate plan's), for progress bars."""
    return sum(p.units for p in candidates(pictures, model, **options))


def pixel_crc(pixels: np.ndarray) -> int:
    """CRC-32 of an image's samples, row-major H x W x C, 16-bit samples little-endian."""
    return zlib.crc32(pixels.astype("<u2").tobytes() if pixels.dtype.itemsize > 1 else pixels.tobytes())


def encode(pictures: list[tuple[str, Picture]], model=None, *, archive: bool = False, tile: int | None = None,
           batch: int | None = None, chunk: int | None = None, jobs: int | None = 1, effort: int | None = None,
           device=None, progress=None, stats: dict | None = None, estimate: bool = False) -> tuple[bytes, Report]:
    """Named pictures -> (.fz bytes, Report), laid out as the policy plans (``Policy.candidates``;
    where it plans several ways, each is coded and the smallest file kept): ``chunk`` overrides
    its sub-pixels per chunk (0: one stream, version 2), ``effort`` its level (1 .. 9:
    ``policy.EFFORTS``). ``jobs`` worker processes code the chunks (0: one per core); the file
    does not depend on it, except that one large picture is cut into ``jobs`` chunks.
    ``progress(n)`` is called as each n tiles are done; ``stats``: see ``coding.stacked.encode``;
    ``estimate``: also compute the models' estimate of the size (for the Glow, a pass of the
    float model)."""
    plans = candidates([p for _, p in pictures], model, archive=archive, tile=tile, batch=batch, chunk=chunk,
                       jobs=jobs, effort=effort)
    device = resolve_device(device)
    best, best_stats = None, None
    for the_plan in plans:
        plan_stats = None if stats is None else {}
        result = _encode_plan(the_plan, pictures, device, jobs, progress, plan_stats, estimate)
        if best is None or len(result[0]) < len(best[0]):
            best, best_stats = result, plan_stats
    if stats is not None:
        stats.update(best_stats)  # the kept file's
    return best


def _encode_plan(the_plan: policy.Plan, pictures: list[tuple[str, Picture]], device: str, jobs, progress,
                 stats: dict | None, estimate: bool) -> tuple[bytes, Report]:
    adapters = _fit_adapters(the_plan, [p for _, p in pictures]) if the_plan.adapt else {}
    models = [adapters.get(m, m) for m in the_plan.models]
    index = {m: i for i, m in enumerate(the_plan.models)}
    entries = [container.Entry(name, *p.pixels.shape[:2], p.mode, pixel_crc(p.pixels),
                               [(index[m], planes) for m, planes in groups], dict(p.metadata), p.bit_depth,
                               tile=side)
               for (name, p), groups, side in zip(pictures, the_plan.groups, the_plan.tiles)]
    refs = [container.ModelRef(m.family.id, m.name, m.weights_id, m.adapter) for m in models]
    seed = None if the_plan.seed is None else index[the_plan.seed]
    chunks = [container.Chunk(units, None if s is None else index[s]) for units, s in the_plan.chunks]
    header = container.Header(the_plan.layout, the_plan.tile, refs, entries, the_plan.batch, seed, chunks=chunks,
                              coder=the_plan.coder)
    images = [p.pixels for _, p in pictures]
    if header.version == container.CHUNKED:
        payload, est_bits = _encode_chunks(header, images, models, device, jobs, progress, stats, estimate)
    else:
        payload, est_bits = PIPELINES[header.version].encode(header, images, [_codec(m, device) for m in models],
                                                             progress, stats, estimate)
    data = container.pack(header, payload)
    return data, Report(len(data), est_bits, header.subpixels)


def _fit_adapters(the_plan: policy.Plan, pictures: list[Picture]) -> dict:
    """Base model -> adapted model for every model that codes plane groups: fitted
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
            out[model] = zoo.adapted(model, adapter.to_bytes(model.weights))
    return out


def _cpu_jobs(jobs: int | None, device) -> int | None:
    """Worker processes for chunks: none on a GPU (a forked process cannot use CUDA)."""
    return 1 if resolve_device(device).startswith("cuda") else jobs


def _encode_chunk(header: container.Header, chunk: container.Chunk, images: list[np.ndarray], models: list,
                  device, stats: dict | None, estimate: bool) -> tuple[bytes, float | None, dict | None]:
    """One chunk (of a ``chunked.part`` header) -> (bytes, estimated bits, stats): a worker's task."""
    codecs = [_codec(m, resolve_device(device)) for m in models]
    data, bits = chunked.encode_chunk(header, chunk, images, codecs, None, stats, estimate)
    return data, bits, stats


def _encode_chunks(header: container.Header, images: list[np.ndarray], models: list, device, jobs,
                   progress, stats: dict | None, estimate: bool) -> tuple[bytes, float | None]:
    """The chunks of a chunked file, coded by ``jobs`` workers; fills their lengths and CRCs."""
    parts = [chunked.part(header, c) for c in header.chunks]
    tasks = ((sub, c, [images[i] for i in idx], models, device, None if stats is None else {}, estimate)
             for sub, c, idx in parts)
    payloads, est_bits = [b""] * len(parts), 0.0
    for k, result, error in parallel.imap(_encode_chunk, tasks, _cpu_jobs(jobs, device), fail_fast=True):
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
            progress(chunked.chunk_units(header, chunk))
    return b"".join(payloads), est_bits if estimate else None


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
        return zoo.adapted(loaded, ref.adapter)
    return loaded


def _file_models(header: container.Header, override: zoo.LoadedModel | None) -> list[zoo.LoadedModel]:
    """The models a file's header names, loaded and checked against what the header asks of them."""
    models = [_file_model(ref, override) for ref in header.models]
    for e in header.entries:
        for m, planes in e.groups:
            if models[m].channels and models[m].channels != len(planes):
                raise FormatError(f"corrupt file: model {models[m].name!r} cannot code {len(planes)} planes")
            if header.version != container.CHUNKED and not models[m].channels:
                raise FormatError("corrupt file: only a chunked file can hold classically coded planes")
            if header.version == container.TILED and models[m].family.bits_back:
                raise FormatError("corrupt file: a tiled file cannot hold bits-back tiles")
    seeds = [header.seed] + [c.seed for c in header.chunks]
    if any(seed is not None and models[seed].family.bits_back for seed in seeds):
        raise FormatError("corrupt file: the seed model must code directly, not with bits-back")
    return models


def _checked(entry: container.Entry, pixels: np.ndarray) -> Picture | FormatError:
    """The decoded image, or the error if its pixels fail the checksum."""
    if pixel_crc(pixels) != entry.pixel_crc:
        return FormatError(f"corrupt file: decoded pixels of {entry.name or 'the image'} fail the checksum")
    return Picture(pixels, entry.mode, dict(entry.metadata), entry.bit_depth)


def _decode_chunk(header: container.Header, chunk: container.Chunk, data: bytes, models: list, device) -> list:
    """One chunk (of a ``chunked.part`` header) -> its units' rows (``chunked.bands``): a worker's task."""
    out = [blank(e) for e in header.entries]
    chunked.decode_chunk(header, chunk, data, [_codec(m, resolve_device(device)) for m in models], out)
    return chunked.bands(header, chunk, out)


class Archive:
    """A .fz file opened for decoding: its header parsed and its models loaded once. ``data`` may
    be bytes or a memory map (only the chunks decoded are read). ``model`` may give a model
    (e.g. the path of an exported model's JSON card) the file names."""

    def __init__(self, data, *, model=None, device=None, batch: int | None = None):
        self.data = data
        self.header, self.start = container.parse(data)
        self.models = _file_models(self.header, load(model))
        self.device = device
        if self.header.version == container.TILED:
            self.header.batch = batch or policy.ACTIVE.tiled_batch
        self.holders = _holders(self.header)

    def decode_each(self, only: Iterable[int] | None = None, jobs: int | None = 1,
                    progress=None) -> Iterator[tuple[int, str, Picture | FlowzipError]]:
        """Decode the images (``only``: these indices), yielding ``(index, name, Picture)`` as each
        is done, each checked against its pixel CRC; an image that cannot be restored (a damaged
        chunk, a failed checksum) comes as ``(index, name, error)`` and the others go on. In a
        chunked file only the chunks holding the wanted images are decoded, by ``jobs`` workers
        (0: one per core); older files are one stream."""
        header, entries = self.header, self.header.entries
        wanted = sorted(set(range(len(entries)) if only is None else only))
        if header.version != container.CHUNKED:
            codecs = [_codec(m, resolve_device(self.device)) for m in self.models]
            images = PIPELINES[header.version].decode(header, self.data[self.start :], codecs, progress)
            for i in wanted:
                yield i, entries[i].name, _checked(entries[i], images[i])
            return
        waiting = {i: len(self.holders[i]) for i in wanted}
        chosen = sorted({c for i in wanted for c in self.holders[i]})
        parts = [chunked.part(header, header.chunks[c]) for c in chosen]
        payloads = container.chunk_payloads(header, memoryview(self.data)[self.start :])
        tasks = ((sub, c, bytes(payloads[chosen[k]]), self.models, self.device) for k, (sub, c, _) in enumerate(parts))
        pixels: dict[int, np.ndarray] = {}
        for k, result, error in parallel.imap(_decode_chunk, tasks, _cpu_jobs(jobs, self.device)):
            sub, _, images = parts[k]
            if error is not None:
                reason = str(error) if isinstance(error, FlowzipError) else f"{type(error).__name__}: {error}"
                for i in images:
                    if waiting.pop(i, None) is not None:
                        pixels.pop(i, None)
                        yield i, entries[i].name, FormatError(f"{reason} (chunk {chosen[k]})")
                continue
            for local, first, count, band in result:
                i = images[local]
                if i not in waiting:
                    continue
                e = entries[i]
                if first == 0 and count == container.num_tiles(e.height, e.width, header.tile_of(e)):
                    pixels[i] = band
                else:
                    target = pixels.setdefault(i, blank(e))
                    chunked.place(sub, local, first, count, band, target)
            for i in dict.fromkeys(images):
                if i in waiting:
                    waiting[i] -= 1
                    if not waiting[i]:
                        del waiting[i]
                        yield i, entries[i].name, _checked(entries[i], pixels.pop(i))
            if progress:
                progress(chunked.chunk_units(header, header.chunks[chosen[k]]))


def decode_each(data: bytes, *, only: Iterable[int] | None = None, jobs: int | None = 1, batch: int | None = None,
                device=None, model=None, progress=None) -> Iterator[tuple[int, str, Picture | FlowzipError]]:
    """``Archive(data, ...).decode_each(only, jobs, progress)``: the images of .fz bytes as each is
    restored, an image that cannot be as its error."""
    return Archive(data, model=model, device=device, batch=batch).decode_each(only, jobs, progress)


def decode(data: bytes, *, batch: int | None = None, device=None, model=None, progress=None,
           only: Iterable[int] | None = None, jobs: int | None = 1) -> list[tuple[str, Picture]]:
    """.fz bytes -> [(name, Picture)]: every image of the file (``only``: these indices), in file
    order, each checked against its pixel CRC; the first image that cannot be restored raises.
    Options as for ``decode_each``."""
    done = {}
    for i, name, item in decode_each(data, only=only, jobs=jobs, batch=batch, device=device, model=model,
                                     progress=progress):
        if isinstance(item, Exception):
            raise item
        done[i] = (name, item)
    return [done[i] for i in sorted(done)]


def find_images(header: container.Header, patterns: Iterable[str]) -> list[int]:
    """Indices of the images whose names match any of ``patterns`` (names or shell-style globs);
    a pattern that matches nothing is an error."""
    names = [e.name for e in header.entries]
    found: set[int] = set()
    for pattern in patterns:
        hits = [i for i, name in enumerate(names) if name == pattern or fnmatch.fnmatchcase(name, pattern)]
        if not hits:
            raise FlowzipError(f"no image named {pattern!r} in this file (flowzip list shows its images)")
        found.update(hits)
    return sorted(found)


def catalog(data: bytes) -> list[dict]:
    """Per image of .fz bytes: name, size, mode and the chunks holding it (``flowzip list``)."""
    header = inspect(data)
    return [{"name": e.name, "width": e.width, "height": e.height, "mode": e.mode, "chunks": c}
            for e, c in zip(header.entries, _holders(header))]


def _holders(header: container.Header) -> list[list[int]]:
    """Per image the chunks holding it (none outside chunked files)."""
    return chunked.chunk_map(header) if header.version == container.CHUNKED else [[] for _ in header.entries]


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
                     chunk: int | None = None, jobs: int | None = 1, device=None) -> bytes:
    """Compress several images into one archive: ``images`` are paths (named after their file
    names) or (name, image) pairs, an image being anything ``compress`` takes. ``chunk``:
    sub-pixels per independently decodable chunk (default: the policy's; 0: one stream, the
    version 2 layout); ``jobs``: worker processes (0: one per core)."""
    named = []
    for item in images:
        name, image = item if isinstance(item, tuple) else (Path(item).name, item)
        named.append((name, read_image(image)))
    return encode(named, model, archive=True, tile=tile, batch=batch, chunk=chunk, jobs=jobs, device=device)[0]


def decompress(data: bytes, *, batch: int | None = None, device=None, model=None) -> np.ndarray:
    """.fz bytes of one image -> uint8 array: (H, W) for gray images, (H, W, C) otherwise."""
    return _as_array(decompress_picture(data, batch=batch, device=device, model=model))


def decompress_archive(data: bytes, *, device=None, model=None, only: Iterable[str] | None = None,
                       jobs: int | None = 1) -> list[tuple[str, np.ndarray]]:
    """.fz bytes -> [(name, uint8 array)] for every image the file holds (one for a single image);
    ``only``: the images with these names (or shell-style patterns), decoding only their chunks."""
    indices = None if only is None else find_images(inspect(data), only)
    return [(name, _as_array(p)) for name, p in decode(data, device=device, model=model, only=indices, jobs=jobs)]
