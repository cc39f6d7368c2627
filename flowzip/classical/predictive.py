"""The classical coder's predictive plane coder (a numba kernel): adaptive context modelling of
the residuals of a self-correcting weighted predictor, in the spirit of JPEG XL's weighted
predictor, CALIC and JPEG-LS. Integer arithmetic only.

Prediction (in 1/8ths of a level, ``FRACTION`` bits):

- five sub-predictors: ``W + NE - N``; ``N`` and ``W`` less a share of their neighbours' errors;
  ``N`` less a share of the three errors above; ``N + W - NW``; each weighted by the inverse of its
  own error at W, WW, NW, N and NE (JPEG XL's weighted predictor, with other constants);
- colour differences (``ref`` >= 0) also have the colour line: where plane 0 lies between its
  W and N, this plane lies as far between its own (exact on the anti-aliased edges of flat-colour
  graphics; ``N + W - NW`` where plane 0 has W = N). Whichever of the blend and the line has the
  smaller running error predicts;
- the prediction is kept within ``[min(W, N, NE), max(W, N, NE)]``;
- colour differences then subtract the previous plane's error at the same pixel times a slope,
  a running least-squares fit per activity level;
- bias cancellation: the mean error so far in the context of which of six neighbours lie above
  the prediction and of the activity is subtracted (each error clamped, so that the edge of a
  glyph cannot drag the mean).

Coding: the residual, reduced modulo ``2**bits``, as its magnitude class ``k = bit_length(|e|)``
in unary from the context's usual class (up or down), its sign, the bit below its leading one,
and raw low bits. The context is the local error energy (two classes per octave; the previous
plane's error at the pixel counts too) times a gradient class; the sign's context is the
prediction's rounding fraction and the sign of W's error. Bit models start at probabilities
typical of photos (``_starting_models``), so that small planes (tiles) learn less.

A guide (``code_sample``'s ``guide_*`` and ``hint_*``, given by ``priors.guided``): a sixth
sub-predictor, no clamp of the prediction, half of the error energy, and a distribution of the
sample (a mixture of logistics) whose probability of each binary decision is mixed with the
decision's bit model (``residuals.code_residual_hinted``, ``entropy.mixing``); the raw low bits
are then coded under it too. Without one (``guide_weight`` 0, an empty hint) the coder is the classical
one, bit for bit.
"""

from __future__ import annotations

import functools

import numpy as np

from ..exact import floor_div
from ..jit import inline_kernel, kernel
from .residuals import VIEW_SETS, bit_length, code_residual, code_residual_hinted, log_class, mixer_rows

FRACTION = 3  # predictions carry 3 fractional bits

# Weighted predictor: error-correction strengths (/32) of sub-predictors 1-3, base weights.
CORRECT_N, CORRECT_W, CORRECT_NNE = 4, 5, 4
BASE_WEIGHTS = (13, 12, 12, 12, 12)
N_PREDICTORS = 5
# The running errors that choose between the blend and the colour line decay by 2**-SWITCH_SHIFT
# per sample.
SWITCH_SHIFT = 10
# Bias cancellation: 6 texture bits x 4 activity levels, running means halved every BIAS_LIMIT
# samples; each error counts at most 2 + energy / 8 levels.
BIAS_CONTEXTS, BIAS_LIMIT = 64 * 4, 256
# Inter-plane slope: one running regression per activity level, halved when its energy passes
# SLOPE_LIMIT (scaled to the plane's depth); slopes are /256 and at most SLOPE_MAX.
SLOPE_CONTEXTS, SLOPE_LIMIT, SLOPE_MAX, SLOPE_PRIOR = 16, 1 << 20, 512, 64
# Coding contexts: error-energy classes (two per octave) x gradient classes.
GRADIENT_CLASSES = 6
assert VIEW_SETS[1] == GRADIENT_CLASSES  # the hinted coder's mixers have a set per gradient class
SIGN_CONTEXTS = 16
# Starting probabilities (/65536) of the residual's bits, roughly where they end up on photos,
# worth PRIOR_COUNT bits seen: whether the class goes one higher, by distance from the context's
# usual class; whether it is this one, going down; the first decision; the bit below the leading
# one. Signs start by the prediction's fraction.
PRIOR_UP = (24000, 14000, 5000, 4000)
PRIOR_DOWN = (33000, 36000, 39000, 40000)
PRIOR_FIRST, PRIOR_MANTISSA = 29000, 19000
PRIOR_COUNT = 8


@kernel
def energy_classes(bits):
    return 2 * bits + 8


@kernel
def slope_limit(bits):
    """Energy at which a slope's running regression is halved, scaled to the plane's depth."""
    return SLOPE_LIMIT << max(2 * (bits - 8), 0)


@kernel
def residual_block(bits):
    """Bit models per coding context: first class decision, classes up, classes down, bit below
    the leading one per class, signs."""
    return 3 * (bits + 1) + 1 + SIGN_CONTEXTS


@functools.cache
def _starting_models(bits: int) -> np.ndarray:
    """The bit models of a plane of ``bits``-bit samples before it starts (do not modify)."""
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


def code_plane(coder, buf, img: np.ndarray, te: np.ndarray, c: int, ref: int, bits: int, rows: np.ndarray,
               decoding: bool):
    """Code plane ``c`` of ``img`` (C, H, W int32; decoding: fill it in) of ``bits``-bit samples;
    returns the coder. ``te[c]`` receives each sample's prediction error (in 1/8ths); ``ref`` >= 0
    names the earlier plane whose errors ``te[ref]`` feed this plane's prediction and contexts;
    ``rows`` is a scratch (N_PREDICTORS, 2, W) int32 array."""
    rows[:] = 0
    bias = np.zeros((BIAS_CONTEXTS, 2), np.int64)
    slope = np.zeros((SLOPE_CONTEXTS, 2), np.int64)
    return _code_plane(coder, buf, img, te, c, ref, bits, _starting_models(bits).copy(), rows, bias, slope,
                       np.zeros(2, np.int64), np.zeros(0, np.int64), np.zeros((0, 2), np.int64), decoding)


@kernel
def _code_plane(coder, buf, img, te, c, ref, bits, models, rows, bias, slope, switch, no_hint, no_mixer, decoding):
    """``code_plane``'s loop; ``models``, ``rows`` (N_PREDICTORS, 2, W), ``bias``
    (BIAS_CONTEXTS, 2), ``slope`` (SLOPE_CONTEXTS, 2) and ``switch`` (2) are its adaptive state
    (``no_hint``, ``no_mixer``: empty int64 arrays, no guide)."""
    none = np.int64(0)  # not a literal 0: the hinted coder (never called here) keeps the one signature it has
    for y in range(img.shape[1]):
        cur = y & 1
        for x in range(img.shape[2]):
            coder = code_sample(coder, buf, img, te, c, ref, bits, models, 0, rows, cur, cur ^ 1, bias, slope, switch,
                                y, x, 0, 0, 0, 0, no_hint, no_hint, no_hint, no_mixer, none, 1,
                                (no_hint, none, no_hint, no_hint), decoding)
    return coder


@inline_kernel
def code_sample(coder, buf, img, te, c, ref, bits, models, models_at, rows, cur, prv, bias, slope, switch, y, x,
                guide8, guide_weight, guide_energy, hint_offset, hint_w, hint_means, hint_inv, mixer, mix_at, views,
                curves, decoding):
    """Predict and code (decoding: read) sample ``img[c, y, x]``, every neighbour it looks at
    (N, W, NW, NE, NN, WW, and plane 0 and ``ref`` at the same pixel) coded before it; returns the
    coder. Its adaptive state: ``models`` (bit models from ``models_at`` on), ``rows`` (N_PREDICTORS
    or more, rows, W: each sub-predictor's error, row ``cur`` this one's, ``prv`` the one above),
    ``bias``, ``slope`` and ``switch`` (the blend's and the colour line's running errors).

    ``guide_weight`` > 0 adds a sixth sub-predictor, ``guide8`` (1/8ths; its errors in
    ``rows[5]``), of that base weight, lets the prediction leave the neighbours' range, and
    averages the context's error energy with ``guide_energy`` (the guide's expected error energy
    in the same units): the local prior's guidance (``priors.guided``). Its hint (``hint_*``, a
    mixture) is mixed into the residual's decisions by ``mixer``, the plane's mixers beginning at
    ``mix_at`` within a set, ``views`` views picking sets (``residuals.mixer_rows``)."""
    height, width = img.shape[1], img.shape[2]
    maxv = (1 << bits) - 1
    half = 1 << (bits - 1)
    top8 = maxv << FRACTION
    guided = guide_weight > 0
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
    # Weights: inverse of each sub-predictor's error at W, WW, NW, N, NE.
    e0 = e1 = e2 = e3 = e4 = e5 = 1
    if y > 0:
        e0 += rows[0, prv, x] + rows[0, prv, xne] + rows[0, prv, xw]
        e1 += rows[1, prv, x] + rows[1, prv, xne] + rows[1, prv, xw]
        e2 += rows[2, prv, x] + rows[2, prv, xne] + rows[2, prv, xw]
        e3 += rows[3, prv, x] + rows[3, prv, xne] + rows[3, prv, xw]
        e4 += rows[4, prv, x] + rows[4, prv, xne] + rows[4, prv, xw]
        if guided:
            e5 += rows[5, prv, x] + rows[5, prv, xne] + rows[5, prv, xw]
    if x > 0:
        e0 += rows[0, cur, xw] + rows[0, cur, xww]
        e1 += rows[1, cur, xw] + rows[1, cur, xww]
        e2 += rows[2, cur, xw] + rows[2, cur, xww]
        e3 += rows[3, cur, xw] + rows[3, cur, xww]
        e4 += rows[4, cur, xw] + rows[4, cur, xww]
        if guided:
            e5 += rows[5, cur, xw] + rows[5, cur, xww]
    w0, w1, w2, w3, w4 = BASE_WEIGHTS
    u0 = floor_div(w0 << 24, e0)  # every numerator here is below 2**53 (``exact``): < 2**30 for the weights
    u1 = floor_div(w1 << 24, e1)
    u2 = floor_div(w2 << 24, e2)
    u3 = floor_div(w3 << 24, e3)
    u4 = floor_div(w4 << 24, e4)
    u5 = floor_div(np.int64(guide_weight) << 24, e5) if guided else 0
    total = u0 + u1 + u2 + u3 + u4 + u5
    # |u| < 2**28 (2**30 for the guide's), |p| < 2**21: the sum stays below 2**52
    blend8 = floor_div(u0 * p0 + u1 * p1 + u2 * p2 + u3 * p3 + u4 * p4 + u5 * guide8 + (total >> 1), total)
    # Colour line: where plane 0 lies between W and N, this plane lies as far along (where
    # plane 0 has W = N, the plane's N + W - NW).
    line8 = blend8
    if ref >= 0 and y > 0 and x > 0:
        line8 = p4
        line = img[0, y - 1, x] - img[0, y, x - 1]
        if line != 0:
            line8 = w8 + floor_div((img[0, y, x] - img[0, y, x - 1]) * (n8 - w8), line)  # < 2**37
    pred8 = line8 if switch[1] < switch[0] else blend8
    if not guided:
        pred8 = min(max(pred8, min(vw, vn, vne) << FRACTION), max(vw, vn, vne) << FRACTION)
    energy = (abs(ten) + abs(tew) + abs(tenw) + abs(tene) + abs(teww) + 4) >> FRACTION
    if guided:
        energy = (energy + guide_energy) >> 1
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
        pred8 -= floor_div(bias[bias_ctx, 0] + (count >> 1), count)  # count < 2**8 sums of errors < 2**21
    pred8 = min(max(pred8, 0), top8)
    pred = (pred8 + (1 << (FRACTION - 1))) >> FRACTION
    gradient = (abs(vn - vnw) + abs(vw - vnw) + abs(vne - vn)) >> max(bits - 8, 0)
    energy_class = min(log_class(energy), energy_classes(bits) - 1)
    gradient_class = min(log_class(gradient), GRADIENT_CLASSES - 1)
    ctx = energy_class * GRADIENT_CLASSES + gradient_class
    start = min(max((energy_class >> 1) - 1, 0), bits)
    sign_ctx = (pred8 - (pred << FRACTION) + 4) * 2 + (1 if tew > 0 else 0)
    e = 0
    if not decoding:
        e = img[c, y, x] - pred
        if e >= half:
            e -= 1 << bits
        elif e < -half:
            e += 1 << bits
    if hint_w.shape[0] > 0:
        e, coder = code_residual_hinted(coder, buf, models, models_at + ctx * residual_block(bits), start, e, bits,
                                        sign_ctx, decoding, pred + hint_offset, hint_w, hint_means, hint_inv, mixer,
                                        mixer_rows(mixer, mix_at, views, energy_class, gradient_class,
                                                   guide8 - pred8, tref, texture), curves)
    else:
        e, coder = code_residual(coder, buf, models, models_at + ctx * residual_block(bits), start, e, bits, sign_ctx,
                                 decoding)
    v = (pred + e) & maxv
    img[c, y, x] = v
    v8 = v << FRACTION
    te[c, y, x] = pred8 - v8
    rows[0, cur, x] = abs(p0 - v8)
    rows[1, cur, x] = abs(p1 - v8)
    rows[2, cur, x] = abs(p2 - v8)
    rows[3, cur, x] = abs(p3 - v8)
    rows[4, cur, x] = abs(p4 - v8)
    if guided:
        rows[5, cur, x] = abs(guide8 - v8)
    switch[0] += abs(blend8 - v8) - (switch[0] >> SWITCH_SHIFT)
    switch[1] += abs(line8 - v8) - (switch[1] >> SWITCH_SHIFT)
    limit = (2 << FRACTION) + energy
    bias[bias_ctx, 0] += min(max(unbiased8 - v8, -limit), limit)
    bias[bias_ctx, 1] = count + 1
    if count + 1 >= BIAS_LIMIT:
        bias[bias_ctx, 0] = bias[bias_ctx, 0] // 2
        bias[bias_ctx, 1] = (count + 1) >> 1
    if ref >= 0:
        slope[slope_ctx, 0] += (spatial8 - v8) * tref
        slope[slope_ctx, 1] += tref * tref
        if slope[slope_ctx, 1] > slope_limit(bits):
            slope[slope_ctx, 0] >>= 1
            slope[slope_ctx, 1] >>= 1
    return coder
