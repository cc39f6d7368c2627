"""compress(image) -> bytes and decompress(bytes) -> image: public functions over the pipelines.

Encoding: a policy (``flowzip.policy``, ``DEFAULT`` unless another is given) plans the file by
model names; the models it names are loaded (``zoo``) and, at the efforts that say so, adapted to
the images (``adapt``); the pipeline of the plan's layout codes the images into the file
(``pipelines.encode_file``). Where the policy plans several files, each is coded and the smallest
kept; where a PNG input would grow, it is coded once more with its own image data. Decoding
reads the header once (``fileformat``), loads and checks the models it names, and runs the same
pipeline backwards, every image checked against its pixel CRC.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from . import adapt, pipelines, zoo
from . import policy as policies
from .errors import FlowzipError, ModelError
from .fileformat import checks, container
from .images.image import Picture, read_image
from .pipelines import tiled, workers
from .pipelines.codecs import resolve_device


@dataclass
class Report:
    """What compressing measured: the file's bytes, the models' estimate (when asked for), the
    sub-pixels coded, and the models of the kept plan (``coders``) among ``plans`` coded."""

    compressed_bytes: int
    estimated_bits: float | None
    subpixels: int
    coders: list[str] = field(default_factory=list)
    plans: int = 1
    stored: bool = False  # the inputs' own PNG image data kept: every coding was larger than them

    @property
    def bpd(self) -> float:
        return 8 * self.compressed_bytes / self.subpixels

    @property
    def estimated_bpd(self) -> float | None:
        return None if self.estimated_bits is None else self.estimated_bits / self.subpixels


def load(model) -> zoo.LoadedModel | None:
    """A model argument (name, JSON path, or loaded model) -> the loaded model."""
    if model is None or isinstance(model, zoo.LoadedModel):
        return model
    if isinstance(model, str):
        return zoo.load_model(model)
    raise ModelError(f"a model is a name, the path of a model's .json file, or flowzip.load_model(...), "
                     f"not a {type(model).__name__}")


def plans(pictures: list[Picture], model=None, *, policy: policies.Policy | None = None, archive: bool = False,
          tile: int | None = None, batch: int | None = None, chunk: int | None = None, jobs: int | None = 1,
          effort: int | None = None) -> list[policies.Plan]:
    """The plans ``encode`` codes these pictures with (the smallest file wins): ``policy``'s
    candidates, for the models installed."""
    chosen = load(model)
    choice = None if chosen is None else policies.Model(chosen.name, chosen.channels, chosen.family.bits_back,
                                                        chosen.family.whole_pictures)
    return (policy or policies.DEFAULT).candidates(pictures, choice, installed=zoo.installed_names(), archive=archive,
                                                   tile=tile, batch=batch, chunk=chunk, jobs=workers.workers(jobs),
                                                   effort=effort)


def encode(pictures: list[tuple[str, Picture]], model=None, *, policy: policies.Policy | None = None,
           archive: bool = False, tile: int | None = None, batch: int | None = None, chunk: int | None = None,
           jobs: int | None = 1, effort: int | None = None, device=None, progress=None, stats: dict | None = None,
           estimate: bool = False) -> tuple[bytes, Report]:
    """Named pictures -> (.fz bytes, Report), laid out as ``policy`` plans them (``plans``; where
    it plans several ways, each is coded and the smallest file kept; at the default effort a
    large picture's local-prior plan only if its sampled estimate is near the best file so far; at
    the efforts that adapt, an adapted plan only if its twin without adaptation came near it): ``chunk`` overrides its
    sub-pixels per chunk (0: one stream, version 2), ``effort`` its level (1 .. 9:
    ``policy.EFFORTS``). ``jobs`` worker processes code the chunks (0: one per core); the file does
    not depend on it, except that one large picture is cut into ``jobs`` chunks. ``progress(n)``
    is called as each n tiles are done; a progress object may also have ``start(total)`` (called
    once, when the pictures are planned) and ``stage(words)`` (what is being done). ``stats``: see
    ``pipelines.stacked.encode``; ``estimate``: also compute the models' estimate of the size (for
    the Glow, a pass of the float model)."""
    chosen = load(model)
    planned = plans([p for _, p in pictures], chosen, policy=policy, archive=archive, tile=tile, batch=batch,
                    chunk=chunk, jobs=jobs, effort=effort)
    if hasattr(progress, "start"):
        progress.start(sum(p.units for p in planned))
    device = resolve_device(device)
    best, best_stats, coded, sizes = None, None, 0, []
    screen = chosen is None and (effort or policies.DEFAULT_EFFORT) <= policies.DEFAULT_EFFORT
    for k, plan in enumerate(_screen_order(planned) if screen else _unadapted_first(planned)):
        if best is not None and ((screen and _screened_out(plan, pictures, len(best[0]))) or
                                 not _adapting_pays(plan, sizes, len(best[0]))):
            if callable(progress):
                progress(plan.units)  # its share of the work, not needed
            continue
        coded += 1
        plan_stats = None if stats is None else {}
        if hasattr(progress, "stage") and len(planned) > 1 and (effort or policies.DEFAULT_EFFORT) > policies.DEFAULT_EFFORT:
            progress.stage(f"coding with {', '.join(plan.coders)} ({k + 1} of {len(planned)} ways)")
        result = encode_plan(plan, pictures, chosen, device=device, jobs=jobs, progress=progress, stats=plan_stats,
                             estimate=estimate)
        sizes.append((plan, len(result[0])))
        if best is None or len(result[0]) < len(best[0]):
            best, best_stats = result, plan_stats
    stored = None if chosen is not None else _stored(pictures, len(best[0]), policy or policies.DEFAULT, device,
                                                     jobs, progress, stats)
    if stored is not None:
        best, best_stats = stored
    if stats is not None:
        stats.update(best_stats)  # the kept file's
    best[1].plans = coded + (stored is not None)
    return best


SCREEN_MARGIN = 0.01  # at the default effort a plan whose sampled estimate is this much above the best file is skipped
SCREEN_PIXELS = 1 << 16  # smaller pictures are cheap to code every way (and their samples are small)
# At the default effort a picture whose best file so far (the classical coder's) is below this many
# bits per sub-pixel is not coded again with a local prior: graphics and flat pictures, where the
# guide did not pay (a drawing of 0.63 bpd) and cost three times the classical coder's time.
# Held-out photos went down to 1.73 bpd and gained there still (docs/RESULTS.md).
SIMPLE_BPD = 1.0


# At the efforts that adapt, an adapted plan is coded only when its unadapted twin's file is at
# most this much above the best file so far. Adapters saved up to 2.8 % (the Glow on Kodak, 120
# steps; the local prior 1.3 % on kodim05); the Glow on a photo is 8-10 % above the local prior, and
# its adapting took about 4 of the 6.5 minutes of an effort-9 photo (docs/RESULTS.md).
ADAPT_GAIN = 0.05


def _unadapted_first(planned: list[policies.Plan]) -> list[policies.Plan]:
    """The plans in the policy's order, those without adaptation first (``_adapting_pays``)."""
    return sorted(planned, key=lambda plan: plan.adapt is not None)


def _adapting_pays(plan: policies.Plan, sizes: list[tuple[policies.Plan, int]], best_bytes: int) -> bool:
    """Whether an adapted plan is worth coding: its twin without adaptation (coded before it, in
    ``sizes``) came within ``ADAPT_GAIN`` of the best file. True for a plan that does not adapt."""
    if plan.adapt is None:
        return True
    twin = replace(plan, adapt=None)
    size = next((n for p, n in sizes if p == twin), None)
    return size is None or size <= best_bytes * (1 + ADAPT_GAIN)


def _screen_order(planned: list[policies.Plan]) -> list[policies.Plan]:
    """The plans in the policy's order, but those of the classical coder alone first and those of
    models that sample their cost (the local prior) last, so that the others can be compared with
    a file already made."""
    def rank(plan: policies.Plan) -> int:
        families = [zoo.load_model(n).family for n in plan.models]
        if all(f.model_class is None for f in families):  # no learned model
            return 0
        return 2 if any(hasattr(f.codec, "sampled_bits") for f in families) else 1

    return sorted(planned, key=rank)  # stable: the policy's order within a rank


def _screened_out(plan: policies.Plan, pictures, best_bytes: int) -> bool:
    """Whether a plan need not be coded for large pictures (``SCREEN_PIXELS``): it has a local
    prior and the best file so far is under ``SIMPLE_BPD``, or its sampled estimate is clearly
    larger than that file."""
    if sum(p.pixels.shape[0] * p.pixels.shape[1] for _, p in pictures) < SCREEN_PIXELS:
        return False
    models = {name: zoo.load_model(name) for name in plan.models}
    if any(models[n].family.whole_pictures for n in plan.coders) and (
            8 * best_bytes < SIMPLE_BPD * sum(p.pixels.size for _, p in pictures)):
        return True
    bits = pipelines.sampled_bits(plan, pictures, models)
    return bits is not None and bits > 8 * best_bytes * (1 + SCREEN_MARGIN)


def _stored(pictures, size: int, policy: policies.Policy, device, jobs, progress, stats):
    """A PNG never grows (but by the difference of the headers): when the file coded is larger
    than the PNG files the pictures came from, the classical coder codes them again with their
    own image data as a candidate (a deflate coding of the same samples, often another encoder's
    better one). (file, Report) and its stats, when that is smaller; else None. (Not when the
    caller chose a model: it codes what it fits.)"""
    inputs = [p.source_bytes for _, p in pictures]
    if not all(inputs) or size <= sum(inputs) or not any(p.deflated for _, p in pictures):
        return None
    plan = policy.stored([p for _, p in pictures])
    if plan is None:
        return None
    if hasattr(progress, "stage"):
        progress.stage("larger than the input: coding it again with its own PNG image data")
    plan_stats = None if stats is None else {}
    data, report = encode_plan(plan, pictures, device=device, jobs=jobs, stats=plan_stats,
                               known=[p.deflated for _, p in pictures])
    report.stored = True
    return ((data, report), plan_stats) if len(data) < size else None


def encode_plan(plan: policies.Plan, pictures: list[tuple[str, Picture]], chosen: zoo.LoadedModel | None = None, *,
                device: str = "cpu", jobs: int | None = 1, progress=None, stats: dict | None = None,
                estimate: bool = False, known: list | None = None) -> tuple[bytes, Report]:
    """One plan's file: its models loaded (``chosen`` stands for its own name) and adapted where
    the plan says so, the pictures coded by the plan's pipeline, header and payload packed.
    ``known``: per picture, a coding of its samples at hand (``pipelines.encode``)."""
    models = {name: chosen if chosen is not None and chosen.name == name else zoo.load_model(name)
              for name in plan.models}
    if plan.adapt:
        if hasattr(progress, "stage"):
            progress.stage(f"adapting {', '.join(plan.coders)} to the images")
        for name, adapter in adapt.fit_plan(plan, [p for _, p in pictures], models).items():
            models[name] = zoo.adapted(models[name], adapter)
    data, bits = pipelines.encode_file(plan, pictures, models, device, jobs, progress, stats, estimate, known)
    return data, Report(len(data), bits, sum(p.pixels.size for _, p in pictures), plan.coders)


class Archive:
    """A .fz file opened for decoding: its header parsed and its models loaded and checked once.
    ``data`` may be bytes or a memory map (only the chunks decoded are read). ``model`` may give a
    model (e.g. the path of an exported model's JSON card) the file names."""

    def __init__(self, data, *, model=None, device=None, batch: int | None = None):
        self.data = data
        self.header, self.start = container.parse(data)
        override = load(model)
        self.models = [zoo.for_file(ref, override) for ref in self.header.models]
        checks.check_models(self.header, self.models)
        self.device = resolve_device(device)
        if self.header.version == container.TILED:
            self.header.batch = batch or tiled.DEFAULT_BATCH
        self.holders = container.holders(self.header)

    def decode_each(self, only: Iterable[int] | None = None, jobs: int | None = 1,
                    progress=None) -> Iterator[tuple[int, str, Picture | FlowzipError]]:
        """Decode the images (``only``: these indices), yielding ``(index, name, Picture)`` as each
        is done, each checked against its pixel CRC; an image that cannot be restored (a damaged
        chunk, a failed checksum) comes as ``(index, name, error)`` and the others go on. In a
        chunked file only the chunks holding the wanted images are decoded, by ``jobs`` workers
        (0: one per core); older files are one stream."""
        payload = memoryview(self.data)[self.start :]
        for i, item in pipelines.decode_each(self.header, payload, self.models, self.device, only, jobs, progress):
            e = self.header.entries[i]
            yield i, e.name, item if isinstance(item, FlowzipError) else Picture(item, e.mode, dict(e.metadata),
                                                                                 e.bit_depth)


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


def inspect(data: bytes) -> container.Header:
    """The checked header of .fz bytes (no model is loaded, nothing is decoded; a compact file's
    models get the names of the installed models their weights match)."""
    header = container.parse(data)[0]
    zoo.name_models(header.models)
    return header


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

def compress(image, model=None, *, tile: int | None = None, batch: int | None = None, device=None,
             effort: int | None = None) -> bytes:
    """Compress an image (path, image file bytes, PIL image, or uint8 array (H, W) / (H, W, C))
    to .fz bytes. ``model``: a name, the path of a model's .json card, or ``load_model(...)``;
    ``effort``: 1 .. 9 (``flowzip compress --help``)."""
    return compress_picture(read_image(image), model, tile=tile, batch=batch, device=device, effort=effort)[0]


def compress_archive(images, model=None, *, tile: int | None = None, batch: int | None = None,
                     chunk: int | None = None, jobs: int | None = 1, device=None, effort: int | None = None) -> bytes:
    """Compress several images into one archive: ``images`` are paths (named after their file
    names) or (name, image) pairs, an image being anything ``compress`` takes. ``chunk``:
    sub-pixels per independently decodable chunk (default: the policy's; 0: one stream, the
    version 2 layout); ``jobs``: worker processes (0: one per core)."""
    named = []
    for item in images:
        name, image = item if isinstance(item, tuple) else (Path(item).name, item)
        named.append((name, read_image(image)))
    return encode(named, model, archive=True, tile=tile, batch=batch, chunk=chunk, jobs=jobs, device=device,
                  effort=effort)[0]


def decompress(data: bytes, *, batch: int | None = None, device=None, model=None) -> np.ndarray:
    """.fz bytes of one image -> uint8 array: (H, W) for gray images, (H, W, C) otherwise."""
    return _as_array(decompress_picture(data, batch=batch, device=device, model=model))


def decompress_archive(data: bytes, *, device=None, model=None, only: Iterable[str] | None = None,
                       jobs: int | None = 1) -> list[tuple[str, np.ndarray]]:
    """.fz bytes -> [(name, uint8 array)] for every image the file holds (one for a single image);
    ``only``: the images with these names (or shell-style patterns), decoding only their chunks."""
    indices = None if only is None else find_images(inspect(data), only)
    return [(name, _as_array(p)) for name, p in decode(data, device=device, model=model, only=indices, jobs=jobs)]
