"""The classical coder guided by a local prior (family ``guided``): the classical coder's context
modelling (``classical.predictive``: weighted sub-predictors, bias cancellation, adaptive bit
models) on the planes G, R - G, B - G, with the local prior's expectation of each sample as a
sixth sub-predictor, its expected error as half of the coding context's error energy, and its
distribution of each sample mixed into every binary decision of the residual (``residuals.
code_residual_hinted``, ``entropy.mixing``). The classical coder adapts to the image as it goes
and weighs the guide by how well it has done, so it keeps what the network knows and what the
image teaches.

Order: pixels in the local prior's wavefronts (``codec.wavefronts``), each pixel's three planes
one after another (G, then R - G, then B - G), so that the network's window is coded before the
pixel and each plane sees the planes before it at the same pixel. The decoder runs the network
once per wavefront; the encoder on bands of pixels. One range-coded stream per tile, ending in
the CRC-32 of the tile's pixels, pushed onto the ANS stack as bytes (``push_tile``).

The guide, from the network's mixture (integers only; variances in 2**-12 squared levels, a
logistic's being its scale squared times 329/100): G's mean over the prior mixture weights with
the couplings at their means; R's mean given G, per component the regression of R on G that the
coupling implies (R's variance times the coefficient over G's variance), over the same weights;
B's mean as the network gives it, given R and G (posterior weights, ``kernels``). The expected
error energy is four times the mixture's standard deviation, in levels. The hint is the same
mixture (R's components at their regressed means and conditional variances). The settings (the
guide's weight, the energy's even share, the mixers) were chosen on held-out photos
(docs/RESULTS.md).
"""

from __future__ import annotations

import math
import zlib
from typing import NamedTuple

import numpy as np

from ..classical import planes as blocks
from ..classical import predictive, residuals
from ..entropy import mixing
from ..entropy import rangecoder as rc
from ..errors import FormatError
from ..exact import floor_div
from ..jit import inline_kernel, kernel
from . import kernels
from .codec import BAND, PriorNetworkCodec, wavefronts
from .kernels import GRID, WEIGHT_BITS, base_mean, coupling, scale_index

PLANE_BITS = (8, 9, 9)  # G, R - G + 256, B - G + 256


class Method(NamedTuple):
    """What a guided stream's block method (``planes.push_block``) says: the guide's base weight
    among the sub-predictors (the others' are 12-13), the kind of mixer (``entropy.mixing``) and
    how many views of the context pick its mixers (``residuals.mixer_rows``)."""

    guide_weight: int
    mixer: int
    views: int = 1


# 48 in the first streams, 16 since (0.3 % smaller on held-out photos once the guide's distribution
# is mixed into every decision); the second kind of mixer since method 2, every bit coded by five
# mixers, picked by five views of its context, since method 3 (docs/RESULTS.md).
METHODS = {0: Method(48, 1), 1: Method(16, 1), 2: Method(16, 2), 3: Method(16, 2, len(residuals.VIEW_SETS))}
GUIDED = 3  # the method written
# The block head holds methods 0-3 (``planes.push_block``); its 3 says that the block's first byte
# names the method (3 to 255), so that later methods need no new layout.
EXTENDED = 3
COEF_BASE = 7  # where the couplings start among the outputs of a three-channel prior (``OUTPUTS``)


def variance_table(inv_scales: np.ndarray) -> np.ndarray:
    """Each scale's variance (2**-12 squared levels), from the tables' inverse scales (2**-20
    units): ``s * s * 329 // 100`` for the scale ``s = 2**26 // inv`` in 2**-6 levels."""
    s = (np.int64(1) << 26) // np.asarray(inv_scales, np.int64)
    return s * s * 329 // 100


@inline_kernel
def _spread(mix, w, mean, means, variances):
    """The mixture's expected error energy in levels (four standard deviations) around ``mean``,
    from its components' ``means`` (grid units) and ``variances``."""
    total = np.int64(0)
    for k in range(mix):
        d = (means[k] - mean) >> 6
        total += w[k] * (variances[k] + d * d)
    return (4 * np.int64(math.sqrt(total >> WEIGHT_BITS)) + 32) >> 6


@inline_kernel
def _inverse_scale(variance):
    """A logistic's inverse scale (2**-20 units) from its variance (``variance_table``'s units)."""
    s = np.int64(math.sqrt(variance * 100 // 329))  # the scale in 2**-6 levels
    return floor_div(np.int64(1) << 26, max(s, 1))


@inline_kernel
def _mean(mix, w, means):
    total = np.int64(0)
    for k in range(mix):
        total += w[k] * means[k]
    return total >> WEIGHT_BITS


@inline_kernel
def _eighths(mean):
    """A mean in grid units to the classical coder's 1/8 levels, rounded."""
    return (mean + 256) >> 9


@inline_kernel
def _prepare(oi, mix, exp, variances, limits, ref_r, ref_g, prior, mu_r, mu_g, var_r, var_g):
    """A pixel's prior mixture weights (sum 2**16) and, per component, R's and G's means before
    their couplings and variances (G's with the coupling's share of R's)."""
    ls_lo, ls_hi, coef_lim, table_min = limits[0], limits[1], limits[2], limits[3]
    nscales = variances.shape[0]
    kernels._normalize(mix, prior, kernels._weights(oi, mix, exp, prior))
    for k in range(mix):
        mu_r[k] = base_mean(oi, 0, mix, k, ref_r)
        mu_g[k] = base_mean(oi, 1, mix, k, ref_g)
        var_r[k] = variances[scale_index(oi, 0, mix, k, 3, nscales, ls_lo, ls_hi, table_min)]
        a = coupling(oi, 1, 0, mix, k, coef_lim, COEF_BASE)
        var_g[k] = (((a * a) >> 12) * var_r[k] >> 12) + variances[
            scale_index(oi, 1, mix, k, 3, nscales, ls_lo, ls_hi, table_min)]


@inline_kernel
def _guide(c, oi, refs, r, g, mix, inv_scales, variances, table, shift, limits, prior, mu_r, mu_g, var_r, var_g, w,
           means, inv, vals, cond, cvar):
    """(guide in 1/8ths, expected error energy in levels) of plane c (G, R - G + 256, B - G + 256)
    of a pixel after ``_prepare``, given its G (for c >= 1) and R (for c = 2)."""
    if c == 0:  # G: its mean and spread over the prior weights, the couplings at their means
        mean = _mean(mix, prior, mu_g)
        return _eighths(mean), _spread(mix, prior, mean, mu_g, var_g)
    if c == 1:  # R given G: per component the regression the coupling implies
        for k in range(mix):
            a = coupling(oi, 1, 0, mix, k, limits[2], COEF_BASE)
            beta = floor_div(a * var_r[k], max(var_g[k], 1))  # |a| <= 2**13, variances < 2**33: exact
            cond[k] = mu_r[k] + ((beta * (g * GRID - mu_g[k])) >> 12)
            cvar[k] = max(var_r[k] - ((beta * ((a * var_r[k]) >> 12)) >> 12), 0)
        mean = _mean(mix, prior, cond)
        return _eighths(mean) + ((256 - g) << 3), _spread(mix, prior, mean, cond, cvar)
    # B given R and G: the network's own conditional, as the local prior's coder has it
    vals[0] = r
    vals[1] = g
    total = np.int64(1) << WEIGHT_BITS
    for k in range(mix):
        w[k] = prior[k]
    for j in range(3):
        kernels._channel(oi, j, mix, 3, refs[j], vals, means, inv, inv_scales, inv_scales.shape[0], limits[0],
                         limits[1], limits[2], COEF_BASE, limits[3])
        kernels._normalize(mix, w, total)
        if j < 2:
            total = kernels._posterior(mix, w, vals[j], means[j], inv, table, shift)
    for k in range(mix):
        cvar[k] = variances[scale_index(oi, 2, mix, k, 3, variances.shape[0], limits[0], limits[1], limits[3])]
    mean = _mean(mix, w, means[2])
    return _eighths(mean) + ((256 - g) << 3), _spread(mix, w, mean, means[2], cvar)


@kernel
def pixel_guides(oi, refs, r, g, mix, exp, inv_scales, variances, table, shift, limits, w, means, inv, vals, prior,
                 mu_r, mu_g, var_r, var_g, cond, cvar, out):
    """``out[c]`` = ``_guide`` of each plane c of one pixel of outputs ``oi``, reference
    predictions ``refs`` and values R and G (for tests)."""
    _prepare(oi, mix, exp, variances, limits, refs[0], refs[1], prior, mu_r, mu_g, var_r, var_g)
    for c in range(3):
        out[c, 0], out[c, 1] = _guide(c, oi, refs, r, g, mix, inv_scales, variances, table, shift, limits, prior,
                                      mu_r, mu_g, var_r, var_g, w, means, inv, vals, cond, cvar)


@kernel
def code_pixels(coder, buf, planes, rgb, te, rows, bias, slope, switch, models, models_at, mixer, ys, xs, o, mix,
                exp, inv_scales, variances, table, shift, limits, w, means, inv, vals, refs, prior, mu_r, mu_g,
                var_r, var_g, cond, cvar, hint_inv, knots, stretch, guide_weight, views, decoding):
    """Code (decoding: read) pixels (ys[i], xs[i]) of one tile, their network outputs ``o[i]``, the
    guide of base weight ``guide_weight`` and ``views`` views picking mixers (``METHODS``):
    ``planes`` (3, H, W) int32 G, R - G + 256, B - G + 256 and ``rgb`` (3, H, W) uint8 (decoding:
    filled in); the rest is the classical coder's state per plane (``te``, ``rows`` (3, 6, H, W),
    ``bias``, ``slope``, ``switch``, ``models`` from ``models_at[c]``) and scratch; returns the
    coder."""
    for i in range(ys.shape[0]):
        y, x = ys[i], xs[i]
        for j in range(3):
            refs[j] = kernels._reference(rgb, j, y, x)
        _prepare(o[i], mix, exp, variances, limits, refs[0], refs[1], prior, mu_r, mu_g, var_r, var_g)
        g = r = np.int64(0)
        for c in range(3):  # the planes G, R - G, B - G
            guide8, energy = _guide(c, o[i], refs, r, g, mix, inv_scales, variances, table, shift, limits, prior,
                                    mu_r, mu_g, var_r, var_g, w, means, inv, vals, cond, cvar)
            # the hint: the mixture of the plane's colour (G; R given G; B given R and G)
            offset = g - 256
            if c == 0:
                offset = 0
                hint_w, hint_means, hint_scales = prior, mu_g, hint_inv
                for k in range(mix):
                    hint_inv[k] = _inverse_scale(var_g[k])
            elif c == 1:
                hint_w, hint_means, hint_scales = prior, cond, hint_inv
                for k in range(mix):
                    hint_inv[k] = _inverse_scale(cvar[k])
            else:
                hint_w, hint_means, hint_scales = w, means[2], inv
            coder = predictive.code_sample(coder, buf, planes, te, c, c - 1, PLANE_BITS[c], models, models_at[c],
                                           rows[c], y, y - 1, bias[c], slope[c], switch[c], y, x, guide8,
                                           guide_weight, energy, offset, hint_w, hint_means,
                                           hint_scales, mixer, c * residuals.MIXERS, views,
                                           (table, shift, knots, stretch), decoding)
            if c == 0:
                g = np.int64(planes[0, y, x])
            elif c == 1:
                r = (np.int64(planes[1, y, x]) - 256 + g) & 255  # a corrupt stream may leave the range: the CRC tells
        rgb[0, y, x] = r
        rgb[1, y, x] = g
        rgb[2, y, x] = (np.int64(planes[2, y, x]) - 256 + g) & 255
    return coder


def _pixel_major(array: np.ndarray) -> np.ndarray:
    """A copy of a (planes, ..., H, W) array laid out pixel by pixel in memory (each pixel's values
    together), indexed as before: the wavefront order steps through many rows in turn, and each
    pixel's three planes are coded together. Never contiguous, so that the coding kernel compiles
    once for every shape (a picture one pixel high or wide would otherwise be)."""
    order = (*range(array.ndim - 2, array.ndim), *range(array.ndim - 2))
    inverse = np.argsort(order)
    view = np.ascontiguousarray(array.transpose(order)).transpose(inverse)
    if view.flags.c_contiguous or view.flags.f_contiguous:  # one pixel high or wide
        spaced = np.zeros((*view.shape, 2), view.dtype)  # every other element: numba's layout "A" as for the rest
        spaced[..., 0] = view
        view = spaced[..., 0]
    return view


class _TileState:
    """The classical coder's adaptive state for one tile's three planes (its mixers as ``method``
    says, a ``Method``), and the codec's scratch."""

    def __init__(self, height: int, width: int, mixture: int, method: Method):
        self.te = _pixel_major(np.zeros((3, height, width), np.int32))
        self.rows = _pixel_major(np.zeros((3, predictive.N_PREDICTORS + 1, height, width), np.int32))
        self.bias = np.zeros((3, predictive.BIAS_CONTEXTS, 2), np.int64)
        self.slope = np.zeros((3, predictive.SLOPE_CONTEXTS, 2), np.int64)
        self.switch = np.zeros((3, 2), np.int64)
        starting = [predictive._starting_models(bits) for bits in PLANE_BITS]
        self.models = np.concatenate(starting)
        self.models_at = np.cumsum([0] + [len(m) for m in starting[:-1]]).astype(np.int64)
        self.mixer = residuals.new_hint_mixers(method.mixer, 3, method.views)
        self.scratch = [np.zeros(mixture, np.int64) for _ in range(7)]  # prior, mu_r, mu_g, var_r, var_g, cond, cvar
        self.hint_inv = np.zeros(mixture, np.int64)

    def args(self) -> tuple:
        return (self.te, self.rows, self.bias, self.slope, self.switch, self.models, self.models_at, self.mixer)


def _checksum(rgb: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(rgb, np.uint8).tobytes())


class GuidedCodec(PriorNetworkCodec):
    """Encodes and decodes batches of (3, H, W) uint8 tiles with the classical coder guided by a
    local prior of three channels; each tile one stream, pushed as bytes. (It has no sampled
    estimate: the classical coder's contexts learn from every pixel, so it is coded to be compared.)"""

    def _check(self, coder, channels: int, bits: int) -> None:
        if self.config.channels != 3:
            raise FormatError("the guided coder needs a local prior of three channels")
        super()._check(coder, channels, bits)

    def _tables(self) -> tuple:
        """The shared tables, each scale's variance beside the inverse scales."""
        exp, inv_scales, table, shift = super()._tables()
        return exp, inv_scales, variance_table(inv_scales), table, shift

    def push(self, coder, tiles: np.ndarray, estimate: bool = False, bits: int = 8, known=None) -> float | None:
        """Push a (B, 3, H, W) uint8 batch; its size in bits when asked (exact). ``known`` is not
        used."""
        self._check(coder, tiles.shape[1], bits)
        total = 0
        for i in range(len(tiles) - 1, -1, -1):  # the last tile first: ``pop`` returns them in order
            total += push_tile(coder, GUIDED, self.encode_tile(np.ascontiguousarray(tiles[i], np.uint8)))
        return float(total) if estimate else None

    def encode_tile(self, rgb: np.ndarray, method: int = GUIDED) -> bytes:
        """One (3, H, W) uint8 tile's stream, of block method ``method`` (``METHODS``)."""
        r, g, b = rgb.astype(np.int32)
        planes = np.stack([g, r - g + 256, b - g + 256])
        expected = _checksum(rgb)
        capacity = rgb.size * 2 + 1024
        while True:  # once more, with the size the first try needed, if the buffer was too small
            digits = np.zeros(capacity, np.uint16)
            coder = self._code(rc.new_encoder(), digits, _pixel_major(planes), _pixel_major(rgb), method, False)
            _, coder = rc.code_raw(coder, digits, expected >> 16, 16, False)
            _, coder = rc.code_raw(coder, digits, expected & 0xFFFF, 16, False)
            stream = rc.stream_bytes(coder, digits)
            if isinstance(stream, bytes):
                return stream
            capacity = stream

    def _code(self, coder, buf, planes, rgb, method: int, decoding: bool):
        """Code the tile's pixels in wavefront order, the network on bands (encoding) or on each
        wavefront (decoding) of the pixels coded before it, as block method ``method`` says."""
        state = _TileState(*rgb.shape[1:], self.mixture, METHODS[method])
        scratch = self._scratch()
        tables_ = self._tables()
        bs, ys, xs, starts = wavefronts(1, *rgb.shape[1:], self.config.horizon)
        if decoding:
            spans = zip(starts[:-1], starts[1:])
        else:
            spans = ((a, min(a + BAND, len(ys))) for a in range(0, len(ys), BAND))
        values, outside = self._buffers(int(np.diff(starts).max()) if decoding else min(BAND, len(ys)))
        tile = rgb[None]
        refs = np.zeros(3, np.int64)
        gather, code = kernels.gather_values.typed_once(), code_pixels.typed_once()  # every span's types alike
        for a, b in spans:
            gather(tile, bs[a:b], ys[a:b], xs[a:b], self.net.offsets, values[: b - a], outside[: b - a])
            o = self.net(values[: b - a], outside[: b - a])
            coder = code(coder, buf, planes, rgb, *state.args(), ys[a:b], xs[a:b], o, self.mixture, *tables_,
                         self.limits, scratch["w"], scratch["means"], scratch["inv"], scratch["vals"], refs,
                         *state.scratch, state.hint_inv, mixing.SQUASH_KNOTS, mixing.stretch_table(),
                         METHODS[method].guide_weight, METHODS[method].views, decoding)
        return coder

    def decode_tile(self, data: bytes, height: int, width: int, method: int = GUIDED) -> np.ndarray:
        """The (3, H, W) uint8 tile of a stream from ``encode_tile`` of block method ``method``;
        FormatError if corrupt."""
        buf = rc.decoder_buffer(data)
        rgb = _pixel_major(np.zeros((3, height, width), np.uint8))
        coder = self._code(rc.new_decoder(buf), buf, _pixel_major(np.zeros((3, height, width), np.int32)), rgb,
                           method, True)
        high, coder = rc.code_raw(coder, buf, 0, 16, True)
        low, coder = rc.code_raw(coder, buf, 0, 16, True)
        if not rc.ends_cleanly(coder, buf) or _checksum(rgb) != (high << 16 | low):
            raise FormatError("corrupt guided stream: its pixels do not match its checksum")
        return rgb

    def pop(self, coder, batch: int, channels: int, height: int, width: int, bits: int = 8) -> np.ndarray:
        """Inverse of ``push`` for a batch of the given shape."""
        self._check(coder, channels, bits)
        out = np.empty((batch, 3, height, width), np.uint8)
        for i in range(batch):
            method, stream = pop_tile(coder, 8 * 3 * height * width + 4096)
            out[i] = self.decode_tile(stream, height, width, method)
        return out


def push_tile(coder, method: int, stream: bytes) -> int:
    """Push a tile's stream of block method ``method`` as a block (its method in the block's head,
    or from ``EXTENDED`` on in a byte before the stream); returns the bits pushed."""
    if method >= EXTENDED:
        stream = bytes([method]) + stream
    blocks.push_block(coder, min(method, EXTENDED), stream)
    return 8 * len(stream) + blocks.BLOCK_HEAD_BITS


def pop_tile(coder, limit: int) -> tuple[int, bytes]:
    """(method, stream) of a tile ``push_tile`` pushed, a stream of at most ``limit`` bytes;
    FormatError if its method is unknown or written where the head could say it."""
    field, block = blocks.pop_block(coder, limit + 1)
    if field != EXTENDED:
        method, stream = field, block
    elif not block:
        raise FormatError("corrupt file: a guided tile's block has no method")
    else:
        method, stream = block[0], block[1:]
        if method < EXTENDED:
            raise FormatError(f"corrupt file: a guided tile has block method {method} written in its block")
    if method not in METHODS:
        raise FormatError(f"corrupt file: a guided tile has block method {method}")
    return method, stream
