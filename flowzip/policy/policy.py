"""The one place that decides how a file is made, before any coding: which model codes which
planes, the layout (tiled, stacked or chunked), tile and batch, chunks, and the seed model of a
bits-back stack. A ``Policy`` is a value: the API, the CLI, ``flowzip bench`` and the cluster are
handed one (``DEFAULT`` unless they are given another); it plans by model *names*, from the
pictures and the names it is told are installed, and reads no file."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..errors import FlowzipError, ImageError, ModelError, a_or_an
from ..fileformat import container
from ..images.image import Picture
from ..pipelines import stacked, tiled
from .efforts import AUTO, BEST, CLASSICAL, CLASSICAL_ONLY, DEFAULT_EFFORT, EFFORTS, FLOWS, LOCAL, Effort
from .plan import PLANES, Model, Plan, split, tiles_in, units

PLANE_NAMES = {3: "colour planes", 1: "gray and alpha planes"}


def check_tile(tile: int) -> None:
    if tile % 16 or not container.MIN_TILE <= tile <= container.MAX_TILE:
        raise FlowzipError(f"tile must be a multiple of 16 from {container.MIN_TILE} to {container.MAX_TILE}")


@dataclass(frozen=True)
class Policy:
    """Default models per number of coded channels (3: colour planes, 1: a gray or alpha plane),
    and the sizes that shape files."""

    integer: dict[int, str] = field(default_factory=lambda: {3: "idf-rgb-v2", 1: "idf-gray-v1"})
    # pictures at least a stacked tile high and wide (photos rather than thumbnails):
    integer_photo: dict[int, str] = field(default_factory=lambda: {3: "idf-photo-v2", 1: "idf-gray-photo-v1"})
    # colour planes filling more tiles than the seed codes go to bits-back (smaller files, ~1.5x the time):
    bits_back: dict[int, str] = field(default_factory=lambda: {3: "glow-rgb-v2"})
    bits_back_photo: dict[int, str] = field(default_factory=lambda: {3: "glow-photo-v3"})
    # the learned local prior: colour planes of 8-bit pictures, coded whole (the classical coder
    # codes their other planes); for thumbnails (under a stacked tile high or wide) and photos
    local: dict[int, str] = field(default_factory=lambda: {3: "local-rgb-v16"})
    local_photo: dict[int, str] = field(default_factory=lambda: {3: "guided-photo-v1"})
    # more guides for photos, tried beside ``local_photo`` at the efforts that try every coder
    # (about 5x its time each; wider networks with a larger window, one trained on thumbnails, one
    # then on reduced photos: each the smaller on some held-out photos, docs/RESULTS.md)
    more_local_photo: dict[int, tuple[str, ...]] = field(
        default_factory=lambda: {3: ("guided-rgb-v5", "guided-photo-v3")})
    # the default effort gives the local prior pictures up to this many pixels (about 6 s per Mpixel
    # each way on one core); larger ones from effort 6
    local_default_pixels: int = 2_000_000
    tiled_tile: int = 256
    tiled_batch: int = tiled.DEFAULT_BATCH
    stacked_tile: int = 64  # small tiles, so that few of them go to the seed model
    stacked_batch: int = 16
    # sub-pixels per chunk of an archive: the smallest measured size costing at most 0.5 % more than
    # one stream on held-out CIFAR-10 train images (docs/DATASETS.md)
    archive_chunk: int = 64 * 32 * 32 * 3
    job_chunk_tiles: int = 4 * stacked.SEED_TILES  # tiles a chunk of one picture needs (``jobs``)
    classical: str | None = "classical-v1"  # the built-in classical coder (None: flows only)
    classical_tile: int = container.MAX_IMAGE_TILE  # it codes pictures whole, up to this size a tile
    # one photo that integer flows code: a chunk (version 3, written sealed: 7) with tiles of ``tiled_tile`` on
    # flowzip's rANS, faster than the tiled layout (version 1, as flowzip 0.1 wrote it)
    integer_photo_chunk: bool = True

    def plan(self, pictures: list[Picture], model: Model | None = None, **options) -> Plan:
        """The first of ``candidates``: how ``pictures`` are coded unless a candidate is smaller."""
        return self.candidates(pictures, model, **options)[0]

    def candidates(self, pictures: list[Picture], model: Model | None = None, *, installed=None,
                   archive: bool = False, tile: int | None = None, batch: int | None = None,
                   chunk: int | None = None, jobs: int = 1, effort: int | None = None) -> list[Plan]:
        """The plans to code ``pictures`` into one file with; the smallest file wins (one plan but
        at the effort levels that try several coders). Per picture the effort level chooses the
        classical coder or the flows (``Effort``); pictures flows cannot code (not 8 bits per
        sample, palette indices) go to the classical coder, which codes each picture whole (tiles
        of ``classical_tile``). An archive (``archive``, or several pictures) is a chunked file
        (version 3, written sealed: 7), ``chunk`` sub-pixels per chunk (by default ``archive_chunk``; 0: one stacked
        stream, version 2, flows only). One thumbnail that integer flows code is a tiled file
        (version 1), any other single picture one chunk, or with ``jobs`` > 1 and enough tiles,
        ``jobs`` chunks coded side by side. ``model`` codes the plane groups it fits, the defaults
        the rest; a single picture must have a group that it fits. ``installed``: the model names
        that may be used (None: every name); a default that is not installed falls back to the
        next. At efforts above the default the default's plans are candidates too, so that a
        higher effort never makes a larger file, and at the levels that adapt each adapted plan's
        twin without adaptation."""
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
        options = dict(model=model, installed=installed, archive=archive or len(pictures) > 1, tile=tile,
                       batch=batch, chunk=chunk, jobs=jobs)
        plans = self._candidates(pictures, level, **options)
        if (effort or DEFAULT_EFFORT) > DEFAULT_EFFORT:
            plans += [p for p in self._candidates(pictures, EFFORTS[DEFAULT_EFFORT], **options) if p not in plans]
        # each adapted plan's unadapted twin too: adapting costs minutes, and is only worth trying
        # where the twin comes near the best file (``api.encode``)
        for twin in [replace(p, adapt=None) for p in plans if p.adapt is not None]:
            plans += [twin] if twin not in plans else []
        return plans

    def _candidates(self, pictures: list[Picture], level: Effort, *, model, archive, installed,
                    **options) -> list[Plan]:
        coders = [self._coder(p, model, level, archive, installed) for p in pictures]
        options.update(level=level, archive=archive, installed=installed)
        plans = [self._plan(pictures, model, coders, **options)]
        # the others too, keeping the smallest, at the levels that say so, and for a single picture
        # (a thumbnail is cheap to code twice, and graphics, where the classical coder wins, come
        # in every size) (not when the caller chose a model: it codes what it fits)
        both = model is None and (level.coders == BEST or level.coders == AUTO and not archive)
        if both and LOCAL in coders and level.coders == BEST:  # the flows where the local prior codes
            flows = [FLOWS if c == LOCAL else c for c in coders]
            plans.append(self._plan(pictures, None, flows, **options))
            for name in self._more_guides(installed):  # and the other guides for photos
                plan = replace(self, local_photo={3: name})._plan(pictures, None, coders, **options)
                plans += [plan] if plan not in plans else []
        if both and any(c in (FLOWS, LOCAL) for c in coders) and self.classical:
            plans.append(self._plan(pictures, None, [CLASSICAL] * len(pictures), **options))
        return plans

    @staticmethod
    def _flows_can_code(picture: Picture) -> bool:
        return picture.bit_depth == 8 and not picture.is_palette

    def _coder(self, picture: Picture, model: Model | None, level: Effort, archive: bool, installed) -> str:
        """``CLASSICAL``, ``LOCAL`` or ``FLOWS`` for one picture."""
        if not self._flows_can_code(picture) and self.classical is None:
            what = f"{picture.bit_depth}-bit{' palette' if picture.is_palette else ''}"
            raise ImageError(f"{a_or_an(what)} {what} image needs the classical coder, which this policy does not use")
        if model is not None and model.channels and self._flows_can_code(picture):
            if model.whole_pictures:  # the caller chose a local prior
                if self.classical is None and len(PLANES[picture.mode]) > 1:
                    raise ModelError(f"model {model.name!r} needs the classical coder for the other planes of "
                                     f"{a_or_an(picture.mode)} {picture.mode} image")
                return LOCAL
            return FLOWS  # the caller chose a flow that can code it
        if self.classical is None:
            return FLOWS  # no classical coder here
        if model is not None or not self._flows_can_code(picture) or level.coders == CLASSICAL_ONLY:
            return CLASSICAL
        small_enough = picture.pixels.shape[0] * picture.pixels.shape[1] <= self.local_default_pixels
        if level.local and self._local(picture, installed) and (small_enough or level.coders == BEST):
            return LOCAL
        if level.coders == AUTO and self._is_photo(picture, self.stacked_tile):
            return CLASSICAL
        return FLOWS

    def _local(self, picture: Picture, installed) -> str | None:
        """The local prior for a picture's colour planes, if it has colour planes and one is installed."""
        if picture.pixels.shape[2] < 3:
            return None
        name = (self.local_photo if self._is_photo(picture, self.stacked_tile) else self.local).get(3)
        return name if name is not None and (installed is None or name in installed) else None

    def _local_groups(self, picture: Picture, model: Model | None, installed) -> list[tuple[str, list[int]]]:
        """The local prior codes the colour planes, the classical coder the others (alpha)."""
        name = model.name if model is not None and model.whole_pictures else self._local(picture, installed)
        return [(name if len(planes) == 3 else self.classical, planes) for planes in PLANES[picture.mode]]

    def _plan(self, pictures: list[Picture], model: Model | None, coders: list[str], *, installed, tile, batch,
              chunk, jobs, level: Effort, archive: bool) -> Plan:
        strict = not archive
        flows = [p for p, c in zip(pictures, coders) if c == FLOWS]
        integer_tile = 0  # one picture that integer flows code: tiles of ``tiled_tile``
        if not archive and coders == [FLOWS] and chunk is None:
            picture = pictures[0]
            defaults = self._defaults(pictures, tile or self.stacked_tile, level.bits_back, installed)[0]
            groups = self._groups(picture.mode, model, strict, defaults)
            if not any(self._is_bits_back(name, model) for name, _ in groups):
                integer_tile = tile or self.tiled_tile
            photo_chunk = self.integer_photo_chunk and self._is_photo(picture, self.stacked_tile)
            if integer_tile and level.adapt is None and not photo_chunk:
                # a thumbnail: the tiled layout's header is the smallest (a photo is coded faster
                # as a chunk, on flowzip's own ANS coder)
                groups = self._groups(picture.mode, model, strict, self._integer(picture, self.stacked_tile,
                                                                                 installed))
                return Plan(container.TILED, integer_tile, batch or self.tiled_batch, [groups], None,
                            units(pictures, [groups], [integer_tile]), tiles=[0])
        tile, batch = tile or self.stacked_tile, batch or self.stacked_batch
        if integer_tile:  # tiles per network pass: about one tiled-layout tile (the bytes do not follow ``batch``)
            batch = min(container.MAX_BATCH, -(-self.tiled_tile**2 // integer_tile**2))
        defaults = iter(self._defaults(flows, tile, level.bits_back, installed))
        groups = [self._groups(p.mode, model, strict, next(defaults)) if c == FLOWS else
                  self._local_groups(p, model, installed) if c == LOCAL else self._classical_groups(p)
                  for p, c in zip(pictures, coders)]
        tiles = [integer_tile if c == FLOWS else self._classical_side(p, 1 if archive else jobs)
                 for p, c in zip(pictures, coders)]
        count = units(pictures, groups, [t or tile for t in tiles])
        if chunk is None and archive:
            chunk = self.archive_chunk
        elif chunk is None:
            chunk = self._chunk_for_jobs(pictures[0], tiles[0] or tile, jobs, tiles[0] == 0) or pictures[0].pixels.size
        if chunk == 0 and (CLASSICAL in coders or LOCAL in coders):
            raise FlowzipError("the classical coder and the local prior write chunked files only (chunk must not be 0)")
        adapt = level.adapt if flows or LOCAL in coders else None
        seed = lambda indices: self._seed([pictures[i] for i in indices], [groups[i] for i in indices], tile,  # noqa: E731
                                          model, installed)
        if chunk or adapt:
            sides = [t or tile for t in tiles]
            chunks = [(c, seed([i for i, _, _ in c])) for c in split(pictures, sides, chunk or self.archive_chunk)]
            return Plan(container.CHUNKED, tile, batch, groups, None, count, chunks, adapt=adapt, tiles=tiles)
        return Plan(container.STACKED, tile, batch, groups, seed(range(len(pictures))), count, tiles=tiles)

    def stored(self, pictures: list[Picture]) -> Plan | None:
        """The plan that can keep pictures' own PNG image data (``Picture.deflated``): every
        picture coded whole by the classical coder, one picture a chunk of its own or an archive's
        chunks. For when every candidate came out larger than the input PNG files; None without a
        classical coder."""
        if self.classical is None:
            return None
        return self._plan(pictures, None, [CLASSICAL] * len(pictures), installed=None, tile=None, batch=None,
                          chunk=None, jobs=1, level=EFFORTS[DEFAULT_EFFORT], archive=len(pictures) > 1)

    def _classical_groups(self, picture: Picture) -> list[tuple[str, list[int]]]:
        """The classical coder codes all of a picture's planes together."""
        return [(self.classical, list(range(picture.pixels.shape[2])))]

    def _chunk_for_jobs(self, picture: Picture, tile: int, jobs: int, seeded: bool = True) -> int:
        """Sub-pixels per chunk to cut one picture into ``jobs`` chunks, when each then has
        ``job_chunk_tiles`` tiles or more (a seeded, bits-back stack), or one at least (the
        classical coder); 0 (one chunk) otherwise."""
        if jobs <= 1 or tiles_in(picture, tile) < jobs * (self.job_chunk_tiles if seeded else 1):
            return 0
        return -(-picture.pixels.size // jobs)

    def _classical_side(self, picture: Picture, jobs: int) -> int:
        """The classical coder's tile side for a picture: whole (up to ``classical_tile``), or cut
        in four for ``jobs`` > 1 workers when it is at least 512 pixels high and wide."""
        h, w, _ = picture.pixels.shape
        if jobs > 1 and min(h, w) >= 512:
            return min(self.classical_tile, -(-max(h, w) // 32) * 16)
        return self.classical_tile

    def _seed(self, pictures: list[Picture], groups: list[list], tile: int, model: Model | None,
              installed) -> str | None:
        """The seed of a stack: the integer flow of the first picture that bits-back codes."""
        first = next((p for p, g in zip(pictures, groups) if any(self._is_bits_back(n, model) for n, _ in g)), None)
        return None if first is None else self._integer(first, tile, installed)[3]

    def _is_bits_back(self, name: str, model: Model | None) -> bool:
        if model is not None and name == model.name:
            return model.bits_back
        return name in self.bits_back.values() or name in self.bits_back_photo.values()

    @staticmethod
    def _is_photo(picture: Picture, tile: int) -> bool:
        return min(picture.pixels.shape[:2]) >= tile

    def _more_guides(self, installed) -> list[str]:
        """The installed ones of ``more_local_photo``'s colour guides."""
        return [n for n in self.more_local_photo.get(3, ()) if installed is None or n in installed]

    @staticmethod
    def _installed(names, installed) -> bool:
        return bool(names) and (installed is None or all(n in installed for n in names))

    def _integer(self, picture: Picture, tile: int, installed) -> dict[int, str]:
        """The integer flows for a picture's planes: for pictures at least a tile high and wide,
        those fine-tuned on photos where they are installed."""
        if not self._is_photo(picture, tile):
            return dict(self.integer)
        photo = {c: n for c, n in self.integer_photo.items() if installed is None or n in installed}
        return {**self.integer, **photo}

    def _defaults(self, pictures: list[Picture], tile: int, bits_back: bool, installed) -> list[dict[int, str]]:
        """Default model per number of coded channels for each of the pictures coded together.
        Colour planes go to a bits-back model (unless ``bits_back`` is off) when all colour planes
        together fill more tiles than the seed model codes first: bits-back then pays for its start."""
        integer = [self._integer(p, tile, installed) for p in pictures]
        colour_tiles = sum(tiles_in(p, tile) for p in pictures if p.pixels.shape[2] >= 3)
        if not bits_back or colour_tiles <= stacked.SEED_TILES or not self._installed(self.bits_back.values(),
                                                                                      installed):
            return integer
        photo = self.bits_back_photo if self._installed(self.bits_back_photo.values(), installed) else {}
        return [{**ints, **self.bits_back, **(photo if self._is_photo(p, tile) else {})}
                for ints, p in zip(integer, pictures)]

    @staticmethod
    def _groups(mode: str, model: Model | None, strict: bool, defaults: dict[int, str]) -> list[tuple[str, list[int]]]:
        """(model name, planes) per plane group: colour planes together, gray and alpha alone."""
        fits = [model is not None and model.channels == len(p) for p in PLANES[mode]]
        if strict and model is not None and not any(fits):
            raise ModelError(f"model {model.name!r} codes {model.channels}-channel planes; "
                             f"{a_or_an(mode)} {mode} image has none")
        return [(model.name if fit else defaults[len(p)], p) for p, fit in zip(PLANES[mode], fits)]

    def names(self) -> list[str]:
        """Every model name this policy may choose by default."""
        tables = (self.local, self.local_photo, self.integer, self.integer_photo, self.bits_back, self.bits_back_photo)
        names = [n for t in tables for n in t.values()] + [n for more in self.more_local_photo.values() for n in more]
        return list(dict.fromkeys(names + ([self.classical] if self.classical else [])))

    def missing(self, installed) -> list[str]:
        """The default integer flows (one per number of channels) that are not installed."""
        return [n for n in self.integer.values() if n not in installed]

    def roles(self, installed=None) -> dict[str, str]:
        """Model name -> what it is the default for, in words (for ``flowzip models``, help and the
        README); ``installed``: as for ``candidates``."""
        t = self.stacked_tile
        size = f"{t}x{t}"
        ok = lambda table: {c: n for c, n in table.items() if installed is None or n in installed}  # noqa: E731
        local, local_photo = ok(self.local), ok(self.local_photo)
        # with a classical coder (and a local prior) the default effort gives them the photos: the
        # flows code photos from effort 6
        photos = f"pictures at least {size}" + (" (effort 6-9)" if self.classical else "")
        small = f"pictures under {t} pixels high or wide"
        beside_local = " (effort 4, and 6-9)" if local else ""  # where the local prior codes colour thumbnails
        photo_integer = ok(self.integer_photo)
        out = {}
        for name in local_photo.values():
            out[name] = (f"colour planes of 8-bit pictures at least {size} (effort 5-9, above "
                         f"{self.local_default_pixels / 1e6:g} Mpixel 6-9; one picture is coded by the classical coder "
                         "too, the smaller kept; a large drawing by it alone)")
        for name in self._more_guides(installed):
            out[name] = f"colour planes of 8-bit pictures at least {size}, tried too at effort 6-9"
        for name in local.values():
            out[name] = f"colour planes of 8-bit pictures under {t} pixels high or wide (effort 5-9)"
        for c, name in self.integer.items():
            under = f" of {small}{beside_local if c == 3 else ''}" if c in photo_integer else ""
            out[name] = f"{PLANE_NAMES[c]}{under}" + (" that bits-back does not code" if c == 3 else "")
        for c, name in photo_integer.items():
            seeds = " that bits-back does not code; seeds their bits-back files" if c == 3 else ""
            out[name] = f"{PLANE_NAMES[c]} of {photos}{seeds}"
        larger = f"colour images (or archives) filling more than {stacked.SEED_TILES} tiles of {size}"
        photo = self._installed(self.bits_back_photo.values(), installed)
        for name in self.bits_back.values():
            when = " (effort 6-9)" if local else ""  # the local prior codes them at 5
            out[name] = larger + (f": those under {t} pixels high or wide{when}" if photo else "")
        if photo:
            for name in self.bits_back_photo.values():
                out[name] = f"{larger}: {photos}"
        if self.classical:
            lead = (f"pictures at least {size} at effort 4 (and 5-9 where it codes them smaller), the other "
                    "planes of those the local prior codes" if local_photo else
                    f"pictures at least {size} (the flows too at effort 6-9: the smaller file is kept)")
            out[self.classical] = (f"{lead}, pictures the learned models cannot code (other depths than 8 bits, "
                                   "palettes), single thumbnails it codes smaller; everything at effort 1-3")
        return out
