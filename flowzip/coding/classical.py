"""The classical lossless coder: adaptive context modelling over a self-correcting weighted
predictor, for images the flows do not suit (graphics, text, flat areas, 16-bit, odd sizes).

``encode_planes(x, bits)`` codes a (C, H, W) array of samples in ``[0, 2**bits)`` into one
range-coded stream; ``decode_planes`` gives the array back. Every probability comes from integer
arithmetic, so a stream decodes the same on any machine.

Stream, all inside the range coder (see ``rangecoder``; nothing is stored outside it, so any
corrupt byte, header fields included, fails the coder's end check):

- for three or more channels, one bit: whether the first three are coded as G, R - G, B - G
  (``SUBTRACT_GREEN``, each difference offset by ``2**bits`` and one bit wider) or as they are;
- per plane, one bit for its mode, then the plane:
  - ``PREDICTIVE``: each sample's residual from a prediction, in raster order;
  - ``PALETTE`` (planes of at most ``PALETTE_MAX`` distinct values): the count less one (4 bits),
    the values in increasing order (``bits`` each), then each sample's index, bit by bit, in the
    context of its neighbours' indices (a JBIG-like template; 1-bit images, text, flat graphics).

The predictor blends five sub-predictors (``W + NE - N``, ``N`` and ``W`` corrected by their
neighbours' errors, ``N`` corrected by the three errors above, ``N + W - NW``), each weighted by
the inverse of its error around the pixel, as in JPEG XL's weighted predictor; then a per-context
mean error is subtracted (bias cancellation, as in CALIC and JPEG-LS). The two colour differences
also subtract the previous plane's error at the same pixel times a slope learnt from past
samples of the same activity. Residuals are coded as a magnitude class (unary, ``bit_length`` of
the absolute value), a sign, the first bit below the leading one, and raw low bits, each modelled
in a context of the quantized local error energy and gradient (sign: the prediction's rounding
fraction).
"""

from __future__ import annotations

import functools
import zlib

import numpy as np

from ..errors import FormatError
from . import rangecoder as rc
from .jit import inline_kernel, kernel

SUBTRACT_GREEN = 1
PREDICTIVE, PALETTE = 0, 1
PALETTE_MAX = 16
FRACTION = 3  # predictions carry 3 fractional bits

# Weighted predictor: error-correction strengths (/32) of sub-predictors 1-3, base weights of all 5.
CORRECT_N, CORRECT_W, CORRECT_NNE = 4, 5, 4
BASE_WEIGHTS = (13, 12, 12, 12, 12)
N_PREDICTORS = 6
SWITCH_SHIFT = 10
# Bias cancellation: 6 texture bits x 4 activity levels, running means halved every BIAS_LIMIT.
# Each error counts at most 2 + energy / 8 (outliers such as a glyph's edge would drag the mean).
BIAS_CONTEXTS, BIAS_LIMIT = 64 * 4, 256
# Inter-plane slope: one running regression per activity level, halved when its energy passes
# SLOPE_LIMIT (scaled to the plane's depth); slopes are /256 and at most SLOPE_MAX.
SLOPE_CONTEXTS, SLOPE_LIMIT, SLOPE_MAX, SLOPE_PRIOR = 16, 1 << 20, 512, 64
# Coding contexts: error-energy classes (two per octave) x gradient classes.
GRADIENT_CLASSES = 6
SIGN_CONTEXTS = 16


@kernel
def energy_classes(bits):
    return 2 * bits + 8


def predictive_model_count(bits: int) -> int:
    return energy_classes(bits) * GRADIENT_CLASSES * residual_block(bits)


# Starting probabilities (/65536) of the residual's bits, roughly where they end up on photos,
# worth PRIOR_COUNT bits seen: whether the class goes one higher, by distance from the context's
# usual class; whether it is this one, going down; the bit below the leading one; the sign, by the
# prediction's fraction. Small planes (tiles) learn from these instead of from 1/2.
PRIOR_UP = (24000, 14000, 5000, 4000)
PRIOR_DOWN = (33000, 36000, 39000, 40000)
PRIOR_FIRST, PRIOR_MANTISSA = 29000, 19000
PRIOR_COUNT = 8


def predictive_models(bits: int) -> np.ndarray:
    """Bit models for a plane of ``bits``-bit samples, at their starting probabilities."""
    return _starting_models(bits).copy()


@functools.cache
def _starting_models(bits: int) -> np.ndarray:
    kmax = bits + 1
    classes = energy_classes(bits)
    prior = np.zeros((classes, GRADIENT_CLASSES, residual_block(bits)), np.int32)
    for energy_class in range(classes):
        start = min(max((energy_class >> 1) - 1, 0), bits)
        row = prior[energy_class]
        row[:, 0] = PRIOR_FIRST
        for j in range(kmax):
            row[:, 1 + j] = PRIOR_UP[min(max(j - start, 0), len(PRIOR_UP) - 1)]
            row[:, 1 + kmax + j] = PRIOR_DOWN[min(max(start - j - 1, 0), len(PRIOR_DOWN) - 1)]
        row[:, 1 + 2 * kmax: 1 + 3 * kmax] = PRIOR_MANTISSA
        row[:, 1 + 3 * kmax:] = 42000 - 19000 * (np.arange(SIGN_CONTEXTS) >> 1) // 7
    models = np.empty((prior.size, 3), np.int32)
    models[:, 0] = models[:, 1] = prior.ravel()
    models[:, 2] = PRIOR_COUNT
    return models


BYTE_BIT_LENGTH = np.array([n.bit_length() for n in range(256)], np.int64)


@inline_kernel
def bit_length(v):
    """Bits needed to write ``v`` >= 0."""
    n = 0
    while v >= 1 << 16:
        v >>= 16
        n += 16
    if v >= 256:
        v >>= 8
        n += 8
    return n + BYTE_BIT_LENGTH[v]


@inline_kernel
def log_class(v):
    """Two classes per octave: 0, 1, 2, 3, 4-5, 6-7, 8-11, 12-15, ..."""
    if v < 4:
        return v
    n = bit_length(v)
    return 2 * n - 2 + ((v >> (n - 2)) & 1)


@kernel
def residual_block(bits):
    """Bit models per coding context: first class decision, classes up, classes down, bit below
    the leading one per class, signs."""
    return 3 * (bits + 1) + 1 + SIGN_CONTEXTS


@inline_kernel
def code_residual(coder, buf, models, block, start, e, bits, sign_ctx, decoding):
    """Code a residual with ``|e| <= 2**(bits-1)`` in the context whose models begin at
    ``block``; returns ``(e, coder)``.

    The magnitude class ``k = bit_length(|e|)`` is coded in unary from the context's usual class
    ``start``: first whether ``k >= start``, then upwards (``k > j``?) or downwards (``k == j``?).
    Then the sign, the bit below the leading one, and the remaining bits raw.
    """
    kmax = bits + 1
    magnitude = e if e >= 0 else -e
    k = bit_length(magnitude)
    up = block + 1
    down = up + kmax
    mantissa = down + kmax
    signs = mantissa + kmax
    at_least = 1
    if start > 0:
        at_least, coder = rc.code_modelled(coder, buf, models, block, 1 if k >= start else 0, decoding)
    if at_least:
        j = start
        while j < bits:
            more, coder = rc.code_modelled(coder, buf, models, up + j, 1 if k > j else 0, decoding)
            if not more:
                break
            j += 1
    else:
        j = start - 1
        while j > 0:
            here, coder = rc.code_modelled(coder, buf, models, down + j, 1 if k == j else 0, decoding)
            if here:
                break
            j -= 1
    k = j
    if k == 0:
        return 0, coder
    negative, coder = rc.code_modelled(coder, buf, models, signs + sign_ctx, 1 if e < 0 else 0, decoding)
    value = 1
    if k >= 2:
        bit, coder = rc.code_modelled(coder, buf, models, mantissa + k, (magnitude >> (k - 2)) & 1, decoding)
        value = 2 | bit
        if k >= 3:
            low, coder = rc.code_raw(coder, buf, magnitude, k - 2, decoding)
            value = (value << (k - 2)) | low
    return (-value if negative else value), coder


@kernel
def code_predictive_plane(coder, buf, img, te, c, ref, bits, models, rows, bias, slope, decoding):
    """Code plane ``c`` of ``img`` (decoding: fill it) with the weighted predictor.

    ``te[c]`` receives each sample's prediction error (scaled by 2**FRACTION); ``ref`` >= 0 names
    an earlier plane whose errors ``te[ref]`` feed this plane's prediction and contexts. ``rows``
    (N_PREDICTORS, 2, W), ``bias`` (BIAS_CONTEXTS, 2), ``slope`` (SLOPE_CONTEXTS, 2) and
    ``models`` start zeroed (models at 1/2) and are the coder's adaptive state.
    """
    height, width = img.shape[1], img.shape[2]
    maxv = (1 << bits) - 1
    half = 1 << (bits - 1)
    top8 = maxv << FRACTION
    energy_cap = energy_classes(bits) - 1
    gradient_shift = max(bits - 8, 0)
    slope_limit = SLOPE_LIMIT << max(2 * (bits - 8), 0)
    w0, w1, w2, w3, w4 = BASE_WEIGHTS
    block = residual_block(bits)
    plain_err = line_err = 0
    for y in range(height):
        cur = y & 1
        prv = cur ^ 1
        for x in range(width):
            # Neighbours: the first row sees only W, the first column takes N for W.
            if y > 0:
                vn = img[c, y - 1, x]
                vw = img[c, y, x - 1] if x > 0 else vn
                vnw = img[c, y - 1, x - 1] if x > 0 else vn
                vne = img[c, y - 1, x + 1] if x + 1 < width else vn
                vnn = img[c, y - 2, x] if y > 1 else vn
            else:
                vw = img[c, y, x - 1] if x > 0 else half
                vn = vnw = vne = vnn = vw
            vww = img[c, y, x - 2] if x > 1 else vw
            xw = max(x - 1, 0)
            xww = max(x - 2, 0)
            xne = min(x + 1, width - 1)
            ten = te[c, y - 1, x] if y > 0 else 0
            tew = te[c, y, xw] if x > 0 else ten
            tenw = te[c, y - 1, xw] if (y > 0 and x > 0) else ten
            tene = te[c, y - 1, xne] if y > 0 else 0
            teww = te[c, y, xww] if x > 1 else tew
            n8 = vn << FRACTION
            w8 = vw << FRACTION
            nw8 = vnw << FRACTION
            ne8 = vne << FRACTION
            p0 = w8 + ne8 - n8
            p1 = n8 - (((tew + ten + tene) * CORRECT_N) >> 5)
            p2 = w8 - (((tew + ten + tenw) * CORRECT_W) >> 5)
            p3 = n8 - (((tenw + ten + tene) * CORRECT_NNE) >> 5)
            p4 = n8 + w8 - nw8
            # Colour line: where plane 0 lies between W and N, this plane lies as far along.
            p5 = p4
            w5 = 0
            if ref >= 0 and y > 0 and x > 0:
                w5 = w4
                line = img[0, y - 1, x] - img[0, y, x - 1]
                if line != 0:
                    p5 = w8 + ((img[0, y, x] - img[0, y, x - 1]) * (n8 - w8)) // line
            # Weights: inverse of each sub-predictor's error at W, WW, NW, N, NE.
            e0 = e1 = e2 = e3 = e4 = e5 = 1
            if y > 0:
                e0 += rows[0, prv, x] + rows[0, prv, xne] + rows[0, prv, xw]
                e1 += rows[1, prv, x] + rows[1, prv, xne] + rows[1, prv, xw]
                e2 += rows[2, prv, x] + rows[2, prv, xne] + rows[2, prv, xw]
                e3 += rows[3, prv, x] + rows[3, prv, xne] + rows[3, prv, xw]
                e4 += rows[4, prv, x] + rows[4, prv, xne] + rows[4, prv, xw]
                e5 += rows[5, prv, x] + rows[5, prv, xne] + rows[5, prv, xw]
            if x > 0:
                e0 += rows[0, cur, xw] + rows[0, cur, xww]
                e1 += rows[1, cur, xw] + rows[1, cur, xww]
                e2 += rows[2, cur, xw] + rows[2, cur, xww]
                e3 += rows[3, cur, xw] + rows[3, cur, xww]
                e4 += rows[4, cur, xw] + rows[4, cur, xww]
                e5 += rows[5, cur, xw] + rows[5, cur, xww]
            u0 = (w0 << 24) // e0
            u1 = (w1 << 24) // e1
            u2 = (w2 << 24) // e2
            u3 = (w3 << 24) // e3
            u4 = (w4 << 24) // e4
            u5 = (w5 << 24) // e5
            total = u0 + u1 + u2 + u3 + u4
            plain8 = (u0 * p0 + u1 * p1 + u2 * p2 + u3 * p3 + u4 * p4 + (total >> 1)) // total
            lined8 = (u0 * p0 + u1 * p1 + u2 * p2 + u3 * p3 + u4 * p4 + u5 * p5 + ((total + u5) >> 1)) // (total + u5)
            pred8 = lined8 if line_err < plain_err else plain8
            pred8 = min(max(pred8, min(vw, vn, vne) << FRACTION), max(vw, vn, vne) << FRACTION)
            energy = (abs(ten) + abs(tew) + abs(tenw) + abs(tene) + abs(teww) + 4) >> FRACTION
            bias_level = min(log_class(energy) >> 2, 3)
            # Another plane's error at this pixel, times a learnt slope.
            spatial8 = pred8
            slope_ctx = 0
            tref = 0
            if ref >= 0:
                tref = te[ref, y, x]
                slope_ctx = min(log_class((abs(ten) + abs(tew) + abs(tenw) + abs(tene) + 4) >> FRACTION),
                                SLOPE_CONTEXTS - 1)
                k = (slope[slope_ctx, 0] << 8) // (slope[slope_ctx, 1] + SLOPE_PRIOR)
                k = min(max(k, -SLOPE_MAX), SLOPE_MAX)
                pred8 = spatial8 - ((k * tref) >> 8)
                energy += (abs(tref) + 8) >> 4
            # Bias cancellation in the context of which neighbours lie above the prediction.
            texture = ((1 if n8 > pred8 else 0) | (2 if w8 > pred8 else 0) | (4 if nw8 > pred8 else 0)
                       | (8 if ne8 > pred8 else 0) | (16 if (vnn << FRACTION) > pred8 else 0)
                       | (32 if (vww << FRACTION) > pred8 else 0))
            bias_ctx = texture * 4 + bias_level
            count = bias[bias_ctx, 1]
            unbiased8 = pred8
            if count > 0:
                pred8 -= (bias[bias_ctx, 0] + (count >> 1)) // count
            pred8 = min(max(pred8, 0), top8)
            pred = (pred8 + (1 << (FRACTION - 1))) >> FRACTION
            gradient = (abs(vn - vnw) + abs(vw - vnw) + abs(vne - vn)) >> gradient_shift
            energy_class = min(log_class(energy), energy_cap)
            ctx = energy_class * GRADIENT_CLASSES + min(log_class(gradient), GRADIENT_CLASSES - 1)
            start = min(max((energy_class >> 1) - 1, 0), bits)
            sign_ctx = (pred8 - (pred << FRACTION) + 4) * 2 + (1 if tew > 0 else 0)
            e = 0
            if not decoding:
                e = img[c, y, x] - pred
                if e >= half:
                    e -= 1 << bits
                elif e < -half:
                    e += 1 << bits
            e, coder = code_residual(coder, buf, models, ctx * block, start, e, bits, sign_ctx, decoding)
            v = (pred + e) & maxv
            img[c, y, x] = v
            v8 = v << FRACTION
            te[c, y, x] = pred8 - v8
            rows[0, cur, x] = abs(p0 - v8)
            rows[1, cur, x] = abs(p1 - v8)
            rows[2, cur, x] = abs(p2 - v8)
            rows[3, cur, x] = abs(p3 - v8)
            rows[4, cur, x] = abs(p4 - v8)
            rows[5, cur, x] = abs(p5 - v8)
            plain_err += abs(plain8 - v8) - (plain_err >> SWITCH_SHIFT)
            line_err += abs(lined8 - v8) - (line_err >> SWITCH_SHIFT)
            limit = (2 << FRACTION) + energy
            bias[bias_ctx, 0] += min(max(unbiased8 - v8, -limit), limit)
            bias[bias_ctx, 1] = count + 1
            if count + 1 >= BIAS_LIMIT:
                bias[bias_ctx, 0] = bias[bias_ctx, 0] // 2
                bias[bias_ctx, 1] = (count + 1) >> 1
            if ref >= 0:
                slope[slope_ctx, 0] += (spatial8 - v8) * tref
                slope[slope_ctx, 1] += tref * tref
                if slope[slope_ctx, 1] > slope_limit:
                    slope[slope_ctx, 0] >>= 1
                    slope[slope_ctx, 1] >>= 1
    return coder


# Palette template: neighbours (dy, dx) in order of importance; a plane of ``depth``-bit indices
# takes as many as fit in TEMPLATE_BITS, after the index of the plane before it when that plane
# is a palette plane too.
TEMPLATE_DY = np.array([0, -1, -1, -1, 0, -2, -1, -1, -2, -2, 0, 0], np.int64)
TEMPLATE_DX = np.array([-1, 0, -1, 1, -2, 0, -2, 2, -1, 1, -3, -4], np.int64)
TEMPLATE_BITS = 14


def palette_model_count(depth: int, ref_depth: int) -> int:
    return 1 << (template_size(depth, ref_depth) * depth + ref_depth + depth)


def template_size(depth: int, ref_depth: int) -> int:
    return min((TEMPLATE_BITS - ref_depth) // depth, len(TEMPLATE_DY)) if depth else 0


@kernel
def code_palette_plane(coder, buf, idx, c, ref, ref_depth, depth, count, models, decoding):
    """Code the palette indices ``idx[c]`` (decoding: fill them), each below ``count``, as
    ``depth`` bits, most significant first, in the context of the template's neighbours, the
    index of plane ``ref`` at the same pixel (when ``ref`` >= 0) and the bits coded so far.
    Returns ``(coder, ok)``; ``ok`` is false when a decoded index is not below ``count``."""
    height, width = idx.shape[1], idx.shape[2]
    neighbours = min((TEMPLATE_BITS - ref_depth) // depth, len(TEMPLATE_DY))
    ok = True
    for y in range(height):
        for x in range(width):
            ctx = 0
            for t in range(neighbours):
                yy = y + TEMPLATE_DY[t]
                xx = x + TEMPLATE_DX[t]
                ctx = (ctx << depth) | (idx[c, yy, xx] if (yy >= 0 and 0 <= xx < width) else 0)
            if ref >= 0:
                ctx = (ctx << ref_depth) | idx[ref, y, x]
            ctx <<= depth
            value = 0 if decoding else idx[c, y, x]
            node = 1
            for j in range(depth - 1, -1, -1):
                bit, coder = rc.code_modelled(coder, buf, models, ctx | node, (value >> j) & 1, decoding)
                node = (node << 1) | bit
            value = node - (1 << depth)
            if value >= count:
                ok = False
                value = 0
            idx[c, y, x] = value
    return coder, ok


class _Planes:
    """Everything a stream's planes need while they are coded, one way or the other."""

    def __init__(self, img: np.ndarray, bits: int, transform: int):
        self.img = img
        channels, height, width = img.shape
        self.bits = [bits + 1 if transform == SUBTRACT_GREEN and 1 <= c <= 2 else bits
                     for c in range(channels)]
        self.te = np.zeros(img.shape, np.int32)
        self.idx = np.zeros(img.shape, np.int32)
        self.depths = [0] * channels  # palette index depth of each palette plane, else 0
        self.modes = [PREDICTIVE] * channels
        self.rows = np.zeros((N_PREDICTORS, 2, width), np.int32)

    def predictive_ref(self, c: int) -> int:
        """The colour plane before ``c`` among the first three, or -1."""
        return c - 1 if self.img.shape[0] >= 3 and 1 <= c <= 2 else -1

    def palette_ref(self, c: int) -> int:
        return c - 1 if c > 0 and self.modes[c - 1] == PALETTE else -1

    def code(self, coder, buf, c: int, mode: int, palette: np.ndarray | None, decoding: bool):
        """Code plane ``c``'s mode and samples (decoding: read them); returns the coder."""
        mode, coder = rc.code_raw(coder, buf, mode, 1, decoding)
        self.modes[c] = mode
        if mode == PALETTE:
            return self._code_palette(coder, buf, c, palette, decoding)
        self.rows[:] = 0
        models = predictive_models(self.bits[c])
        bias = np.zeros((BIAS_CONTEXTS, 2), np.int64)
        slope = np.zeros((SLOPE_CONTEXTS, 2), np.int64)
        return code_predictive_plane(coder, buf, self.img, self.te, c, self.predictive_ref(c), self.bits[c],
                                     models, self.rows, bias, slope, decoding)

    def _code_palette(self, coder, buf, c, palette, decoding):
        values, coder = _code_palette_values(coder, buf, None if decoding else palette[:, None], self.bits[c], decoding)
        values = values[:, 0]
        self.te[c] = 0
        self.depths[c] = (len(values) - 1).bit_length()
        if not decoding:
            self.idx[c] = np.searchsorted(values, self.img[c])
        ref = self.palette_ref(c)
        coder = _code_indices(coder, buf, self.idx, c, ref, self.depths[ref] if ref >= 0 else 0, len(values), decoding)
        self.img[c] = values[self.idx[c]]
        return coder


def _code_palette_values(coder, buf, values: np.ndarray | None, bits: int, decoding: bool, channels: int = 1):
    """Code a palette: its size less one (4 bits), then its rows of ``channels`` values of
    ``bits`` bits, which must be distinct and in increasing order; returns ``(values, coder)``."""
    count, coder = rc.code_raw(coder, buf, 0 if decoding else len(values) - 1, 4, decoding)
    out = np.zeros((count + 1, channels), np.int64)
    for i in range(count + 1):
        for k in range(channels):
            out[i, k], coder = rc.code_raw(coder, buf, 0 if decoding else int(values[i, k]), bits, decoding)
    if len(np.unique(out, axis=0)) < len(out) or (np.lexsort(out.T[::-1]) != np.arange(len(out))).any():
        raise FormatError("corrupt classical stream: a palette is not in increasing order")
    return out, coder


def _code_indices(coder, buf, idx: np.ndarray, c: int, ref: int, ref_depth: int, count: int, decoding: bool):
    """Code palette indices ``idx[c]`` (below ``count``) with the template coder."""
    depth = (count - 1).bit_length()
    if depth == 0:
        idx[c] = 0
        return coder
    models = rc.new_models(palette_model_count(depth, ref_depth))
    coder, ok = code_palette_plane(coder, buf, idx, c, ref, ref_depth, depth, count, models, decoding)
    if not ok:
        raise FormatError("corrupt classical stream: a palette index is out of range")
    return coder


def _subtract_green(x: np.ndarray, bits: int) -> np.ndarray:
    img = np.array(x, np.int32, order="C")
    offset = 1 << bits
    img[0], img[1], img[2] = x[1], x[0].astype(np.int32) - x[1] + offset, x[2].astype(np.int32) - x[1] + offset
    return img


def _add_green(img: np.ndarray, bits: int) -> np.ndarray:
    out = img.copy()
    offset = 1 << bits
    out[0], out[1], out[2] = img[1] + img[0] - offset, img[0], img[2] + img[0] - offset
    return out


def _residual_cost(planes: np.ndarray) -> float:
    """A rough cost of coding ``planes`` (C, H, W): the log-magnitude of LOCO-I residuals."""
    p = planes.astype(np.int64)
    n, w, nw = p[:, :-1, 1:], p[:, 1:, :-1], p[:, :-1, :-1]
    med = np.where(nw >= np.maximum(n, w), np.minimum(n, w),
                   np.where(nw <= np.minimum(n, w), np.maximum(n, w), n + w - nw))
    return float(np.log2(1 + np.abs(p[:, 1:, 1:] - med)).sum())


def _choose_transform(x: np.ndarray, bits: int) -> int:
    """Subtract green when it makes the first three planes cheaper (judged on a few rows)."""
    if x.shape[0] < 3 or x.shape[1] < 2 or x.shape[2] < 2:
        return 0
    step = max(1, x.shape[1] // 64)
    rows = np.stack([x[:3, y - 1:y + 1] for y in range(1, x.shape[1], step)], axis=1)
    rows = rows.reshape(3, -1, 2, x.shape[2])
    plain = sum(_residual_cost(rows[:, i]) for i in range(rows.shape[1]))
    green = sum(_residual_cost(_subtract_green(rows[:, i], bits)) for i in range(rows.shape[1]))
    return SUBTRACT_GREEN if green < plain else 0


def _palette(plane: np.ndarray, bits: int) -> np.ndarray | None:
    """The sorted distinct values of a plane when there are at most PALETTE_MAX, else None."""
    if len(np.unique(plane.ravel()[:4096])) > PALETTE_MAX:
        return None
    counts = np.bincount(plane.ravel(), minlength=1 << bits)
    values = np.flatnonzero(counts)
    return values if len(values) <= PALETTE_MAX else None


def _check_shape(channels: int, height: int, width: int, bits: int, error=ValueError) -> None:
    if not (1 <= channels <= 4 and height >= 1 and width >= 1 and 1 <= bits <= 16):
        raise error(f"classical coder: cannot code {channels}x{height}x{width} samples of {bits} bits")
    if channels * height * width >= 1 << 31:
        raise error(f"classical coder: {channels}x{height}x{width} samples are too many")


def _checksum(x: np.ndarray, bits: int) -> int:
    """CRC-32 of the samples in C order, as little-endian bytes of their output dtype."""
    return zlib.crc32(np.ascontiguousarray(x, "<u1" if bits <= 8 else "<u2").tobytes())


def _code_checksum(coder, buf, checksum: int, decoding: bool):
    high, coder = rc.code_raw(coder, buf, checksum >> 16, 16, decoding)
    low, coder = rc.code_raw(coder, buf, checksum & 0xFFFF, 16, decoding)
    return (high << 16) | low, coder


def _pixel_palette(x: np.ndarray):
    """(colours (n, C) in increasing order, indices (1, H, W)) when ``x`` has at most PALETTE_MAX
    distinct pixels, else None."""
    channels = x.shape[0]
    if len(np.unique(x.reshape(channels, -1)[:, :4096], axis=1)) > PALETTE_MAX:
        return None
    keys = np.zeros(x.shape[1:], np.uint64)
    for c in range(channels):
        keys = (keys << np.uint64(16)) | x[c].astype(np.uint64)
    colours, inverse = np.unique(keys, return_inverse=True)
    if len(colours) > PALETTE_MAX:
        return None
    values = np.stack([(colours >> np.uint64(16 * (channels - 1 - c))) & np.uint64(0xFFFF)
                       for c in range(channels)], axis=1).astype(np.int64)
    return values, inverse.reshape((1,) + x.shape[1:]).astype(np.int32)


def _code_pixel_palette(coder, buf, values, idx, bits: int, channels: int, decoding: bool):
    values, coder = _code_palette_values(coder, buf, values, bits, decoding, channels)
    return values, _code_indices(coder, buf, idx, 0, -1, 0, len(values), decoding)


def _encode_planes(x: np.ndarray, bits: int, digits: np.ndarray, palette):
    """Code ``x`` into ``digits``, as indices into ``palette`` unless it is None; returns the
    coder (its position may pass the buffer's end)."""
    channels = x.shape[0]
    coder = rc.new_encoder()
    if channels >= 2:
        _, coder = rc.code_raw(coder, digits, palette is not None, 1, False)
    if palette is not None:
        _, coder = _code_pixel_palette(coder, digits, *palette, bits, channels, False)
    else:
        transform = _choose_transform(x, bits)
        if channels >= 3:
            _, coder = rc.code_raw(coder, digits, transform, 1, False)
        img = _subtract_green(x, bits) if transform == SUBTRACT_GREEN else np.array(x, np.int32, order="C")
        planes = _Planes(img, bits, transform)
        for c in range(channels):
            palette = _palette(img[c], planes.bits[c])
            coder = planes.code(coder, digits, c, _choose_mode(planes, c, palette), palette, False)
    _, coder = _code_checksum(coder, digits, _checksum(x, bits), False)
    return coder


def _choose_mode(planes: _Planes, c: int, palette: np.ndarray | None) -> int:
    """PALETTE or PREDICTIVE for plane ``c``: a plane that may be a palette is coded both ways."""
    if palette is None:
        return PREDICTIVE
    sizes = {}
    for trial in (PALETTE, PREDICTIVE) if len(palette) > 1 else (PALETTE,):
        coder = planes.code(rc.new_encoder(), np.zeros(1024, np.uint16), c, trial, palette, False)
        sizes[trial] = coder[2]
    return min(sizes, key=sizes.get)


def encode_planes(x: np.ndarray, bits: int) -> bytes:
    """Code ``x`` (C, H, W) of integers in ``[0, 2**bits)`` into a self-checking stream."""
    channels, height, width = x.shape
    _check_shape(channels, height, width, bits)
    if x.size and int(x.max()) >> bits:
        raise ValueError(f"classical coder: a sample does not fit in {bits} bits")
    streams = [_encode(x, bits, None)]
    palette = _pixel_palette(x) if channels >= 2 else None
    if palette is not None:  # indices into the image's few colours, when that is smaller
        streams.append(_encode(x, bits, palette))
    return min(streams, key=len)


def _encode(x: np.ndarray, bits: int, palette) -> bytes:
    capacity = x.size * (bits + 2) // 8 + 1024
    while True:
        digits = np.zeros(capacity, np.uint16)
        stream = rc.stream_bytes(_encode_planes(x, bits, digits, palette), digits)
        if isinstance(stream, bytes):
            return stream
        capacity = stream


def decode_planes(data: bytes, channels: int, height: int, width: int, bits: int) -> np.ndarray:
    """The (C, H, W) samples of a stream from ``encode_planes``: uint8 up to 8 bits, else uint16."""
    _check_shape(channels, height, width, bits, FormatError)
    buf = np.frombuffer(data, np.uint8).copy()  # writable: one kernel compiles for both ways
    coder = rc.new_decoder(buf)
    pixel_palette = 0
    if channels >= 2:
        pixel_palette, coder = rc.code_raw(coder, buf, 0, 1, True)
    if pixel_palette:
        idx = np.zeros((1, height, width), np.int32)
        values, coder = _code_pixel_palette(coder, buf, None, idx, bits, channels, True)
        img = np.ascontiguousarray(values[idx[0]].transpose(2, 0, 1))
    else:
        transform = 0
        if channels >= 3:
            transform, coder = rc.code_raw(coder, buf, 0, 1, True)
        planes = _Planes(np.zeros((channels, height, width), np.int32), bits, transform)
        for c in range(channels):
            coder = planes.code(coder, buf, c, 0, None, True)
        img = _add_green(planes.img, bits) if transform == SUBTRACT_GREEN else planes.img
    checksum, coder = _code_checksum(coder, buf, 0, True)
    if not rc.ends_cleanly(coder, buf) or _checksum(img, bits) != checksum:
        raise FormatError("corrupt classical stream: its samples do not match its checksum")
    return img.astype(np.uint8 if bits <= 8 else np.uint16)
