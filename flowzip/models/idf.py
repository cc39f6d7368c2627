"""The integer discrete flow: an image model with exact integer latents (Hoogeboom et al. 2019).

Each level squeezes (2x2 -> channels), applies additive integer couplings, and (except the last)
factors out half of the channels under a discretized logistic prior conditioned on the kept half.
The last level's latents get a learned per-channel prior. Training uses ``log_prob``; coding uses
``latents`` (image -> latents with their prior parameters) and ``inverse`` (latents -> image), both
on its exact fixed-point twin (``flowzip.flows.idf.ExactIDF``), which walks the same levels
(``architecture.multiscale``). ``log_prob`` and ``latents`` share ``prior``, so the rate trained
for is the rate coded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

import torch
from torch import nn

from ..architecture import multiscale
from ..architecture.constants import PIXEL_OFFSET
from ..architecture.multiscale import idf_levels
from . import logistic
from .layers import AdditiveCoupling, ConvNet

INITIAL_LOG_SCALE = 2.0


@dataclass
class IDFConfig:
    channels: int = 3
    levels: int = 4
    couplings: list[int] = field(default_factory=lambda: [4, 4, 4, 4])
    hidden: int = 96
    prior_hidden: int = 128
    factor_out: float = 0.5  # fraction of channels factored out at each level but the last
    output_scale: float = 1.0  # power of two multiplying prior locations and coupling translations

    def to_dict(self) -> dict:
        return asdict(self)


class Level(nn.Module):
    def __init__(self, channels: int, couplings: int, hidden: int, prior_hidden: int | None, keep: int,
                 output_scale: float):
        super().__init__()
        self.couplings = nn.ModuleList(AdditiveCoupling(channels, hidden, output_scale) for _ in range(couplings))
        self.keep = keep
        self.prior = None
        if prior_hidden is not None:
            self.prior = ConvNet(self.keep, 2 * (channels - self.keep), prior_hidden)
            with torch.no_grad():
                self.prior.layers[-1].bias[channels - self.keep :] = INITIAL_LOG_SCALE

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        for coupling in self.couplings:
            z, _ = coupling(z)
        return z

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        for coupling in reversed(self.couplings):
            z, _ = coupling.inverse(z)
        return z


class IDF(nn.Module):
    """Integer discrete flow over ``channels``-channel 8-bit images."""

    def __init__(self, config: IDFConfig):
        super().__init__()
        self.config = config
        if len(config.couplings) != config.levels:
            raise ValueError("couplings must list one count per level")
        self.arch = idf_levels(config.channels, config.couplings, config.factor_out)
        self.levels = nn.ModuleList(
            Level(level.channels, level.transforms, config.hidden, config.prior_hidden if level.factors_out else None,
                  level.keep, config.output_scale) for level in self.arch.levels)
        self.top_channels = self.arch.top_channels
        self.top_mu = nn.Parameter(torch.zeros(self.top_channels))
        self.top_log_scale = nn.Parameter(torch.full((self.top_channels,), INITIAL_LOG_SCALE))

    @property
    def multiple(self) -> int:
        """Height and width must be multiples of this."""
        return self.arch.multiple

    # the level steps (``architecture.multiscale.LevelSteps``)

    def transform(self, level: int, z: torch.Tensor) -> torch.Tensor:
        return self.levels[level](z)

    def untransform(self, level: int, z: torch.Tensor) -> torch.Tensor:
        return self.levels[level].inverse(z)

    def prior(self, level: int, kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, ls = self.levels[level].prior(kept).chunk(2, dim=1)
        return mu * self.config.output_scale, logistic.clamp_log_scale(ls)

    def top(self, shape) -> tuple[torch.Tensor, torch.Tensor]:
        view = (1, -1, 1, 1)
        return (self.top_mu.view(view).expand(shape),
                logistic.clamp_log_scale(self.top_log_scale).view(view).expand(shape))

    @staticmethod
    def concat(kept: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        return torch.cat([kept, out], 1)

    # the walks

    def latents(self, x: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Image (B, C, H, W) of integers -> [(z, mu, log_scale)], in decoding order (top first)."""
        out = []
        multiscale.forward(self.arch, self, x - PIXEL_OFFSET, lambda z, params: out.append((z, *params)))
        return out[::-1]

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Log-likelihood in nats per image, for training."""
        total = 0.0
        for z, mu, ls in self.latents(x):
            total = total + logistic.log_prob(z, mu, ls).flatten(1).sum(1)
        return total

    forward = log_prob  # so that DistributedDataParallel wraps the training objective

    def inverse(self, pop: Callable, batch: int, height: int, width: int) -> torch.Tensor:
        """Rebuild images from latents. ``pop(mu, log_scale)`` returns the next latent tensor."""
        return multiscale.inverse(self.arch, self, lambda params: pop(*params), batch, height, width) + PIXEL_OFFSET

    def grow_from(self, source: "IDF") -> None:
        """Start from ``source``'s weights when this model only adds couplings to its levels, in
        pairs: the new ones come last and start as the identity (their nets' last layers are
        zero-initialised, and two channel reversals cancel), so the grown model begins as exactly
        the same flow. Call it on a freshly built model."""
        mine, theirs = self.config.to_dict(), source.config.to_dict()
        added = [a - b for a, b in zip(mine.pop("couplings"), theirs.pop("couplings"))]
        if mine != theirs or any(n < 0 or n % 2 for n in added):
            raise ValueError("only couplings added in pairs at the end of a level can grow a model")
        missing, unexpected = self.load_state_dict(source.state_dict(), strict=False)
        if unexpected or any(not k.startswith("levels.") or ".couplings." not in k for k in missing):
            raise ValueError("the source model's weights do not fit this architecture")
