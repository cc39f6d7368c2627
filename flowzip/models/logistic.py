"""The discretized logistic distribution over integers, in float: for training and estimates.

A latent ``z`` with location ``mu`` and log-scale ``ls`` has probability
``sigmoid((z + 0.5 - mu) / s) - sigmoid((z - 0.5 - mu) / s)`` with ``s = exp(ls)``. Models clamp
their predicted log-scales to ``[LOG_SCALE_MIN, LOG_SCALE_MAX]``; the coder's integer tables
(``flowzip.coding.tables``) cover exactly this range, so training never relies on a scale the
coder cannot represent.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from ..architecture.constants import LOG_SCALE_MAX, LOG_SCALE_MIN


def clamp_log_scale(ls: torch.Tensor) -> torch.Tensor:
    return ls.clamp(LOG_SCALE_MIN, LOG_SCALE_MAX)


def log_prob(z: torch.Tensor, mu: torch.Tensor, ls: torch.Tensor) -> torch.Tensor:
    """Elementwise log-probability in nats (numerically stable)."""
    inv_s = torch.exp(-ls)
    upper = (z + 0.5 - mu) * inv_s
    lower = (z - 0.5 - mu) * inv_s
    # sigmoid(a) - sigmoid(b) = sigmoid(a) * sigmoid(-b) * (1 - exp(b - a)), and a - b = 1/s.
    return F.logsigmoid(upper) + F.logsigmoid(-lower) + torch.log(-torch.expm1(-inv_s))
