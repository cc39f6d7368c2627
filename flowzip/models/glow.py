"""A dequantized Glow (Kingma & Dhariwal 2018) for 8-bit images, coded with local bits-back.

An image ``x`` becomes ``v = (x + u) / 256 - 1/2`` with uniform dequantization noise ``u``. Each
level squeezes (2x2 -> channels) and applies flow steps of actnorm, an LU-parameterised invertible
1x1 convolution and an affine coupling; all but the last level then factor out half of the
channels under a logistic prior conditioned on the kept half. The last level has a learned
per-channel logistic prior.

Every layer is affine in the values it transforms (its scale and shift come from other values),
which is what makes local bits-back coding exact up to discretization. The coder
(``flowzip.coding.glow.GlowCodec``) runs the same flow with its constants on fixed-point
grids and its networks as exact fixed-point twins, so the encoder and decoder compute identical
numbers.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from ..architecture.constants import PRIOR_LOG_SCALE, SCALE_LIMIT
from .layers import ConvNet, squeeze


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

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lower, upper = self.factors()
        ldu = lower @ ((self.sign * torch.exp(self.log_scale)).unsqueeze(1) * upper)
        y = F.conv2d(x, ldu.view(*ldu.shape, 1, 1))[:, self.perm]
        return y, self.log_scale.sum() * x.shape[2] * x.shape[3]


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


class GlowLevel(nn.Module):
    def __init__(self, channels: int, steps: int, hidden: int, prior_hidden: int | None):
        super().__init__()
        self.steps = nn.ModuleList(FlowStep(channels, hidden) for _ in range(steps))
        self.keep = channels if prior_hidden is None else channels // 2
        self.prior = None if prior_hidden is None else ConvNet(self.keep, 2 * (channels - self.keep),
                                                               prior_hidden, input_scale=1.0)


class Glow(nn.Module):
    """Dequantized multi-scale Glow over ``channels``-channel 8-bit images."""

    def __init__(self, config: GlowConfig):
        super().__init__()
        self.config = config
        if len(config.steps) != config.levels:
            raise ValueError("steps must list one count per level")
        levels, c = [], config.channels
        for i in range(config.levels):
            c *= 4
            last = i == config.levels - 1
            levels.append(GlowLevel(c, config.steps[i], config.hidden, None if last else config.prior_hidden))
            c = levels[-1].keep
        self.levels = nn.ModuleList(levels)
        self.top_channels = c
        self.top_mu = nn.Parameter(torch.zeros(c))
        self.top_log_scale = nn.Parameter(torch.zeros(c))
        self.register_buffer("initialized", torch.tensor(False))

    @property
    def multiple(self) -> int:
        return 2**self.config.levels

    def prior(self, level: GlowLevel, keep: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, ls = level.prior(keep).chunk(2, dim=1)
        return mu, ls.clamp(*PRIOR_LOG_SCALE)

    def top_prior(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (1, -1, 1, 1)
        ls = self.top_log_scale.clamp(*PRIOR_LOG_SCALE)
        return self.top_mu.view(shape).expand_as(like), ls.view(shape).expand_as(like)

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
        """log p(x + u) in nats per image, for dequantized pixels given as v = (x + u) / 256 - 1/2."""
        total = -math.log(256) * v[0].numel()
        for level in self.levels:
            v = squeeze(v)
            for step in level.steps:
                if init:
                    step.actnorm.initialize(v)
                v, logdet = step(v)
                total = total + logdet
            if level.prior is not None:
                keep, out = v[:, : level.keep], v[:, level.keep :]
                total = total + logistic_log_density(out, *self.prior(level, keep)).flatten(1).sum(1)
                v = keep
        return total + logistic_log_density(v, *self.top_prior(v)).flatten(1).sum(1)

    forward = log_prob
