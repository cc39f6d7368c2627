"""The learned local-context prior, described once for its float model (``flowzip.models.localprior``,
torch, for training and estimates) and its exact twin (``flowzip.priors``, numpy and numba, for
coding).

Each pixel's distribution comes from the pixels coded before it in a causal window: ``horizon``
rows above (``horizon`` columns either side) and ``horizon`` pixels to its left (``window``). Per
window position the network sees every channel as ``(2x - 255) / 128`` and a validity flag (0
outside the picture). A first dense layer, ``layers`` residual dense layers (``h + relu(W h + b)``)
and an output layer give, for ``mixture`` components: a logit, per channel a mean offset and a
log-scale, and per pair of channels a coupling coefficient (``OUTPUTS``). Channels are coded one
after another: channel c's mean in component k is the reference prediction (``reference``), plus
``MEAN_UNIT`` times its output, plus the couplings times how far the channels before it fell from
their own means in that component (PixelCNN++'s mixture, with the coupling on residuals). The
mixture weights after channel c are the posterior given the values coded so far, so the rate of
the coder is the model's log-likelihood.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

MEAN_UNIT = 64.0  # a mean output of 1.0 moves the mean by 64 pixel values
LOG_SCALE_RANGE = (-3.0, 5.0)  # the predicted log-scales are clamped to this range (inside the tables')
COEF_LIMIT = 2.0  # coupling coefficients are clamped to [-2, 2]
INPUT_UNIT = 128.0  # a pixel x enters as (2x - 255) / INPUT_UNIT


@dataclass
class LocalPriorConfig:
    channels: int = 3  # 3: colour planes (R, then G, then B); 1: a gray or alpha plane
    horizon: int = 3  # the causal window: this many rows above and columns either side
    width: int = 64
    layers: int = 2  # residual dense layers between the first layer and the output layer
    mixture: int = 5

    def to_dict(self) -> dict:
        return asdict(self)


def window(horizon: int) -> list[tuple[int, int]]:
    """(dy, dx) of the causal window's positions: the rows above (left to right), then the pixels
    to the left in the current row; the order of the network's inputs."""
    above = [(dy, dx) for dy in range(-horizon, 0) for dx in range(-horizon, horizon + 1)]
    return above + [(0, dx) for dx in range(-horizon, 0)]


def num_inputs(config: LocalPriorConfig) -> int:
    """Per window position each channel and a validity flag."""
    return (config.channels + 1) * len(window(config.horizon))


def num_couplings(channels: int) -> int:
    return channels * (channels - 1) // 2


def couplings(channels: int) -> list[tuple[int, int]]:
    """(channel c, earlier channel j) of each coupling coefficient, in the outputs' order."""
    return [(c, j) for c in range(1, channels) for j in range(c)]


class OUTPUTS:
    """Where each parameter sits among the network's outputs: ``mixture`` values per block, the
    blocks being the logits, then per channel the means, then per channel the log-scales, then per
    coupling the coefficients."""

    @staticmethod
    def count(config: LocalPriorConfig) -> int:
        return config.mixture * (1 + 2 * config.channels + num_couplings(config.channels))

    @staticmethod
    def logits(config: LocalPriorConfig) -> slice:
        return slice(0, config.mixture)

    @staticmethod
    def means(config: LocalPriorConfig, c: int) -> slice:
        k = config.mixture
        return slice(k * (1 + c), k * (2 + c))

    @staticmethod
    def log_scales(config: LocalPriorConfig, c: int) -> slice:
        k = config.mixture
        return slice(k * (1 + config.channels + c), k * (2 + config.channels + c))

    @staticmethod
    def coefficients(config: LocalPriorConfig, i: int) -> slice:
        k = config.mixture
        return slice(k * (1 + 2 * config.channels + i), k * (2 + 2 * config.channels + i))


def reference(x: np.ndarray) -> np.ndarray:
    """The reference prediction of each sample of ``x`` (C, H, W) integers: the mean of its left
    and upper neighbours rounded up, one of them alone at the picture's first row or column, 128
    at its first pixel."""
    x = np.asarray(x, np.int64)
    ref = np.empty_like(x)
    ref[:, 1:, 1:] = (x[:, 1:, :-1] + x[:, :-1, 1:] + 1) >> 1
    ref[:, 0, 1:] = x[:, 0, :-1]
    ref[:, 1:, 0] = x[:, :-1, 0]
    ref[:, 0, 0] = 128
    return ref
