"""The one place that decides how a file is made, before any coding: which model codes which
planes, the layout (tiled or stacked), tile and batch, and the seed model of a bits-back file.

``ACTIVE`` is the policy in force; the API, the CLI, ``flowzip bench`` and ``flowzip models`` all
ask it, and tests replace it. Shipping a new default model changes one line here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import zoo
from ..errors import FlowzipError, ImageError, ModelError
from ..fileformat import container
from ..images.image import Picture
from ..pipelines import stacked
from ..pipelines.tiles import tile_boxes

PLANES = {"L": [[0]], "LA": [[0], [1]], "RGB": [[0, 1, 2]], "RGBA": [[0, 1, 2], [3]]}


# What codes one picture (``Policy._coder``), and what an effort level lets code pictures.
FLOWS, CLASSICAL = "flows", "classical"
CLASSICAL_ONLY, AUTO, BEST = "classical only", "auto", "best"


@dataclass(frozen=True)
class Effort:
    """What an effort level (``--effort N``, ``-N``) does: which coders code a picture
    (``CLASSICAL_ONLY``: the classical coder only; ``AUTO``: the classical coder for photos, at
    least a stacked tile high and wide, the flows for thumbnails; ``BEST``: both, keeping the
    smaller file), whether bits-back models may code, and how flows are adapted to the images
    (``flowzip.adapt``: adapter, Adam steps, learning rate)."""

    words: str
    coders: str = AUTO
    bits_back: bool = True
    adapt: tuple[str, int, float] | None = None


EFFORTS = {
    1: Effort("the classical coder only (fastest)", coders=CLASSICAL_ONLY),
    2: Effort("the classical coder only", coders=CLASSICAL_ONLY),
    3: Effort("the classical coder only", coders=CLASSICAL_ONLY),
    4: Effort("the classical coder for photos, integer flows for thumbnails (no bits-back); a single thumbnail "
              "is coded both ways, the smaller kept", bits_back=False),
    5: Effort("as 4, with bits-back flows for archives of thumbnails (the default level)"),
    6: Effort("codes with the flows and with the classical coder and keeps the smaller file", coders=BEST),
    7: Effort("as 6, the flows adapted to the images (normalizations, 60 steps)", coders=BEST,
              adapt=("norms", 60, 1e-3)),
    8: Effort("as 6, the flows adapted to the images (normalizations and biases, 60 steps)", coders=BEST,
              adapt=("biases", 60, 1e-3)),
    9: Effort("as 6, the flows adapted to the images (normalizations and biases, 120 steps)", coders=BEST,
              adapt=("biases", 120, 1e-3)),
}
DEFAULT_EFFORT = 5
PLANE_NAMES = {3: "colour planes", 1: "gray and alpha planes"}


@dataclass
class Plan:
    """How to code some pictures: the layout, tile and batch, per picture its plane groups
    ``[(model, planes)]``, and the seed model of a stacked file whose tiles bits-back codes."""

    layout: int
    tile: int
    batch: int
    groups: list[list[tuple[zoo.LoadedModel, list[int]]]]
    seed: zoo.LoadedModel | None = None
    units: int = 0  # tiles to code, for progress
    chunks: list[tuple[list[tuple[int, int, int]], zoo.LoadedModel | None]] = field(default_factory=list)
    coder: int = 2  # how chunks are coded (``container.CODERS``)
    adapt: tuple[str, int, float] | None = None  # adapt the models that code plane groups (``Effort.adapt``)
    tiles: list[int] = field(default_factory=list)  # per picture its own tile side (0: ``tile``)

    @property
    def models(self) -> list[zoo.LoadedModel]:
        """Every model the file names, in order of first use (the seed last)."""
        out = []
        for groups in self.groups:
            for model, _ in groups:
                if model not in out:
                    out.append(model)
        for seed in [self.seed] + [seed for _, seed in self.chunks]:
            if seed is not None and seed not in out:
                out.append(seed)
        return out


def _installed(table: dict[int, str]) -> bool:
    return bool(table) and all(map(zoo.installed, table.values()))


def _units(pictures: list[Picture], groups: list[list], tiles: list[int]) -> int:
    return sum(len(tile_boxes(*p.pixels.shape[:2], t)) * len(g) for p, g, t in zip(pictures, groups, tiles))


def _split(pictures: list[Picture], tiles: list[int], target: int) -> list[list[tuple[int, int, int]]]:
    """Chunks of about ``target`` sub-pixels: (image, first tile, tiles) units in order; small
    images go whole into a chunk, a larger one is cut between rows of its tiles."""
    chunks, current, size = [], [], 0
    for i, (p, tile) in enumerate(zip(pictures, tiles)):
        h, w, c = p.pixels.shape
        cols, rows = -(-w // tile), -(-h // tile)
        r = 0
        while r < rows:
            if current and size >= target:
                chunks.append(current)
                current, size = [], 0
            r0 = r
            while r < rows and (r == r0 or size < target):
                size += (min(tile, h - r * tile)) * w * c
                r += 1
            current.append((i, r0 * cols, (r - r0) * cols))
    return chunks + [current]


def check_tile(tile: int) -> None:
    if tile % 16 or not container.MIN_TILE <= tile <= container.MAX_TILE:
        raise FlowzipError(f"tile must be a multiple of 16 from {container.MIN_TILE} to {container.MAX_TILE}")


@dataclass
class Policy:
    """Default models per number of coded channels (3: colour planes, 1: a gray or alpha plane)."""

    integer: dict[int, str] = field(default_factory=lambda: {3: "idf-rgb-v2", 1: "idf-gray-v1"})
    # pictures at least a stacked tile high and wide (photos rather than thumbnails):
    integer_photo: dict[int, str] = field(default_factory=lambda: {3: "idf-photo-v2", 1: "idf-gray-photo-v1"})
    # colour planes filling more tiles than the seed codes go to bits-back (smaller files, ~1.5x the time):
    bits_back: dict[int, str] = field(default_factory=lambda: {3: "glow-rgb-v2"})
    bits_back_photo: dict[int, str] = field(default_factory=lambda: {3: "glow-photo-v3"})
    tiled_tile: int = 256
    tiled_batch: int = 4
    stacked_tile: int = 64  # small tiles, so that few of them go to the seed model
    stacked_batch: int = 16
    # sub-pixels per chunk of an archive: the smallest measured size costing at most 0.5 % more than
    # one stream on held-out CIFAR-10 train images (docs/DATASETS.md)
    archive_chunk: int = 64 * 32 * 32 * 3
    job_chunk_tiles: int = 4 * stacked.SEED_TILES  # tiles a chunk of one picture needs (``jobs``)
    classical: str | None = zoo.CLASSICAL  # the classical coder (None: flows only)
    classical_tile: int = container.MAX_IMAGE_TILE  # it codes pictures whole, up to this size a tile
    # one photo that integer flows code: a chunk (version 3) with tiles of ``tiled_tile`` on
    # flowzip's rANS, faster than the tiled layout (version 1, as flowzip 0.1 wrote it)
    integer_photo_chunk: bool = True

    def plan(self, pictures: list[Picture], model: zoo.LoadedModel | None = None, **options) -> Plan:
        """The first of ``candidates``: how ``pictures`` are coded unless a candidate is smaller."""
        return self.candidates(pictures, model, **options)[0]

    def candidates(self, pictures: list[Picture], model: zoo.LoadedModel | None = None, *, archive: bool = False,
                   tile: int | None = None, batch: int | None = None, chunk: int | None = None, jobs: int = 1,
                   effort: int | None = None) -> list[Plan]:
        """The plans to code ``pictures`` into one file with; the smallest file wins (one plan but
        at the effort levels that try several coders). Per picture the effort level chooses the
        classical coder or the flows (``Effort``); pictures flows cannot code (not 8 bits per
        sample, palette indices) go to the classical coder, which codes each picture whole (tiles
        of ``classical_tile``). An archive (``archive``, or several pictures) is a chunked file
        (version 3), ``chunk`` sub-pixels per chunk (by default ``archive_chunk``; 0: one stacked
        stream, version 2, flows only). One picture that integer flows code is a tiled file
        (version 1), one that bits-back or the classical coder codes one chunk, or with ``jobs``
        > 1 and enough tiles, ``jobs`` chunks coded side by side. ``model`` codes the plane groups
        it fits, the defaults the rest; a single picture must have a group that it fits."""
        level = EFFORTS.get(DEFAULT_EFFORT if effort is None else effort)
        if level is None:
            raise FlowzipError(f"effort must be from 1 to 9, not {effort}")
        if not pictures:
            raise FlowzipError("an archive needs at least one image")
        if tile is not None:
            check_tile(tile)
        if batch is not None and not 1 <= batch <= container.MAX_BATCH:
            raise FlowzipError(f"batch must be from 1 to {container.MAX_BATCH}")
        if chunk is not None and chunk < 0:
            raise FlowzipError("chunk must be a number of sub-pixels (0: one stream)")
        archive = archive or len(pictures) > 1
        options = dict(tile=tile, batch=batch, chunk=chunk, jobs=jobs, level=level, archive=archive)
        coders = [self._coder(p, model, level, archive) for p in pictures]
        plans = [self._plan(pictures, model, coders, **options)]
        # both, keeping the smaller, at the levels that say so, and for a single thumbnail (cheap to
        # code twice; graphics, where the classical coder wins, come in every size)
        # (not when the caller chose a model: it codes what it fits)
        both = model is None and (level.coders == BEST or level.coders == AUTO and not archive)
        if both and any(c == FLOWS for c in coders) and self.classical:
            plans.append(self._plan(pictures, None, [CLASSICAL] * len(pictures), **options))
        return plans

    def _flows_can_code(self, picture: Picture) -> bool:
        return picture.bit_depth == 8 and not picture.is_palette

    def _coder(self, picture: Picture, model: zoo.LoadedModel | None, level: Effort, archive: bool) -> str:
        """``CLASSICAL`` or ``FLOWS`` for one picture."""
        if not self._flows_can_code(picture) and self.classical is None:
            raise ImageError(f"a {picture.bit_depth}-bit{' palette' if picture.is_palette else ''} image needs "
                             "the classical coder, which this policy does not use")
        if self.classical is None or model is not None and model.channels and self._flows_can_code(picture):
            return FLOWS  # no classical coder here, or the caller chose a flow that can code it
        if model is not None or not self._flows_can_code(picture) or level.coders == CLASSICAL_ONLY:
            return CLASSICAL
        if level.coders == AUTO and self._is_photo(picture, self.stacked_tile):
            return CLASSICAL
        return FLOWS

    def _plan(self, pictures: list[Picture], model: zoo.LoadedModel | None, coders: list[str], *, tile, batch, chunk,
              jobs, level: Effort, archive: bool) -> Plan:
        strict = not archive
        flows = [p for p, c in zip(pictures, coders) if c == FLOWS]
        integer_tile = 0  # one picture that integer flows code: tiles of ``tiled_tile``
        if not archive and coders == [FLOWS] and chunk is None:
            picture = pictures[0]
            defaults = self._defaults(pictures, tile or self.stacked_tile, level.bits_back)[0]
            groups = self._groups(picture.mode, model, strict, defaults)
            if not any(m.family.bits_back for m, _ in groups):
                integer_tile = tile or self.tiled_tile
            photo_chunk = self.integer_photo_chunk and self._is_photo(picture, self.stacked_tile)
            if integer_tile and level.adapt is None and not photo_chunk:
                # a thumbnail: the tiled layout's header is the smallest (a photo is coded faster
                # as a chunk, on flowzip's own ANS coder)
                groups = self._groups(picture.mode, model, strict, self._integer(picture, self.stacked_tile))
                return Plan(container.TILED, integer_tile, batch or self.tiled_batch, [groups], None,
                            _units(pictures, [groups], [integer_tile]), tiles=[0])
        tile, batch = tile or self.stacked_tile, batch or self.stacked_batch
        if integer_tile:  # tiles per network pass: about one tiled-layout tile (the bytes do not follow ``batch``)
            batch = min(container.MAX_BATCH, -(-self.tiled_tile**2 // integer_tile**2))
        defaults = iter(self._defaults(flows, tile, level.bits_back))
        groups = [self._groups(p.mode, model, strict, next(defaults)) if c == FLOWS else self._classical_groups(p)
                  for p, c in zip(pictures, coders)]
        tiles = [integer_tile if c == FLOWS else self._classical_side(p, 1 if archive else jobs)
                 for p, c in zip(pictures, coders)]
        units = _units(pictures, groups, [t or tile for t in tiles])
        if chunk is None and archive:
            chunk = self.archive_chunk
        elif chunk is None:
            chunk = self._chunk_for_jobs(pictures[0], tiles[0] or tile, jobs, tiles[0] == 0) or pictures[0].pixels.size
        if chunk == 0 and CLASSICAL in coders:
            raise FlowzipError("the classical coder writes chunked files only (chunk must not be 0)")
        adapt = level.adapt if flows else None
        if chunk or adapt:
            sides = [t or tile for t in tiles]
            chunks = [(c, self._seed([pictures[i] for i, _, _ in c], [groups[i] for i, _, _ in c], tile))
                      for c in _split(pictures, sides, chunk or self.archive_chunk)]
            return Plan(container.CHUNKED, tile, batch, groups, None, units, chunks, adapt=adapt, tiles=tiles)
        return Plan(container.STACKED, tile, batch, groups, self._seed(pictures, groups, tile), units,
                    tiles=tiles)

    def _classical_groups(self, picture: Picture) -> list[tuple[zoo.LoadedModel, list[int]]]:
        """The classical coder codes all of a picture's planes together."""
        return [(zoo.load_model(self.classical), list(range(picture.pixels.shape[2])))]

    def _chunk_for_jobs(self, picture: Picture, tile: int, jobs: int, seeded: bool = True) -> int:
        """Sub-pixels per chunk to cut one picture into ``jobs`` chunks, when each then has
        ``job_chunk_tiles`` tiles or more (a seeded, bits-back stack), or one at least (the
        classical coder); 0 (one chunk) otherwise."""
        h, w, c = picture.pixels.shape
        if jobs <= 1 or len(tile_boxes(h, w, tile)) < jobs * (self.job_chunk_tiles if seeded else 1):
            return 0
        return -(-h * w * c // jobs)

    def _classical_side(self, picture: Picture, jobs: int) -> int:
        """The classical coder's tile side for a picture: whole (up to ``classical_tile``), or cut
        in four for ``jobs`` > 1 workers when it is at least 512 pixels high and wide."""
        h, w, _ = picture.pixels.shape
        if jobs > 1 and min(h, w) >= 512:
            return min(self.classical_tile, -(-max(h, w) // 32) * 16)
        return self.classical_tile

    def _seed(self, pictures: list[Picture], groups: list[list], tile: int) -> zoo.LoadedModel | None:
        """The seed of a stack: the integer flow of the first picture that bits-back codes."""
        first = next((p for p, g in zip(pictures, groups) if any(m.family.bits_back for m, _ in g)), None)
        return None if first is None else zoo.load_model(self._integer(first, tile)[3])

    def _is_photo(self, picture: Picture, tile: int) -> bool:
        return min(picture.pixels.shape[:2]) >= tile

    def _integer(self, picture: Picture, tile: int) -> dict[int, str]:
        """The integer flows for a picture's planes: for pictures at least a tile high and wide,
        those fine-tuned on photos where they are installed."""
        if not self._is_photo(picture, tile):
            return dict(self.integer)
        return {**self.integer, **{c: n for c, n in self.integer_photo.items() if zoo.installed(n)}}

    def _defaults(self, pictures: list[Picture], tile: int, bits_back: bool = True) -> list[dict[int, str]]:
        """Default model per number of coded channels for each of the pictures coded together.
        Colour planes go to a bits-back model (unless ``bits_back`` is off) when all colour planes
        together fill more tiles than the seed model codes first: bits-back then pays for its start."""
        integer = [self._integer(p, tile) for p in pictures]
        colour_tiles = sum(len(tile_boxes(p.pixels.shape[0], p.pixels.shape[1], tile))
                           for p in pictures if p.pixels.shape[2] >= 3)
        if not bits_back or colour_tiles <= stacked.SEED_TILES or not _installed(self.bits_back):
            return integer
        photo = self.bits_back_photo if _installed(self.bits_back_photo) else {}
        return [{**ints, **self.bits_back, **(photo if self._is_photo(p, tile) else {})}
                for ints, p in zip(integer, pictures)]

    @staticmethod
    def _groups(mode: str, model: zoo.LoadedModel | None, strict: bool,
                defaults: dict[int, str]) -> list[tuple[zoo.LoadedModel, list[int]]]:
        """(model, planes) per plane group: colour planes together, gray and alpha alone."""
        groups = [(model if model is not None and model.channels == len(p) else zoo.load_model(defaults[len(p)]), p)
                  for p in PLANES[mode]]
        if strict and model is not None and all(m is not model for m, _ in groups):
            raise ModelError(f"model {model.name!r} codes {model.channels}-channel planes; a {mode} image has none")
        return groups

    def missing(self) -> list[str]:
        """The default integer flows (one per number of channels) that are not installed."""
        return [n for n in self.integer.values() if not zoo.installed(n)]

    def roles(self) -> dict[str, str]:
        """Model name -> what it is the default for, in words (for ``flowzip models`` and help)."""
        t = self.stacked_tile
        size = f"{t}x{t}"
        # with a classical coder the default effort gives it the photos: the flows code them from effort 6
        photos = f"pictures at least {size}" + (" (effort 6-9)" if self.classical else "")
        photo_integer = {c: n for c, n in self.integer_photo.items() if zoo.installed(n)}
        out = {}
        for c, name in self.integer.items():
            under = f" of pictures under {t} pixels high or wide" if c in photo_integer else ""
            out[name] = f"{PLANE_NAMES[c]}{under}" + (" that bits-back does not code" if c == 3 else "")
        for c, name in photo_integer.items():
            seeds = " that bits-back does not code; seeds their bits-back files" if c == 3 else ""
            out[name] = f"{PLANE_NAMES[c]} of {photos}{seeds}"
        larger = f"colour images (or archives) filling more than {stacked.SEED_TILES} tiles of {size}"
        photo = _installed(self.bits_back_photo)
        for name in self.bits_back.values():
            out[name] = larger + (f": those under {t} pixels high or wide" if photo else "")
        if photo:
            for name in self.bits_back_photo.values():
                out[name] = f"{larger}: {photos}"
        if self.classical:
            out[self.classical] = (f"pictures at least {size} (the flows too at effort 6-9: the smaller file is "
                                   "kept), pictures the flows cannot code (other depths than 8 bits, palettes), "
                                   "single thumbnails it codes smaller; everything at effort 1-3")
        return out


ACTIVE = Policy()
