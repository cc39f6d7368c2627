"""Integer bijections for the integer discrete flow (Hoogeboom et al. 2019).

Direction: ``forward`` maps an image towards its latents, ``inverse`` maps latents back. All of
these are volume preserving on integers, so there is no log-determinant to track. Tensors hold
integer values (float dtype, so that gradients can pass the straight-through rounding).
"""

from __future__ import annotations

import torch
from torch import nn

from .nets import ConvNet

TRANSLATION_LIMIT = 2.0**15  # bounds latents, so coding never meets a value it cannot escape


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """Round half up, with the identity as gradient (straight-through estimator)."""
    return x + (torch.floor(x + 0.5) - x).detach()


def squeeze(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, 4C, H/2, W/2): each 2x2 block becomes four channels."""
    b, c, h, w = x.shape
    x = x.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
    return x.reshape(b, c * 4, h // 2, w // 2)


def unsqueeze(x: torch.Tensor) -> torch.Tensor:
    """Inverse of ``squeeze``."""
    b, c, h, w = x.shape
    x = x.reshape(b, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)
    return x.reshape(b, c // 4, h * 2, w * 2)


class AdditiveCoupling(nn.Module):
    """Splits channels in halves (a, b) and maps b -> b + round(net(a)); then reverses channels.

    The channel reversal makes consecutive couplings update alternate halves.
    """

    def __init__(self, channels: int, hidden: int, output_scale: float = 1.0):
        super().__init__()
        self.split = channels // 2
        self.output_scale = output_scale  # a power of two, so exact in fixed point
        self.net = ConvNet(self.split, channels - self.split, hidden)

    def translation(self, a: torch.Tensor) -> torch.Tensor:
        t = round_ste(self.net(a) * self.output_scale)
        return t.clamp(-TRANSLATION_LIMIT, TRANSLATION_LIMIT)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        a, b = z[:, : self.split], z[:, self.split :]
        b = b + self.translation(a)
        return torch.cat([a, b], 1).flip(1)

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        z = z.flip(1)
        a, b = z[:, : self.split], z[:, self.split :]
        b = b - self.translation(a)
        return torch.cat([a, b], 1)
