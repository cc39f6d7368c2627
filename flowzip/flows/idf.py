"""The integer discrete flow's codec: latents and their priors pushed onto ANS stacks.

The codec runs the IDF (``models.idf``) on its exact twin: the same levels, couplings and priors in
numpy integers, every network a ``FixedNet``. So the latents and prior parameters are bit-identical
on the encoder and the decoder, whatever the batch size, thread count or device. The IDF only
pushes: a batch of tiles goes onto a shared stack (``push``/``pop``, the stacked and chunked
pipelines) or each tile onto a stack of its own (``encode``/``decode``, the tiled pipeline).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..architecture import multiscale
from ..architecture.constants import CONVNET_INPUT_SCALE as INPUT_SCALE
from ..architecture.constants import LOG_SCALE_MAX, LOG_SCALE_MIN, PIXEL_OFFSET, TRANSLATION_LIMIT
from ..architecture.multiscale import idf_levels
from ..entropy import tables
from ..entropy.ans import AnsStack
from ..entropy.tables import FRAC_BITS, bits_np
from ..errors import FormatError, ModelError
from .fixedpoint import FixedNet, on_grid


class ExactIDF:
    """The exact twin of an ``IDF`` from its config and weights: the same level walk
    (``architecture.multiscale``) with its couplings and priors in integers; ``latents`` and
    ``inverse`` as in ``models.idf.IDF``."""

    def __init__(self, config: dict, weights: dict[str, np.ndarray], device: str = "cpu"):
        self.output_scale = float(config.get("output_scale", 1.0))
        n_levels = config.get("levels", 4)
        try:
            couplings = list(config["couplings"])
            if len(couplings) < n_levels:
                raise IndexError("couplings")
            self.arch = idf_levels(config.get("channels", 3), couplings[:n_levels], config.get("factor_out", 0.5))
            self.couplings = [[FixedNet.from_weights(weights, f"levels.{i}.couplings.{k}.net.", INPUT_SCALE, device=device)
                               for k in range(level.transforms)] for i, level in enumerate(self.arch.levels)]
            self.priors = [FixedNet.from_weights(weights, f"levels.{i}.prior.", INPUT_SCALE, device=device)
                           if level.factors_out else None for i, level in enumerate(self.arch.levels)]
            self.top_mu = on_grid(weights["top_mu"])
            self.top_ls = on_grid(weights["top_log_scale"])
        except (KeyError, IndexError, ValueError) as e:
            raise ModelError(f"the weights do not fit the model's config ({e})") from None
        self.multiple = self.arch.multiple

    # the level steps (``architecture.multiscale.LevelSteps``)

    def _translation(self, net: FixedNet, a: np.ndarray) -> np.ndarray:
        return np.clip(np.floor(net(a) * self.output_scale + 0.5), -TRANSLATION_LIMIT, TRANSLATION_LIMIT).astype(np.int64)

    def transform(self, level: int, z: np.ndarray) -> np.ndarray:
        """The level's couplings: b += round(net(a)), then the channels reversed (as
        ``models.layers.AdditiveCoupling``)."""
        split = self.arch.levels[level].channels // 2
        for net in self.couplings[level]:
            z = np.concatenate([z[:, :split], z[:, split:] + self._translation(net, z[:, :split])], 1)[:, ::-1]
        return z

    def untransform(self, level: int, z: np.ndarray) -> np.ndarray:
        split = self.arch.levels[level].channels // 2
        for net in reversed(self.couplings[level]):
            z = z[:, ::-1]
            z = np.concatenate([z[:, :split], z[:, split:] - self._translation(net, z[:, :split])], 1)
        return z

    def prior(self, level: int, kept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = self.priors[level](kept)
        half = h.shape[1] // 2
        return h[:, :half] * self.output_scale, np.clip(h[:, half:], LOG_SCALE_MIN, LOG_SCALE_MAX)

    def top(self, shape) -> tuple[np.ndarray, np.ndarray]:
        view = (1, -1, 1, 1)
        ls = np.clip(self.top_ls, LOG_SCALE_MIN, LOG_SCALE_MAX)
        return np.broadcast_to(self.top_mu.reshape(view), shape), np.broadcast_to(ls.reshape(view), shape)

    @staticmethod
    def concat(kept: np.ndarray, out: np.ndarray) -> np.ndarray:
        return np.concatenate([kept, out], 1)

    # the walks

    def latents(self, x: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Images (B, C, H, W) -> [(z, mu, log_scale)] in decoding order (top first); z int64."""
        out = []
        multiscale.forward(self.arch, self, x.astype(np.int64) - PIXEL_OFFSET, lambda z, params: out.append((z, *params)))
        return out[::-1]

    def inverse(self, pop: Callable, batch: int, height: int, width: int) -> np.ndarray:
        """Rebuild images from latents; ``pop(mu, log_scale)`` returns the next latent array."""
        return multiscale.inverse(self.arch, self, lambda params: pop(*params), batch, height, width) + PIXEL_OFFSET


class IDFCodec:
    """Encodes and decodes batches of equally sized (C, H, W) uint8 tiles."""

    bits_back = False  # only pushes: it can start a stack

    def __init__(self, loaded, device: str = "cpu"):
        """``loaded``: a model with ``config`` and ``weights``."""
        self.model = ExactIDF(loaded.config, loaded.weights, str(device))
        self.multiple = self.model.multiple

    @staticmethod
    def _params(mu: np.ndarray, ls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Integer parameters, one row per tile."""
        mu_q, j = tables.quantize(mu, ls)
        return mu_q.reshape(len(mu_q), -1), j.reshape(len(j), -1)

    def _levels(self, tiles: np.ndarray) -> list:
        """Latents with integer prior parameters, one row per tile, in pushing order."""
        return [(z.reshape(len(tiles), -1), *self._params(mu, ls)) for z, mu, ls in reversed(self.model.latents(tiles))]

    @staticmethod
    def _estimate(levels: list) -> float:
        scales = tables.scale_tables()[2]
        return sum(bits_np(z, mu_q / 2.0**FRAC_BITS, scales[j]) for z, mu_q, j in levels)

    def push(self, coder, tiles: np.ndarray, estimate: bool = False, bits: int = 8, known=None) -> float | None:
        """Push a (B, C, H, W) uint8 batch onto a shared stack as one unit; returns the model's
        estimate in bits when asked. (8-bit samples only: the policy sends others elsewhere;
        ``known`` codings are of no use here.)"""
        levels = self._levels(tiles)
        for z, mu_q, j in levels:
            coder.push_logistic(z.ravel(), mu_q.ravel(), j.ravel())
        return self._estimate(levels) if estimate else None

    def pop(self, coder, batch: int, channels: int, height: int, width: int, bits: int = 8) -> np.ndarray:
        """Inverse of ``push`` for a batch of the given shape."""

        def pop(mu: np.ndarray, ls: np.ndarray) -> np.ndarray:
            mu_q, j = self._params(mu, ls)
            return coder.pop_logistic(mu_q.ravel(), j.ravel()).reshape(mu.shape)

        return self._pixels(self.model.inverse(pop, batch, height, width), channels)

    @staticmethod
    def _pixels(x: np.ndarray, channels: int) -> np.ndarray:
        if x.shape[1] != channels or x.min() < 0 or x.max() > 255:
            raise FormatError("corrupt file: decoded pixels are out of range")
        return x.astype(np.uint8)

    def encode(self, tiles: np.ndarray, estimate: bool = False) -> tuple[list[bytes], float | None]:
        """(B, C, H, W) uint8 -> one byte string per tile (constriction stacks: the tiled layout),
        and the estimated bits of all tiles when asked."""
        levels = self._levels(tiles)
        payloads = []
        for i in range(len(tiles)):
            coder = AnsStack()
            for z, mu_q, j in levels:
                coder.push_logistic(z[i], mu_q[i], j[i])
            payloads.append(coder.to_bytes())
        return payloads, self._estimate(levels) if estimate else None

    def decode(self, payloads: list[bytes], channels: int, height: int, width: int) -> np.ndarray:
        """Inverse of ``encode`` for tiles of the given shape."""
        coders = [AnsStack.from_bytes(p) for p in payloads]

        def pop(mu: np.ndarray, ls: np.ndarray) -> np.ndarray:
            mu_q, j = self._params(mu, ls)
            return np.stack([coder.pop_logistic(mu_q[i], j[i]) for i, coder in enumerate(coders)]).reshape(mu.shape)

        x = self.model.inverse(pop, len(coders), height, width)
        if not all(c.is_empty() for c in coders):
            raise FormatError("corrupt file: a coded stream has data left over after decoding")
        return self._pixels(x, channels)
