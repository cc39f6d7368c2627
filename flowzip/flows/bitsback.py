"""Local bits-back coding of a scaling ``y = exp(l) * x`` and of latents under logistic priors, on
the grid ``2**-LATENT_BITS`` (Ho, Lohn & Abbeel 2019): the pieces the Glow's codec is made of.

* ``push_scale``: decode ``y`` from a discretized logistic centred on ``e * x`` with scale ``s_y``
  (taking bits back; its window has no escape, so ``y`` stays within about 20 scales of the
  centre whatever bits the stack holds), then encode ``x`` under a logistic centred on ``y / e``
  with scale ``s_x = s_y / e``. The two standardized residuals are equal, so the net cost is
  ``-log2 e``: the log-determinant. ``pop_scale`` runs the same two steps the other way round and
  leaves the stack as it found it.
* ``push_prior``/``pop_prior``: a latent under a logistic prior, as a coarse logistic bin plus
  uniform low bits, the bin chosen per element so that the prior's scale spans 4 to 8 bins.

Log-scales are integers on the fixed-point grid (2**-FRAC_BITS nats) and the locations ``e * x``,
``y / e`` use them exactly (from ``tables.exp_table``); only the windows' widths sit on the
entropy tables' 1/32 log-scale grid. A scaling of more than 2 nats is split into equal steps.
"""

from __future__ import annotations

import math

import numpy as np

from ..entropy import tables
from ..entropy.tables import FRAC_BITS
from ..errors import FlowzipError, FormatError
from .tables import EXP_BITS, MAX_STEP, exp_table

LATENT_BITS = 16  # latents are integers in units of 2**-16
LQ_STEPS = tables.LOG_SCALE_STEPS_PER_UNIT  # the coding windows' scales are on the tables' 1/32 grid
VALUE_LIMIT = 2**30  # |latent| bound in grid units, so that every product fits in int64
LN2 = math.log(2.0)
# Scale index of the geometric middle of the scaling steps' scales (2 grid units). Measured net
# cost above -log2(e) per element and step: about 0.0002 bits for |log e| < 0.25 and 0.002 to
# 0.003 bits for |log e| up to 2 (scale 3.5 halves that, and takes twice as long).
CENTER_J = round((math.log(2.0) - tables.LOG_SCALE_MIN) * LQ_STEPS)


def _check_range(values: np.ndarray) -> None:
    if len(values) and np.abs(values).max() > VALUE_LIMIT:
        raise FlowzipError("this image drives the flow's latents out of the coder's range")


def _times_exp(n: np.ndarray, log_scale: np.ndarray) -> np.ndarray:
    """n * exp(log_scale * 2**-FRAC_BITS) on the fixed-point grid (the tables' locations), rounded."""
    shift = EXP_BITS - FRAC_BITS
    return (n * exp_table()[log_scale + MAX_STEP] + (1 << (shift - 1))) >> shift


def _split(log_scale: np.ndarray) -> list[np.ndarray]:
    """Integer parts, each at most MAX_STEP in size, that sum to ``log_scale``."""
    parts = max(1, -(-int(np.abs(log_scale).max(initial=0)) // MAX_STEP))
    return [(log_scale * (k + 1)) // parts - (log_scale * k) // parts for k in range(parts)]


def _window_scales(part: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale indices (1/32 grid) of x and y around CENTER_J, about exp(part * 2**-FRAC_BITS) apart.
    Only the widths use the coarse grid; the locations use the exact scale."""
    q = (part + (1 << (FRAC_BITS - 6))) >> (FRAC_BITS - 5)  # part in 1/32 nats, rounded
    j_x = CENTER_J - (q >> 1)
    return j_x, j_x + q


def push_scale(coder, x: np.ndarray, log_scale: np.ndarray) -> np.ndarray:
    """Encoder side of y = exp(log_scale * 2**-FRAC_BITS) * x (flat int64 arrays); returns y."""
    for part in _split(log_scale):
        j_x, j_y = _window_scales(part)
        y = coder.pop_logistic(_times_exp(x, part), j_y, escape=False)
        coder.push_logistic(x, _times_exp(y, -part), j_x)
        x = y
    _check_range(x)
    return x


def pop_scale(coder, y: np.ndarray, log_scale: np.ndarray) -> np.ndarray:
    """Decoder side: the inverse of ``push_scale``, restoring the stack as it was before it."""
    for part in reversed(_split(log_scale)):
        j_x, j_y = _window_scales(part)
        x = coder.pop_logistic(_times_exp(y, -part), j_x)
        if len(x) and np.abs(x).max() > VALUE_LIMIT:
            raise FormatError("corrupt file: a decoded latent is out of range")
        coder.push_logistic(y, _times_exp(x, part), j_y, escape=False)
        y = x
    return y


def _prior_params(mu: np.ndarray, ls: np.ndarray):
    """Prior location and log-scale (on the fixed-point grid) -> low-bit count b, and the coarse
    bin's logistic parameters for the tables: the scale spans 4 to 8 bins of 2**b grid units."""
    mu_i = np.rint(np.ravel(mu) * 2.0**FRAC_BITS).astype(np.int64)
    ls_r = np.rint(np.ravel(ls) * 2.0**FRAC_BITS) / 2.0**FRAC_BITS
    b = np.clip(np.floor(ls_r / LN2 + LATENT_BITS) - 2, 0, 40).astype(np.int64)
    j = np.floor((ls_r + (LATENT_BITS - b) * LN2 - tables.LOG_SCALE_MIN) * LQ_STEPS).astype(np.int64)
    mu_q = ((mu_i << LATENT_BITS) >> b) - (1 << (FRAC_BITS - 1))  # bin k covers [k, k + 1)
    return b, mu_q, np.clip(j, 0, tables.NUM_SCALES - 1)


def push_prior(coder, z: np.ndarray, mu: np.ndarray, ls: np.ndarray) -> None:
    b, mu_q, j = _prior_params(mu, ls)
    z = z.ravel()
    coarse = z >> b
    coder.push_logistic(coarse, mu_q, j)
    low = b > 0
    coder.push_uniform((z - (coarse << b))[low], 1 << b[low])


def pop_prior(coder, mu: np.ndarray, ls: np.ndarray) -> np.ndarray:
    b, mu_q, j = _prior_params(mu, ls)
    low = b > 0
    bits = np.zeros(len(b), np.int64)
    bits[low] = coder.pop_uniform(1 << b[low])
    coarse = coder.pop_logistic(mu_q, j)
    if (np.abs(coarse) > (VALUE_LIMIT >> b)).any():
        raise FormatError("corrupt file: a decoded latent is out of range")
    return ((coarse << b) + bits).reshape(mu.shape)

