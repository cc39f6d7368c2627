"""A dequantized Glow (Kingma & Dhariwal 2018) for 8-bit images, coded with local bits-back.

An image ``x`` becomes ``v = (x + u) / 256 - 1/2`` with uniform dequantization noise ``u``. Each
level squeezes (2x2 -> channels) and applies flow steps of actnorm, an LU-parameterised invertible
1x1 convolution and an affine coupling; all but the last level then factor out half of the
channels under a logistic prior conditioned on the kept half. The last level has a learned
per-channel logistic prior.

Every layer is affine in the values it transforms (its scale and shift come from other values),
which is what makes local bits-back coding exact up to discretization. The coder
(``flowzip.flows.glow.GlowCodec``) walks the same levels (``architecture.multiscale``) with its
constants on fixed-point grids and its networks as exact fixed-point twins, so the encoder and
decoder compute identical numbers. Every layer is a bijection with ``forward`` and ``inverse``,
both returning ``(output, logdet)``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from ..architecture import multiscale
from ..architecture.constants import PRIOR_LOG_SCALE, SCALE_LIMIT
from ..architecture.multiscale import glow_levels
from .layers import ConvNet


@dataclass
class GlowConfig:
    channels: int = 3
    levels: int = 3
    steps: list[int] = field(default_factory=lambda: [8, 8, 8])
    hidden: int = 128
    prior_hidden: int = 128

    def to_dict(self) -> dict:
        return asdict(self)


def logistic_log_density(z: torch.Tensor, mu: torch.Tensor, ls: torch.Tensor) -> torch.Tensor:
    """Elementwise log-density of a logistic with location ``mu`` and log-scale ``ls``."""
    a = (z - mu) * torch.exp(-ls)
    return -a - 2 * F.softplus(-a) - ls


class ActNorm(nn.Module):
    """y = (x + bias) * exp(log_scale), per channel; data-dependent initialisation (``initialize``)."""

    def __init__(self, channels: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))
        self.log_scale = nn.Parameter(torch.zeros(channels))

    @torch.no_grad()
    def initialize(self, x: torch.Tensor) -> None:
        """Set the bias and scale so that ``x`` comes out with zero mean and unit variance per channel."""
        mean = x.mean(dim=(0, 2, 3))
        std = x.std(dim=(0, 2, 3))
        self.bias.copy_(-mean)
        self.log_scale.copy_(-torch.log(std + 1e-6))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = (x + self.bias.view(1, -1, 1, 1)) * torch.exp(self.log_scale).view(1, -1, 1, 1)
        return y, self.log_scale.sum() * x.shape[2] * x.shape[3]

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = y * torch.exp(-self.log_scale).view(1, -1, 1, 1) - self.bias.view(1, -1, 1, 1)
        return x, -self.log_scale.sum() * y.shape[2] * y.shape[3]


class InvConv1x1(nn.Module):
    """Invertible 1x1 convolution W = P L D U: P a fixed permutation, L unit lower triangular,
    D = diag(sign * exp(log_scale)) with fixed signs, U unit upper triangular."""

    def __init__(self, channels: int):
        super().__init__()
        q = torch.linalg.qr(torch.randn(channels, channels))[0]
        p, lower, upper = torch.linalg.lu(q)
        d = torch.diagonal(upper)
        self.register_buffer("perm", torch.argmax(p, dim=1))  # (P z)[i] = z[perm[i]]
        self.register_buffer("sign", torch.sign(d))
        self.log_scale = nn.Parameter(torch.log(d.abs()))
        self.lower = nn.Parameter(torch.tril(lower, -1))
        self.upper = nn.Parameter(torch.triu(upper / d.view(-1, 1), 1))

    def factors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(L, U) with their unit diagonals."""
        eye = torch.eye(len(self.sign), device=self.sign.device, dtype=self.lower.dtype)
        return torch.tril(self.lower, -1) + eye, torch.triu(self.upper, 1) + eye

    def weight(self) -> torch.Tensor:
        """W = P L D U as a (C, C) matrix."""
        lower, upper = self.factors()
        return (lower @ ((self.sign * torch.exp(self.log_scale)).unsqueeze(1) * upper))[self.perm]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lower, upper = self.factors()
        ldu = lower @ ((self.sign * torch.exp(self.log_scale)).unsqueeze(1) * upper)
        y = F.conv2d(x, ldu.view(*ldu.shape, 1, 1))[:, self.perm]
        return y, self.log_scale.sum() * x.shape[2] * x.shape[3]

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        w = torch.linalg.inv(self.weight())
        return F.conv2d(y, w.view(*w.shape, 1, 1)), -self.log_scale.sum() * y.shape[2] * y.shape[3]


class AffineCoupling(nn.Module):
    """The second half of the channels: x_b * exp(s(x_a)) + t(x_a), with |s| < SCALE_LIMIT."""

    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.split = channels // 2
        self.net = ConvNet(self.split, 2 * (channels - self.split), hidden, input_scale=1.0)

    def scale_shift(self, x_a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raw, shift = self.net(x_a).chunk(2, dim=1)
        return SCALE_LIMIT * torch.tanh(raw / SCALE_LIMIT), shift

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x_a, x_b = x[:, : self.split], x[:, self.split :]
        log_scale, shift = self.scale_shift(x_a)
        y_b = x_b * torch.exp(log_scale) + shift
        return torch.cat([x_a, y_b], 1), log_scale.flatten(1).sum(1)

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y_a, y_b = y[:, : self.split], y[:, self.split :]
        log_scale, shift = self.scale_shift(y_a)
        return torch.cat([y_a, (y_b - shift) * torch.exp(-log_scale)], 1), -log_scale.flatten(1).sum(1)


class FlowStep(nn.Module):
    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.actnorm = ActNorm(channels)
        self.conv = InvConv1x1(channels)
        self.coupling = AffineCoupling(channels, hidden)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logdet = 0.0
        for layer in (self.actnorm, self.conv, self.coupling):
            x, ld = layer(x)
            logdet = logdet + ld
        return x, logdet

    def inverse(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logdet = 0.0
        for layer in (self.coupling, self.conv, self.actnorm):
            y, ld = layer.inverse(y)
            logdet = logdet + ld
        return y, logdet


class GlowLevel(nn.Module):
    def __init__(self, channels: int, steps: int, hidden: int, prior_hidden: int | None, keep: int):
        super().__init__()
        self.steps = nn.ModuleList(FlowStep(channels, hidden) for _ in range(steps))
        self.keep = keep
        self.prior = None if prior_hidden is None else ConvNet(self.keep, 2 * (channels - self.keep),
                                                               prior_hidden, input_scale=1.0)


class Glow(nn.Module):
    """Dequantized multi-scale Glow over ``channels``-channel 8-bit images."""

    def __init__(self, config: GlowConfig):
        super().__init__()
        self.config = config
        if len(config.steps) != config.levels:
            raise ValueError("steps must list one count per level")
        self.arch = glow_levels(config.channels, config.steps)
        self.levels = nn.ModuleList(
            GlowLevel(level.channels, level.transforms, config.hidden,
                      config.prior_hidden if level.factors_out else None, level.keep) for level in self.arch.levels)
        self.top_channels = self.arch.top_channels
        self.top_mu = nn.Parameter(torch.zeros(self.top_channels))
        self.top_log_scale = nn.Parameter(torch.zeros(self.top_channels))
        self.register_buffer("initialized", torch.tensor(False))

    @property
    def multiple(self) -> int:
        return self.arch.multiple

    def prior(self, level: int, kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, ls = self.levels[level].prior(kept).chunk(2, dim=1)
        return mu, ls.clamp(*PRIOR_LOG_SCALE)

    def top(self, shape) -> tuple[torch.Tensor, torch.Tensor]:
        view = (1, -1, 1, 1)
        return self.top_mu.view(view).expand(shape), self.top_log_scale.clamp(*PRIOR_LOG_SCALE).view(view).expand(shape)

    @torch.no_grad()
    def initialize(self, x: torch.Tensor) -> None:
        """Data-dependent actnorm initialisation from a batch of uint8-valued images."""
        self.log_prob(x, init=True)
        self.initialized.fill_(True)

    def log_prob(self, x: torch.Tensor, init: bool = False) -> torch.Tensor:
        """Log-likelihood in nats per image of pixels ``x`` (integers 0..255), with fresh uniform
        dequantization noise: the objective whose expectation bounds the coded rate."""
        if not init and not bool(self.initialized) and self.training:
            self.initialize(x)
        return self.log_density((x + torch.rand_like(x)) / 256 - 0.5, init)

    def log_density(self, v: torch.Tensor, init: bool = False) -> torch.Tensor:
        """log p(x + u) in nats per image, for dequantized pixels given as v = (x + u) / 256 - 1/2:
        the level walk (``architecture.multiscale``), summing the steps' log-determinants and the
        priors' log-densities."""
        walk = _Density(self, -math.log(256) * v[0].numel(), init)

        def emit(z, params):
            walk.total = walk.total + logistic_log_density(z, *params).flatten(1).sum(1)

        multiscale.forward(self.arch, walk, v, emit)
        return walk.total

    def latents(self, v: torch.Tensor) -> list[torch.Tensor]:
        """Dequantized pixels (as for ``log_density``) -> the latents, top first (float)."""
        out = []
        multiscale.forward(self.arch, _Density(self, 0.0), v, lambda z, params: out.append(z))
        return out[::-1]

    def generate(self, latents: list[torch.Tensor], batch: int, height: int, width: int) -> torch.Tensor:
        """The inverse of ``latents``: dequantized pixels from the latents, top first (float)."""
        latents = iter(latents)
        return multiscale.inverse(self.arch, _Density(self, 0.0), lambda params: next(latents), batch, height, width)

    forward = log_prob


class _Density:
    """The level steps (``architecture.multiscale.LevelSteps``) of one pass through a ``Glow``,
    summing the flow steps' log-determinants into ``total`` (and, with ``init``, setting each
    actnorm from the batch it sees first)."""

    def __init__(self, glow: Glow, total, init: bool = False):
        self.glow, self.total, self.init = glow, total, init
        self.prior, self.top = glow.prior, glow.top

    def transform(self, level: int, v: torch.Tensor) -> torch.Tensor:
        for step in self.glow.levels[level].steps:
            if self.init:
                step.actnorm.initialize(v)
            v, logdet = step(v)
            self.total = self.total + logdet
        return v

    def untransform(self, level: int, z: torch.Tensor) -> torch.Tensor:
        for step in reversed(self.glow.levels[level].steps):
            z, logdet = step.inverse(z)
            self.total = self.total + logdet
        return z

    @staticmethod
    def concat(kept: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        return torch.cat([kept, out], 1)
