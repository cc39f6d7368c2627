"""The discretized logistic distribution over integers, in float: for training and estimates.

A latent ``z`` with location ``mu`` and log-scale ``ls`` has probability
``sigmoid((z + 0.5 - mu) / s) - sigmoid((z - 0.5 - mu) / s)`` with ``s = exp(ls)``. Models clamp
their predicted log-scales to ``[LOG_SCALE_MIN, LOG_SCALE_MAX]``; the coder's integer tables
(``flowzip.coding.tables``) cover exactly this range, so training never relies on a scale the
coder cannot represent.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.nn import functional as F

LOG_SCALE_MIN = -3.5
LOG_SCALE_MAX = 6.5


def clamp_log_scale(ls: torch.Tensor) -> torch.Tensor:
    return ls.clamp(LOG_SCALE_MIN, LOG_SCALE_MAX)


def log_prob(z: torch.Tensor, mu: torch.Tensor, ls: torch.Tensor) -> torch.Tensor:
    """Elementwise log-probability in nats (numerically stable)."""
    inv_s = torch.exp(-ls)
    upper = (z + 0.5 - mu) * inv_s
    lower = (z - 0.5 - mu) * inv_s
    # sigmoid(a) - sigmoid(b) = sigmoid(a) * sigmoid(-b) * (1 - exp(b - a)), and a - b = 1/s.
    return F.logsigmoid(upper) + F.logsigmoid(-lower) + torch.log(-torch.expm1(-inv_s))


def bits_np(z: np.ndarray, mu: np.ndarray, s: np.ndarray) -> float:
    """Total information content in bits of integers ``z`` (float64, for reporting)."""
    inv_s = 1.0 / s
    upper = (z + 0.5 - mu) * inv_s
    lower = (z - 0.5 - mu) * inv_s
    logp = -np.logaddexp(0.0, -upper) - np.logaddexp(0.0, lower) + np.log(-np.expm1(-inv_s))
    return float(-logp.sum() / math.log(2.0))
