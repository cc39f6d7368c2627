"""The Glow's codec: local bits-back coding of a dequantized Glow (Ho, Lohn & Abbeel 2019) on one
ANS stack.

Every latent is an integer on the grid ``2**-LATENT_BITS`` (in the units of the layer that holds it).
Each Glow layer is split into pieces that are either volume preserving on that grid, and cost
nothing, or a pure per-element scaling ``y = e * x``, which is coded with local bits-back:

* encode: decode ``y`` from a discretized logistic centred on ``e * x`` with scale ``s_y``
  (taking bits back; its window has no escape, so ``y`` stays within about 20 scales of the
  centre whatever bits the stack holds), then encode ``x`` under a logistic centred on ``y / e``
  with scale ``s_x = s_y / e``. The two standardized residuals are equal, so the net cost is ``-log2 e``:
  the log-determinant. Decoding runs the same two steps the other way round.
* shifts (actnorm bias, coupling translation, the unit-triangular factors of the 1x1 convolution)
  add integers: ``y = x + round(t)``, exactly invertible, no bits.
* dequantization: the noise ``u`` is decoded first (bits back); the latents are encoded last
  under the priors, as a coarse logistic bin plus uniform low bits.

Discretization, chosen to fit the ANS coder's 24-bit probabilities: log-scales are integers on the
fixed-point grid (2**-FRAC_BITS nats) and the locations ``e * x``, ``y / e`` use them exactly (a coarser grid would
code a different flow than the one trained: rounding them to 1/32 cost 0.4 bits per sub-pixel);
only the windows' widths ``s_x``, ``s_y`` sit on the tables' 1/32 log-scale grid. A scaling step moves at most
2 nats (larger constant scales are split into several steps), and ``s_x``, ``s_y`` stay within about 0.7 to 5.4 grid
units, where the logistic windows of ``tables`` (radius 8 to 64) hold them with escape mass below 1e-4. The prior
bin is chosen per element so that the prior's scale spans 4 to 8 bins. All the numbers that
choose a distribution are integers or exact dyadic floats from fixed-point networks, and every
probability table comes from ``tables``, so the encoder and the decoder build identical tables.
"""

from __future__ import annotations

import decimal
import math
from functools import lru_cache

import numpy as np

from ..errors import FlowzipError, FormatError, ModelError
from ..models.constants import PRIOR_LOG_SCALE, SCALE_LIMIT
from . import precomputed, tables
from .fixedpoint import FRAC_BITS, FixedNet, on_grid
from .idf import squeeze, unsqueeze

LATENT_BITS = 16  # latents are integers in units of 2**-16
DEQUANT_BITS = LATENT_BITS - 8  # pixel x becomes (x - 128) * 256 + u, u uniform in [0, 256)
LQ_STEPS = tables.LOG_SCALE_STEPS_PER_UNIT  # the coding windows' scales are on the tables' 1/32 grid
MAX_STEP = 2 << FRAC_BITS  # one bits-back scaling step moves at most 2 nats
EXP_BITS = 20  # exp(l * 2**-FRAC_BITS) as an integer in units of 2**-20
COEF_BITS = 16  # fixed-point bits of the 1x1 convolution's triangular factors
VALUE_LIMIT = 2**30  # |latent| bound in grid units, so that every product fits in int64
LN2 = math.log(2.0)
# Scale index of the geometric middle of the scaling steps' scales (2 grid units). Measured net
# cost above -log2(e) per element and step: about 0.0002 bits for |log e| < 0.25 and 0.002 to
# 0.003 bits for |log e| up to 2 (scale 3.5 halves that, and takes twice as long).
CENTER_J = round((math.log(2.0) - tables.LOG_SCALE_MIN) * LQ_STEPS)


@lru_cache(maxsize=None)
def exp_table() -> np.ndarray:
    """round(2**20 * exp(k * 2**-FRAC_BITS)) for k = -MAX_STEP .. MAX_STEP (shipped precomputed)."""
    return precomputed.table("exp", compute_exp_table)


def compute_exp_table() -> np.ndarray:
    """``exp_table`` with decimal (identical everywhere)."""
    ctx = decimal.Context(prec=34)
    one = 2**FRAC_BITS
    return np.array([int(ctx.multiply(ctx.exp(decimal.Decimal(k) / one), 2**EXP_BITS).to_integral_value())
                     for k in range(-MAX_STEP, MAX_STEP + 1)], np.int64)


@lru_cache(maxsize=None)
def coupling_thresholds(limit: float) -> np.ndarray:
    """Integer thresholds on the fixed-point grid of a raw coupling output r: the coded log-scale
    round(2**FRAC_BITS * limit * tanh(r / limit)) is -m + (number of thresholds <= r), m = its
    maximum (shipped precomputed for the models' limit)."""
    if limit == SCALE_LIMIT:
        return precomputed.table("thresholds", lambda: compute_coupling_thresholds(limit))
    return compute_coupling_thresholds(limit)


@lru_cache(maxsize=None)
def coupling_lookup(limit: float) -> tuple[int, np.ndarray]:
    """(first, table): the coded log-scale of a raw coupling output r is
    ``table[clip(r - first, 0, len(table) - 1)]``, the thresholds' count for every r between the
    first threshold minus one and the last (one lookup instead of a search)."""
    thresholds = coupling_thresholds(limit)
    first = int(thresholds[0]) - 1
    r = np.arange(first, int(thresholds[-1]) + 1)
    return first, (np.searchsorted(thresholds, r, side="right") - len(thresholds) // 2).astype(np.int64)


def compute_coupling_thresholds(limit: float) -> np.ndarray:
    """``coupling_thresholds`` with decimal."""
    ctx = decimal.Context(prec=34)
    one = 2**FRAC_BITS
    top = math.floor(limit * one)
    lim = decimal.Decimal(repr(limit))
    out = []
    for k in range(-top + 1, top + 1):
        y = (decimal.Decimal(k) - decimal.Decimal("0.5")) / (one * lim)  # tanh(r / limit) >= y
        r = lim * ctx.divide(ctx.ln(ctx.divide(1 + y, 1 - y)), 2)
        out.append(int(ctx.multiply(r, 2**FRAC_BITS).to_integral_value(decimal.ROUND_CEILING)))
    return np.array(out, np.int64)


def _check(values: np.ndarray) -> None:
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
    _check(x)
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


def _round_shift(t: np.ndarray, bits: int) -> np.ndarray:
    return (t + (1 << (bits - 1))) >> bits


def _channel_lq(log_scale: np.ndarray) -> np.ndarray:
    return np.rint(log_scale * 2.0**FRAC_BITS).astype(np.int64)


def _broadcast(per_channel: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.broadcast_to(per_channel.reshape(1, -1, 1, 1), x.shape).ravel()


class ExactStep:
    """One Glow step (actnorm, 1x1 convolution, affine coupling) with its constants on grids.

    Actnorm and convolution together are ``P L D U A (x + b)`` with ``A`` the actnorm scales; since
    ``U A = A (A^-1 U A)`` and ``A^-1 U A`` is unit upper triangular too, they are coded as: shift
    by ``b``, mix by ``A^-1 U A``, one scaling by ``D A``, mix by ``L``, permute: one bits-back
    scaling per step for both layers.
    """

    def __init__(self, weights: dict[str, np.ndarray], prefix: str, device: str):
        """The step whose parameters are ``{prefix}actnorm.*``, ``{prefix}conv.*`` and
        ``{prefix}coupling.net.*``. (The constants use float64 exp and rint on the weights;
        exp's last-bit differences between libraries cannot move these roundings: for the
        shipped models every value lies at least 5e-6 from a rounding boundary.)"""
        w = {k[len(prefix):]: np.asarray(v, np.float64) for k, v in weights.items() if k.startswith(prefix)}
        act_log_scale = w["actnorm.log_scale"]
        self.bias = np.rint(w["actnorm.bias"] * 2.0**LATENT_BITS).astype(np.int64)
        self.perm = w["conv.perm"].astype(np.int64)
        self.inv_perm = np.argsort(self.perm)
        self.sign = w["conv.sign"].astype(np.int64).reshape(1, -1, 1, 1)
        self.lq = _channel_lq(w["conv.log_scale"] + act_log_scale)
        upper = np.triu(w["conv.upper"], 1) * np.exp(act_log_scale[None, :] - act_log_scale[:, None])
        self.lower = np.rint(np.tril(w["conv.lower"], -1) * 2.0**COEF_BITS).astype(np.int64)
        self.upper = np.rint(upper * 2.0**COEF_BITS).astype(np.int64)
        self.split = len(self.perm) // 2
        self.net = FixedNet.from_weights(weights, f"{prefix}coupling.net.", 1.0, 2.0**-LATENT_BITS, device)

    @staticmethod
    def _mix(matrix: np.ndarray, x: np.ndarray) -> np.ndarray:
        """round(M x / 2**COEF_BITS) over channels, as a float64 matrix product: every product is
        below 2**16 * 2**30 and every sum of them below 2**53, so it is exact in any order."""
        b, c, h, w = x.shape
        flat = x.transpose(1, 0, 2, 3).reshape(c, -1).astype(np.float64)
        out = (matrix.astype(np.float64) @ flat).astype(np.int64).reshape(c, b, h, w).transpose(1, 0, 2, 3)
        return _round_shift(out, COEF_BITS)

    @staticmethod
    def _solve(matrix: np.ndarray, y: np.ndarray, order) -> np.ndarray:
        """Invert y = x + round(M x) for strictly triangular M, one channel at a time in ``order``."""
        b, c, h, w = y.shape
        flat_y = y.transpose(1, 0, 2, 3).reshape(c, -1)
        x = flat_y.astype(np.float64)
        coef = matrix.astype(np.float64)
        for i in order:
            x[i] = flat_y[i] - _round_shift((coef[i] @ x).astype(np.int64), COEF_BITS)
        return x.astype(np.int64).reshape(c, b, h, w).transpose(1, 0, 2, 3)

    def _coupling(self, x_a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raw, shift = np.split(self.net(x_a), 2, axis=1)
        first, table = coupling_lookup(SCALE_LIMIT)
        r = np.rint(raw * 2.0**FRAC_BITS).astype(np.int64)
        lq = table[np.clip(r - first, 0, len(table) - 1)]
        return lq, np.rint(shift * 2.0**LATENT_BITS).astype(np.int64)

    def push(self, coder, x: np.ndarray) -> np.ndarray:
        x = x + self.bias.reshape(1, -1, 1, 1)
        x = (x + self._mix(self.upper, x)) * self.sign
        x = push_scale(coder, x.ravel(), _broadcast(self.lq, x)).reshape(x.shape)
        x = (x + self._mix(self.lower, x))[:, self.perm]
        x_a, x_b = x[:, : self.split], x[:, self.split :]
        lq, shift = self._coupling(x_a)
        y_b = push_scale(coder, x_b.ravel(), lq.ravel()).reshape(x_b.shape) + shift
        return np.concatenate([x_a, y_b], 1)

    def pop(self, coder, y: np.ndarray) -> np.ndarray:
        y_a, y_b = y[:, : self.split], y[:, self.split :]
        lq, shift = self._coupling(y_a)
        x_b = pop_scale(coder, (y_b - shift).ravel(), lq.ravel()).reshape(y_b.shape)
        x = np.concatenate([y_a, x_b], 1)[:, self.inv_perm]
        x = self._solve(self.lower, x, range(x.shape[1]))
        x = pop_scale(coder, x.ravel(), _broadcast(self.lq, x)).reshape(x.shape) * self.sign
        x = self._solve(self.upper, x, reversed(range(x.shape[1])))
        return x - self.bias.reshape(1, -1, 1, 1)


class GlowCodec:
    """The coding twin of a ``Glow`` (``models.glow``), from its config and weights: ``push`` an
    image batch onto an ANS stack, ``pop`` it off."""

    bits_back = True  # takes bits from the stack before it gives any

    def __init__(self, loaded, device: str = "cpu"):
        """``loaded``: a model with ``config`` and ``weights`` (and ``model``, the float Glow, for
        estimates)."""
        self.loaded, device, self._float64 = loaded, str(device), None
        config, weights = loaded.config, loaded.weights
        self.levels = []
        c = config.get("channels", 3)
        try:
            for i, steps in enumerate(config["steps"]):
                c *= 4
                last = i == len(config["steps"]) - 1
                prior = None if last else FixedNet.from_weights(weights, f"levels.{i}.prior.", 1.0, 2.0**-LATENT_BITS,
                                                                  device)
                self.levels.append(([ExactStep(weights, f"levels.{i}.steps.{k}.", device) for k in range(steps)],
                                    c if last else c // 2, prior))
                c = c if last else c // 2
            self.top_mu = on_grid(weights["top_mu"])
            self.top_ls = on_grid(np.clip(weights["top_log_scale"], *PRIOR_LOG_SCALE))
        except (KeyError, IndexError, ValueError) as e:
            raise ModelError(f"the weights do not fit the model's config ({e})") from None
        self.top_channels = c
        self.multiple = 2 ** len(config["steps"])

    @staticmethod
    def _prior(net, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = net(keep)
        half = h.shape[1] // 2
        return h[:, :half], np.clip(h[:, half:], *PRIOR_LOG_SCALE)

    def _top(self, shape) -> tuple[np.ndarray, np.ndarray]:
        view = (1, -1, 1, 1)
        return np.broadcast_to(self.top_mu.reshape(view), shape), np.broadcast_to(self.top_ls.reshape(view), shape)

    def push(self, coder, pixels: np.ndarray, estimate: bool = False, bits: int = 8) -> float | None:
        """Code a (B, C, H, W) uint8 batch onto the stack. Returns, when asked, the model's
        estimate in bits: -log2 of the float model's density at the dequantized pixels the coder
        drew (a pass of the float model in torch)."""
        noise = coder.pop_uniform(np.full(pixels.size, 1 << DEQUANT_BITS))
        v = ((pixels.astype(np.int64) - 128) << DEQUANT_BITS) + noise.reshape(pixels.shape)
        x = v
        for steps, keep, prior in self.levels:
            x = squeeze(x)
            for step in steps:
                x = step.push(coder, x)
            if prior is not None:
                push_prior(coder, x[:, keep:], *self._prior(prior, x[:, :keep]))
                x = x[:, :keep]
        push_prior(coder, x, *self._top(x.shape))
        return self._estimate(v) if estimate else None

    def _estimate(self, v: np.ndarray) -> float:
        import copy

        import torch

        if self._float64 is None:
            self._float64 = copy.deepcopy(self.loaded.model).double()
        with torch.no_grad():
            nats = self._float64.log_density(torch.from_numpy(v).to(torch.float64) / 2.0**LATENT_BITS)
        return float(-nats.sum()) / LN2

    def pop(self, coder, batch: int, channels: int, height: int, width: int, bits: int = 8) -> np.ndarray:
        """The inverse of ``push`` for a batch of the given shape: (B, C, H, W) uint8."""
        m = self.multiple
        top = (batch, self.top_channels, height // m, width // m)
        x = pop_prior(coder, *self._top(top))
        for steps, keep, prior in reversed(self.levels):
            if prior is not None:
                mu, ls = self._prior(prior, x)
                x = np.concatenate([x, pop_prior(coder, mu, ls)], 1)
            for step in reversed(steps):
                x = step.pop(coder, x)
            x = unsqueeze(x)
        pixels = (x >> DEQUANT_BITS) + 128
        if x.shape[1] != channels or pixels.min() < 0 or pixels.max() > 255:
            raise FormatError("corrupt file: decoded pixels are out of range")
        coder.push_uniform((x & ((1 << DEQUANT_BITS) - 1)).ravel(), np.full(x.size, 1 << DEQUANT_BITS))
        return pixels.astype(np.uint8)
