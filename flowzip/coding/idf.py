"""The integer discrete flow's codec: latents and their priors pushed onto ANS stacks.

The flow runs on its exact fixed-point twin (``exact_twin``), so the latents and prior parameters
are bit-identical on the encoder and the decoder, whatever the batch size, thread count or device.
The IDF only pushes: a batch of tiles goes onto a shared stack (``push``/``pop``, the stacked
pipeline) or each tile onto a stack of its own (``encode``/``decode``, the tiled pipeline).
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from ..errors import FormatError
from ..models import logistic
from ..models.layers import ConvNet
from . import tables
from .ans import AnsStack
from .fixedpoint import FRAC_BITS, FixedConvNet, exact_mode, on_grid


def exact_twin(model):
    """A float64 copy of an ``IDF`` whose networks are exact fixed-point twins and whose top prior
    sits on the fixed-point grid."""
    twin = copy.deepcopy(model).cpu().to(torch.float64).eval()
    for module in list(twin.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, ConvNet):
                setattr(module, name, FixedConvNet(child))
    with torch.no_grad():
        twin.top_mu.copy_(on_grid(twin.top_mu))
        twin.top_log_scale.copy_(on_grid(twin.top_log_scale))
    return twin.requires_grad_(False)


class IDFCodec:
    """Encodes and decodes batches of equally sized (C, H, W) uint8 tiles."""

    bits_back = False  # only pushes: it can start a stack

    def __init__(self, model, device: str | torch.device = "cpu"):
        self.device = torch.device(device)
        self.model = exact_twin(model).to(self.device)
        self.multiple = model.multiple

    @staticmethod
    def _params(mu: torch.Tensor, ls: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Integer parameters, one row per tile (a single copy off the device per level)."""
        mu_q, j = tables.quantize(mu.cpu().numpy(), ls.cpu().numpy())
        return mu_q.reshape(len(mu_q), -1), j.reshape(len(j), -1)

    @torch.no_grad()
    def _levels(self, tiles: np.ndarray) -> tuple[list, float]:
        """Latents with integer prior parameters, one row per tile, in pushing order; estimated bits."""
        x = torch.from_numpy(tiles).to(self.device, torch.float64)
        with exact_mode():
            latents = self.model.latents(x)
        levels = [(z.cpu().numpy().astype(np.int64).reshape(len(tiles), -1), *self._params(mu, ls))
                  for z, mu, ls in reversed(latents)]  # the decoder pops the top level first
        scales = tables.scale_tables()[2]
        est_bits = sum(logistic.bits_np(z, mu_q / 2.0**FRAC_BITS, scales[j]) for z, mu_q, j in levels)
        return levels, est_bits

    def push(self, coder: AnsStack, tiles: np.ndarray) -> float:
        """Push a (B, C, H, W) uint8 batch onto a shared stack as one unit; returns estimated bits."""
        levels, est_bits = self._levels(tiles)
        for z, mu_q, j in levels:
            coder.push_logistic(z.ravel(), mu_q.ravel(), j.ravel())
        return est_bits

    @torch.no_grad()
    def pop(self, coder: AnsStack, batch: int, channels: int, height: int, width: int) -> np.ndarray:
        """Inverse of ``push`` for a batch of the given shape."""

        def pop(mu: torch.Tensor, ls: torch.Tensor) -> torch.Tensor:
            mu_q, j = self._params(mu, ls)
            z = coder.pop_logistic(mu_q.ravel(), j.ravel())
            return torch.from_numpy(z).to(self.device, torch.float64).reshape(mu.shape)

        with exact_mode():
            x = self.model.inverse(pop, batch, height, width)
        return self._pixels(x, channels)

    @staticmethod
    def _pixels(x: torch.Tensor, channels: int) -> np.ndarray:
        if x.shape[1] != channels or x.min() < 0 or x.max() > 255:
            raise FormatError("corrupt file: decoded pixels are out of range")
        return x.cpu().numpy().astype(np.uint8)

    def encode(self, tiles: np.ndarray) -> tuple[list[bytes], float]:
        """(B, C, H, W) uint8 -> one byte string per tile, and the estimated bits of all tiles."""
        levels, est_bits = self._levels(tiles)
        payloads = []
        for i in range(len(tiles)):
            coder = AnsStack()
            for z, mu_q, j in levels:
                coder.push_logistic(z[i], mu_q[i], j[i])
            payloads.append(coder.to_bytes())
        return payloads, est_bits

    @torch.no_grad()
    def decode(self, payloads: list[bytes], channels: int, height: int, width: int) -> np.ndarray:
        """Inverse of ``encode`` for tiles of the given shape."""
        coders = [AnsStack.from_bytes(p) for p in payloads]

        def pop(mu: torch.Tensor, ls: torch.Tensor) -> torch.Tensor:
            mu_q, j = self._params(mu, ls)
            out = [coder.pop_logistic(mu_q[i], j[i]) for i, coder in enumerate(coders)]
            return torch.from_numpy(np.stack(out)).to(self.device, torch.float64).reshape(mu.shape)

        with exact_mode():
            x = self.model.inverse(pop, len(coders), height, width)
        if not all(c.is_empty() for c in coders):
            raise FormatError("corrupt file: a coded stream has data left over after decoding")
        return self._pixels(x, channels)
