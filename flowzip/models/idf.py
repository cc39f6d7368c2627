"""The integer discrete flow: an image model with exact integer latents (Hoogeboom et al. 2019).

Each level squeezes (2x2 -> channels), applies additive integer couplings, and (except the last)
factors out half of the channels under a discretized logistic prior conditioned on the kept half.
The last level's latents get a learned per-channel prior. Training uses ``log_prob``; coding uses
``latents`` (image -> latents with their prior parameters) and ``inverse`` (latents -> image), both
on its exact fixed-point twin (``flowzip.coding.idf.ExactIDF``). ``log_prob`` and ``latents`` share
``_prior``, so the rate trained for is the rate coded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

import torch
from torch import nn

from . import logistic
from ..architecture.constants import PIXEL_OFFSET
from .layers import AdditiveCoupling, ConvNet, squeeze, unsqueeze

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
            z = coupling(z)
        return z

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        for coupling in reversed(self.couplings):
            z = coupling.inverse(z)
        return z


class IDF(nn.Module):
    """Integer discrete flow over ``channels``-channel 8-bit images."""

    def __init__(self, config: IDFConfig):
        super().__init__()
        self.config = config
        if len(config.couplings) != config.levels:
            raise ValueError("couplings must list one count per level")
        levels, c = [], config.channels
        for i in range(config.levels):
            c *= 4
            last = i == config.levels - 1
            keep = c if last else max(1, round(c * (1 - config.factor_out)))
            levels.append(Level(c, config.couplings[i], config.hidden, None if last else config.prior_hidden, keep,
                                config.output_scale))
            c = keep
        self.levels = nn.ModuleList(levels)
        self.top_channels = c
        self.top_mu = nn.Parameter(torch.zeros(c))
        self.top_log_scale = nn.Parameter(torch.full((c,), INITIAL_LOG_SCALE))

    @property
    def multiple(self) -> int:
        """Height and width must be multiples of this."""
        return 2**self.config.levels

    def _prior(self, level: Level, keep: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, ls = level.prior(keep).chunk(2, dim=1)
        return mu * self.config.output_scale, logistic.clamp_log_scale(ls)

    def _top_prior(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (1, -1, 1, 1)
        mu = self.top_mu.view(shape).expand_as(like)
        ls = logistic.clamp_log_scale(self.top_log_scale).view(shape).expand_as(like)
        return mu, ls

    def latents(self, x: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Image (B, C, H, W) of integers -> [(z, mu, log_scale)], in decoding order (top first)."""
        out = []
        z = x - PIXEL_OFFSET
        for level in self.levels:
            z = level(squeeze(z))
            if level.prior is not None:
                keep, z_out = z[:, : level.keep], z[:, level.keep :]
                out.append((z_out, *self._prior(level, keep)))
                z = keep
        out.append((z, *self._top_prior(z)))
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
        m = self.multiple
        like = torch.empty(batch, self.top_channels, height // m, width // m, dtype=self.top_mu.dtype,
                           device=self.top_mu.device)
        z = pop(*self._top_prior(like))
        for level in reversed(self.levels):
            if level.prior is not None:
                z = torch.cat([z, pop(*self._prior(level, z))], 1)
            z = unsqueeze(level.inverse(z))
        return z + PIXEL_OFFSET

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
