"""A plan: how some pictures are coded into one file, by model *names* (``Plan``), and what planning
needs to know of a model a caller chose (``Model``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..images.image import Picture

PLANES = {"L": [[0]], "LA": [[0], [1]], "RGB": [[0, 1, 2]], "RGBA": [[0, 1, 2], [3]]}


@dataclass(frozen=True)
class Model:
    """What planning needs of a model: its name, how many planes it codes together (0: any, the
    classical coder), whether it codes with bits-back (it then needs a seed to start a stack), and
    whether it codes pictures whole (the local prior: in chunked files, as the classical coder)."""

    name: str
    channels: int
    bits_back: bool = False
    whole_pictures: bool = False


@dataclass(frozen=True)
class Plan:
    """How to code some pictures: the layout (format version), tile and batch, per picture its
    plane groups ``[(model name, planes)]`` and its own tile side (0: ``tile``), the seed model of
    a stacked file, the chunks of a chunked one, the coder of its chunks and the adaptation of
    its flows (``Effort.adapt``). ``models``: every model the file names, in order of first use
    (the seeds last); ``coders``: those that code plane groups."""

    layout: int
    tile: int
    batch: int
    groups: list[list[tuple[str, list[int]]]]
    seed: str | None = None
    units: int = 0  # tiles to code, for progress
    chunks: list[tuple[list[tuple[int, int, int]], str | None]] = field(default_factory=list)
    coder: int = 2  # how chunks are coded (``container.CODERS``)
    adapt: tuple[str, int, float] | None = None
    tiles: list[int] = field(default_factory=list)
    models: list[str] = field(init=False, compare=False)
    coders: list[str] = field(init=False, compare=False)

    def __post_init__(self):
        coders = list(dict.fromkeys(name for groups in self.groups for name, _ in groups))
        seeds = [self.seed] + [seed for _, seed in self.chunks]
        object.__setattr__(self, "coders", coders)
        object.__setattr__(self, "models", list(dict.fromkeys(coders + [s for s in seeds if s is not None])))


def tiles_in(picture: Picture, tile: int) -> int:
    """How many tiles of side ``tile`` cover a picture (row-major, the last ones cut short)."""
    height, width = picture.pixels.shape[:2]
    return -(-height // tile) * -(-width // tile)


def units(pictures: list[Picture], groups: list[list], tiles: list[int]) -> int:
    """Tiles of plane groups that coding the pictures reports progress for."""
    return sum(tiles_in(p, t) * len(g) for p, g, t in zip(pictures, groups, tiles))


def split(pictures: list[Picture], tiles: list[int], target: int) -> list[list[tuple[int, int, int]]]:
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
