"""Layers shared by the float models: the conditioner network and integer couplings.

Direction: ``forward`` maps an image towards its latents, ``inverse`` maps latents back; a
bijection's both return ``(output, logdet)`` (``architecture.protocols.Bijection``). Tensors of
the integer flow hold integer values in a float dtype, so that gradients can pass the
straight-through rounding. Squeezing is ``architecture.multiscale.squeeze``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..architecture.constants import CONVNET_INPUT_SCALE, TRANSLATION_LIMIT


class ConvNet(nn.Module):
    """3x3 conv -> ReLU -> 1x1 conv -> ReLU -> 3x3 conv, the last layer zero-initialised.

    The input is multiplied by ``input_scale`` (a power of two) first, so that integer latents
    of size ~100 enter the network at size ~1. Coding runs an exact fixed-point twin of it
    (``flowzip.flows.fixedpoint.FixedNet``).
    """

    def __init__(self, in_channels: int, out_channels: int, hidden: int, input_scale: float = CONVNET_INPUT_SCALE):
        super().__init__()
        self.input_scale = input_scale
        self.layers = nn.ModuleList(
            [
                nn.Conv2d(in_channels, hidden, 3, padding=1),
                nn.Conv2d(hidden, hidden, 1),
                nn.Conv2d(hidden, out_channels, 3, padding=1),
            ]
        )
        nn.init.zeros_(self.layers[-1].weight)
        nn.init.zeros_(self.layers[-1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x * self.input_scale
        for i, conv in enumerate(self.layers):
            h = conv(h)
            if i < len(self.layers) - 1:
                h = F.relu(h)
        return h


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """Round half up, with the identity as gradient (straight-through estimator)."""
    return x + (torch.floor(x + 0.5) - x).detach()


class AdditiveCoupling(nn.Module):
    """Splits channels in halves (a, b) and maps b -> b + round(net(a)); then reverses channels.

    The channel reversal makes consecutive couplings update alternate halves. Volume preserving on
    integers, so there is no log-determinant to track.
    """

    def __init__(self, channels: int, hidden: int, output_scale: float = 1.0):
        super().__init__()
        self.split = channels // 2
        self.output_scale = output_scale  # a power of two, so exact in fixed point
        self.net = ConvNet(self.split, channels - self.split, hidden)

    def translation(self, a: torch.Tensor) -> torch.Tensor:
        t = round_ste(self.net(a) * self.output_scale)
        return t.clamp(-TRANSLATION_LIMIT, TRANSLATION_LIMIT)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = z[:, : self.split], z[:, self.split :]
        b = b + self.translation(a)
        return torch.cat([a, b], 1).flip(1), z.new_zeros(len(z))

    def inverse(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = z.flip(1)
        a, b = z[:, : self.split], z[:, self.split :]
        b = b - self.translation(a)
        return torch.cat([a, b], 1), z.new_zeros(len(z))
