"""The level walk of a multi-scale flow, written once for every flow family and both of its forms:
the float model that trains (``flowzip.models``, torch) and its exact twin that codes
(``flowzip.flows``, numpy integers).

Each level squeezes 2x2 blocks into channels, transforms them (the IDF's integer couplings, the
Glow's flow steps) and, but at the last level, factors out the channels beyond ``keep`` under a
prior conditioned on those kept; the top level's latents have a per-channel prior. ``Levels``
describes the levels from a model's config; ``forward`` walks an image down to its latents and
``inverse`` walks latents back up; what each family does within a level comes from its
``LevelSteps`` (``transform``, ``untransform``, ``prior``, ``top``, ``concat``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol


@dataclass(frozen=True)
class Level:
    channels: int  # after squeezing
    transforms: int  # couplings (IDF) or flow steps (Glow)
    keep: int  # channels going on to the next level (all of them at the last)
    factors_out: bool  # whether the others are factored out under a prior (every level but the last)


@dataclass(frozen=True)
class Levels:
    """The levels of a flow over ``channels``-channel images."""

    channels: int
    levels: tuple[Level, ...]

    @property
    def top_channels(self) -> int:
        return self.levels[-1].keep

    @property
    def multiple(self) -> int:
        """Tiles' height and width must be multiples of this."""
        return 2 ** len(self.levels)

    @classmethod
    def build(cls, channels: int, transforms: list[int], keep: Callable[[int], int]) -> "Levels":
        """``transforms[i]`` per level; ``keep(c)``: the channels a level of ``c`` keeps."""
        levels, c = [], channels
        for i, n in enumerate(transforms):
            c *= 4
            last = i == len(transforms) - 1
            kept = c if last else keep(c)
            levels.append(Level(c, n, kept, not last))
            c = kept
        return cls(channels, tuple(levels))


def idf_levels(channels: int, couplings: list[int], factor_out: float = 0.5) -> Levels:
    """An integer discrete flow's levels: a fraction ``factor_out`` of the channels factored out."""
    return Levels.build(channels, couplings, lambda c: max(1, round(c * (1 - factor_out))))


def glow_levels(channels: int, steps: list[int]) -> Levels:
    """A Glow's levels: half of the channels factored out."""
    return Levels.build(channels, steps, lambda c: c // 2)


class LevelSteps(Protocol):
    """What a flow does within its levels, for ``forward`` and ``inverse`` (numpy or torch)."""

    def transform(self, level: int, x): ...  # the level's bijection, towards the latents

    def untransform(self, level: int, z): ...  # its inverse

    def prior(self, level: int, kept) -> Any: ...  # the prior's parameters of what is factored out

    def top(self, shape: tuple[int, ...]) -> Any: ...  # the top latents' prior parameters

    def concat(self, kept, out): ...  # channels of ``kept`` then of ``out``


def _permute(x, axes):
    return x.permute(*axes) if hasattr(x, "permute") else x.transpose(axes)


def squeeze(x):
    """(B, C, H, W) -> (B, 4C, H/2, W/2): each 2x2 block becomes four channels (numpy or torch)."""
    b, c, h, w = x.shape
    return _permute(x.reshape(b, c, h // 2, 2, w // 2, 2), (0, 1, 3, 5, 2, 4)).reshape(b, 4 * c, h // 2, w // 2)


def unsqueeze(x):
    """The inverse of ``squeeze``."""
    b, c, h, w = x.shape
    return _permute(x.reshape(b, c // 4, 2, 2, h, w), (0, 1, 4, 2, 5, 3)).reshape(b, c // 4, 2 * h, 2 * w)


def forward(levels: Levels, steps: LevelSteps, x, emit: Callable[[Any, Any], None]):
    """Walk ``x`` down the levels; ``emit(z, params)`` receives each factored-out part with its
    prior's parameters, level by level, then the top latents with theirs. Returns the top latents."""
    for i, level in enumerate(levels.levels):
        x = steps.transform(i, squeeze(x))
        if level.factors_out:
            kept, out = x[:, : level.keep], x[:, level.keep :]
            emit(out, steps.prior(i, kept))
            x = kept
    emit(x, steps.top(tuple(x.shape)))
    return x


def inverse(levels: Levels, steps: LevelSteps, take: Callable[[Any], Any], batch: int, height: int, width: int):
    """Walk back up from the top: ``take(params)`` gives the latents a prior describes (the top
    first, then each level's factored-out part, the last level first), as ``forward`` emitted them
    in the other order. Returns the image (B, C, height, width)."""
    m = levels.multiple
    x = take(steps.top((batch, levels.top_channels, height // m, width // m)))
    for i in reversed(range(len(levels.levels))):
        if levels.levels[i].factors_out:
            x = steps.concat(x, take(steps.prior(i, x)))
        x = unsqueeze(steps.untransform(i, x))
    return x
