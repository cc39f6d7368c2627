"""The Glow's codec: local bits-back coding of a dequantized Glow (Ho, Lohn & Abbeel 2019) on one
ANS stack.

Every latent is an integer on the grid ``2**-LATENT_BITS`` (in the units of the layer that holds
it). Each Glow layer is split into pieces that are either volume preserving on that grid, and cost
nothing, or a pure per-element scaling ``y = e * x``, coded with local bits-back (``bitsback``):

* shifts (actnorm bias, coupling translation, the unit-triangular factors of the 1x1 convolution)
  add integers: ``y = x + round(t)``, exactly invertible, no bits;
* scalings (actnorm and convolution together, and the coupling's scale): ``bitsback.push_scale``;
* dequantization: the noise ``u`` is decoded first (bits back); the latents are encoded last
  under the priors (``bitsback.push_prior``).

Discretization, chosen to fit the ANS coder's 24-bit probabilities: log-scales are integers on the
fixed-point grid (2**-FRAC_BITS nats) and the locations use them exactly (a coarser grid would code
a different flow than the one trained: rounding them to 1/32 cost 0.4 bits per sub-pixel); a
scaling step moves at most 2 nats, and the windows' widths stay within about 0.7 to 5.4 grid units,
where the logistic windows (radius 8 to 64) hold them with escape mass below 1e-4. All the numbers
that choose a distribution are integers or exact dyadic floats from fixed-point networks, and every
probability table is shipped (``entropy.tables``, ``flows.tables``), so the encoder and the decoder
build identical tables.
"""

from __future__ import annotations

import numpy as np

from ..architecture import multiscale
from ..architecture.constants import PRIOR_LOG_SCALE
from ..architecture.multiscale import glow_levels
from ..entropy.tables import FRAC_BITS
from ..errors import FormatError, ModelError
from .bitsback import LATENT_BITS, LN2, pop_prior, pop_scale, push_prior, push_scale
from .fixedpoint import FixedNet, on_grid
from .tables import coupling_lookup

DEQUANT_BITS = LATENT_BITS - 8  # pixel x becomes (x - 128) * 256 + u, u uniform in [0, 256)
COEF_BITS = 16  # fixed-point bits of the 1x1 convolution's triangular factors


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
        first, table = coupling_lookup()
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
        try:
            self.arch = glow_levels(config.get("channels", 3), list(config["steps"]))
            self.steps = [[ExactStep(weights, f"levels.{i}.steps.{k}.", device) for k in range(level.transforms)]
                          for i, level in enumerate(self.arch.levels)]
            self.priors = [FixedNet.from_weights(weights, f"levels.{i}.prior.", 1.0, 2.0**-LATENT_BITS, device)
                           if level.factors_out else None for i, level in enumerate(self.arch.levels)]
            self.top_mu = on_grid(weights["top_mu"])
            self.top_ls = on_grid(np.clip(weights["top_log_scale"], *PRIOR_LOG_SCALE))
        except (KeyError, IndexError, ValueError) as e:
            raise ModelError(f"the weights do not fit the model's config ({e})") from None
        self.multiple = self.arch.multiple

    def prior(self, level: int, kept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = self.priors[level](kept)
        half = h.shape[1] // 2
        return h[:, :half], np.clip(h[:, half:], *PRIOR_LOG_SCALE)

    def top(self, shape) -> tuple[np.ndarray, np.ndarray]:
        view = (1, -1, 1, 1)
        return np.broadcast_to(self.top_mu.reshape(view), shape), np.broadcast_to(self.top_ls.reshape(view), shape)

    def push(self, coder, pixels: np.ndarray, estimate: bool = False, bits: int = 8, known=None) -> float | None:
        """Code a (B, C, H, W) uint8 batch onto the stack: the dequantization noise decoded, then
        the level walk (``architecture.multiscale``), each level's steps coded with bits-back and
        its factored-out latents pushed under their prior. Returns, when asked, the model's
        estimate in bits: -log2 of the float model's density at the dequantized pixels the coder
        drew (a pass of the float model in torch)."""
        noise = coder.pop_uniform(np.full(pixels.size, 1 << DEQUANT_BITS))
        v = ((pixels.astype(np.int64) - 128) << DEQUANT_BITS) + noise.reshape(pixels.shape)
        multiscale.forward(self.arch, _Coding(self, coder), v, lambda z, params: push_prior(coder, z, *params))
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
        x = multiscale.inverse(self.arch, _Coding(self, coder), lambda params: pop_prior(coder, *params), batch,
                               height, width)
        pixels = (x >> DEQUANT_BITS) + 128
        if x.shape[1] != channels or pixels.min() < 0 or pixels.max() > 255:
            raise FormatError("corrupt file: decoded pixels are out of range")
        coder.push_uniform((x & ((1 << DEQUANT_BITS) - 1)).ravel(), np.full(x.size, 1 << DEQUANT_BITS))
        return pixels.astype(np.uint8)


class _Coding:
    """The level steps (``architecture.multiscale.LevelSteps``) of a ``GlowCodec`` coding onto
    one stack: each level's flow steps pushed (``transform``) or popped (``untransform``)."""

    def __init__(self, codec: GlowCodec, coder):
        self.codec, self.coder = codec, coder
        self.prior, self.top = codec.prior, codec.top

    def transform(self, level: int, x: np.ndarray) -> np.ndarray:
        for step in self.codec.steps[level]:
            x = step.push(self.coder, x)
        return x

    def untransform(self, level: int, y: np.ndarray) -> np.ndarray:
        for step in reversed(self.codec.steps[level]):
            y = step.pop(self.coder, y)
        return y

    @staticmethod
    def concat(kept: np.ndarray, out: np.ndarray) -> np.ndarray:
        return np.concatenate([kept, out], 1)
