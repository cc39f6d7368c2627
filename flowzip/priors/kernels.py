"""Compiled loops of the local prior's coder: gathering each pixel's causal window, and coding its
channels under the network's mixture of discretized logistics on flowzip's rANS stack.

Everything that decides a probability is integer arithmetic. Channel c of a pixel, in component k:
mean ``mu = ref * 4096 + MEAN_UNIT * o_mean + sum_j (coef_j * (x_j * 4096 - mu_j)) >> 12`` (units of
2**-12 pixel values), scale index ``j`` from the clamped log-scale output on the tables' grid;
the component's CDF at the boundary below value b comes from the shared integer logistic table
(``rans._cdf``, 2**31 scale), with the tails going to 0 and 255. Mixture weights come from the
logits through ``exp_table`` (1/64 steps) and are renormalized to sum to exactly 2**16 before
each channel; after a channel is coded they become the posterior (times each component's mass
of the coded value, then shifted back to at most 17 bits). The mixture's cumulative frequency of
value b out of 2**24 is ``(F(b) * (2**24 - 256) >> 31) + b``: every value has a frequency of at
least 1, and the total is exactly 2**24.

A decoder searches the value whose range holds the state's slot from a guess (the heaviest
component's quantile, in float: only a starting point), galloping to a bracket and bisecting.
"""

from __future__ import annotations

import math

import numpy as np

from ..entropy.rans import PREC
from ..entropy.rans import logistic_cdf as _cdf
from ..entropy.rans import pop_symbol as _pop
from ..entropy.rans import push_symbol as _push
from ..entropy.rans import slot as _slot
from ..exact import floor_div
from ..jit import inline_kernel, kernel

WEIGHT_BITS = 16  # mixture weights sum to 2**16 before each channel
EXP_STEP_BITS = 6  # logit differences are looked up on a 1/64 grid
EXP_LIMIT = 16 << EXP_STEP_BITS  # components more than 16 nats below the best get weight 0
GRID = 4096  # 2**FRAC_BITS
HALF = 2048
TOP = np.int64(1) << np.int64(PREC)


@kernel
def gather_values(imgs, bs, ys, xs, offsets, out, outside):
    """The window pixels of pixels (bs[i], ys[i], xs[i]) of ``imgs`` (B, C, H, W) into ``out``
    (n, C P), on the 2**-12 grid: (2x - 255) * 32 per channel, zeros outside the picture, where
    ``outside`` (n, P) gets 1 (else 0)."""
    channels, width = imgs.shape[1], imgs.shape[3]
    for i in range(ys.shape[0]):
        b, y, x = bs[i], ys[i], xs[i]
        for p in range(offsets.shape[0]):
            yy = y + offsets[p, 0]
            xx = x + offsets[p, 1]
            base = channels * p
            if yy < 0 or xx < 0 or xx >= width:
                outside[i, p] = 1.0
                for ch in range(channels):
                    out[i, base + ch] = 0.0
            else:
                outside[i, p] = 0.0
                for ch in range(channels):
                    out[i, base + ch] = (2.0 * imgs[b, ch, yy, xx] - 255.0) * 32.0


@inline_kernel
def _reference(img, ch, y, x):
    if y == 0 and x == 0:
        return np.int64(128)
    if y == 0:
        return np.int64(img[ch, y, x - 1])
    if x == 0:
        return np.int64(img[ch, y - 1, x])
    return (np.int64(img[ch, y, x - 1]) + np.int64(img[ch, y - 1, x]) + 1) >> 1


@inline_kernel
def _weights(o, mix, exp, w):
    """Mixture weights from the logits ``o[:mix]`` (grid units) by the exp table."""
    best = o[0]
    for k in range(1, mix):
        if o[k] > best:
            best = o[k]
    total = np.int64(0)
    for k in range(mix):
        d = np.int64(best - o[k]) >> EXP_STEP_BITS
        w[k] = exp[d] if d < exp.shape[0] else 0
        total += w[k]
    return total


@inline_kernel
def _normalize(mix, w, total):
    """Scale the weights, of sum ``total``, to sum to exactly 2**16 (the largest takes the
    remainder)."""
    if total == np.int64(1) << WEIGHT_BITS:  # already so: every weight would stay as it is
        return
    if total <= 0:
        for k in range(mix):
            w[k] = 1
        total = mix
    s = np.int64(0)
    big = 0
    for k in range(mix):
        w[k] = floor_div(w[k] << WEIGHT_BITS, total)  # weights < 2**18: exact
        s += w[k]
        if w[k] > w[big]:
            big = k
    w[big] += (np.int64(1) << WEIGHT_BITS) - s


@inline_kernel
def _channel(o, c, mix, channels, ref, vals, means, inv, inv_scales, nscales, ls_lo, ls_hi, coef_lim, coef_base,
             table_min):
    """Means (grid units) and inverse scales of channel c's components, given the values of the
    channels before it (``vals``) and their means (``means[j]``)."""
    for k in range(mix):
        mu = base_mean(o, c, mix, k, ref)
        if c > 0:
            for j in range(c):
                mu += (coupling(o, c, j, mix, k, coef_lim, coef_base) * (vals[j] * GRID - means[j, k])) >> 12
        means[c, k] = mu
        inv[k] = inverse_scale(o, c, mix, k, channels, inv_scales, nscales, ls_lo, ls_hi, table_min)


@inline_kernel
def base_mean(o, c, mix, k, ref):
    """Channel c's mean in component k before its couplings (grid units)."""
    return ref * GRID + np.int64(o[mix * (1 + c) + k]) * 64


@inline_kernel
def coupling(o, c, j, mix, k, coef_lim, coef_base):
    """Component k's coefficient (grid units) of channel c on the earlier channel j."""
    return min(max(np.int64(o[mix * (coef_base + c * (c - 1) // 2 + j) + k]), -coef_lim), coef_lim)


@inline_kernel
def scale_index(o, c, mix, k, channels, nscales, ls_lo, ls_hi, table_min):
    """Where channel c's scale in component k is in the tables, from its clamped log-scale."""
    ls = min(max(np.int64(o[mix * (1 + channels + c) + k]), ls_lo), ls_hi)
    return min(max((ls - table_min) >> 7, 0), nscales - 1)  # 4096 / 32: the tables' 1/32 grid


@inline_kernel
def inverse_scale(o, c, mix, k, channels, inv_scales, nscales, ls_lo, ls_hi, table_min):
    """Channel c's inverse scale in component k, from its clamped log-scale on the tables' grid."""
    return inv_scales[scale_index(o, c, mix, k, channels, nscales, ls_lo, ls_hi, table_min)]


@inline_kernel
def _mix_cum(b, mix, w, means_c, inv, table, shift):
    """Cumulative frequency (out of 2**24) of the values below b (0 .. 256)."""
    if b <= 0:
        return np.int64(0)
    if b >= 256:
        return TOP
    f = np.int64(0)
    for k in range(mix):
        if w[k] != 0:
            f += w[k] * _cdf((np.int64(b) << 12) - HALF - means_c[k], inv[k], table, shift)
    f >>= WEIGHT_BITS
    return ((f * (TOP - 256)) >> np.int64(31)) + b


@inline_kernel
def _component_mass(s, mu, inv, table, shift):
    hi = np.int64(1) << np.int64(31) if s >= 255 else _cdf((np.int64(s + 1) << 12) - HALF - mu, inv, table, shift)
    lo = np.int64(0) if s <= 0 else _cdf((np.int64(s) << 12) - HALF - mu, inv, table, shift)
    return hi - lo


@inline_kernel
def _posterior(mix, w, s, means_c, inv, table, shift):
    """Weights times each component's mass of the coded value s, shifted to at most 17 bits;
    returns their sum (0 if every component gave s no mass)."""
    top = np.int64(0)
    for k in range(mix):
        if w[k] != 0:
            w[k] = w[k] * _component_mass(s, means_c[k], inv[k], table, shift)
        if w[k] > top:
            top = w[k]
    sh = 0  # the least with top >> sh <= 2**17
    if top > np.int64(1) << 17:
        sh = math.frexp(float(top))[1] - 18  # top < 2**53: its bit length, exactly
        if (top >> sh) > np.int64(1) << 17:
            sh += 1
    total = np.int64(0)
    for k in range(mix):
        w[k] >>= sh
        total += w[k]
    return total


@inline_kernel
def _search(slot, mix, w, means_c, inv, scale, table, shift):
    """The value s with cum(s) <= slot < cum(s + 1)."""
    big = 0
    for k in range(mix):
        if w[k] > w[big]:
            big = k
    p = min(max(slot / 16777216.0, 1e-9), 1.0 - 1e-9)
    g = means_c[big] / 4096.0 + scale[big] * math.log(p / (1.0 - p)) + 0.5
    lo = min(int(g), 255) if g > 0.0 else 0
    if _mix_cum(lo, mix, w, means_c, inv, table, shift) <= slot:
        hi, step = lo + 1, 1
        while hi < 256 and _mix_cum(hi, mix, w, means_c, inv, table, shift) <= slot:
            lo = hi
            hi = min(256, hi + step)
            step *= 2
    else:
        hi, step = lo, 1
        lo = max(0, hi - 1)
        while lo > 0 and _mix_cum(lo, mix, w, means_c, inv, table, shift) > slot:
            hi = lo
            lo = max(0, lo - step)
            step *= 2
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if _mix_cum(mid, mix, w, means_c, inv, table, shift) <= slot:
            lo = mid
        else:
            hi = mid
    return lo


@kernel
def encode_pixels(state, words, n_words, imgs, bs, ys, xs, o, mix, exp, inv_scales, table, shift, limits, w, means,
                  inv, vals, cs, fs):
    """Push the pixels (bs[i], ys[i], xs[i]) of ``imgs`` with network outputs ``o[i]``, the last
    first (so that pops return them in order); returns their information content in bits."""
    channels = imgs.shape[1]
    ls_lo, ls_hi, coef_lim, table_min = limits[0], limits[1], limits[2], limits[3]
    coef_base = 1 + 2 * channels
    nscales = inv_scales.shape[0]
    bits = 0.0
    for i in range(ys.shape[0] - 1, -1, -1):
        b, y, x = bs[i], ys[i], xs[i]
        img = imgs[b]
        total = _weights(o[i], mix, exp, w)
        for c in range(channels):
            vals[c] = np.int64(img[c, y, x])
            _channel(o[i], c, mix, channels, _reference(img, c, y, x), vals, means, inv, inv_scales, nscales, ls_lo,
                     ls_hi, coef_lim, coef_base, table_min)
            _normalize(mix, w, total)
            cs[c] = _mix_cum(vals[c], mix, w, means[c], inv, table, shift)
            fs[c] = _mix_cum(vals[c] + 1, mix, w, means[c], inv, table, shift) - cs[c]
            bits += PREC - math.log2(fs[c])
            if c < channels - 1:
                total = _posterior(mix, w, vals[c], means[c], inv, table, shift)
        for c in range(channels - 1, -1, -1):
            _push(state, words, n_words, cs[c], fs[c])
    return bits


@kernel
def decode_pixels(state, words, n_words, imgs, bs, ys, xs, o, mix, exp, inv_scales, table, shift, limits, w, means,
                  inv, vals, scale):
    """Pop the pixels (bs[i], ys[i], xs[i]) into ``imgs``, their network outputs ``o[i]``
    computed from the pixels decoded before them."""
    channels = imgs.shape[1]
    ls_lo, ls_hi, coef_lim, table_min = limits[0], limits[1], limits[2], limits[3]
    coef_base = 1 + 2 * channels
    nscales = inv_scales.shape[0]
    for i in range(ys.shape[0]):
        b, y, x = bs[i], ys[i], xs[i]
        img = imgs[b]
        total = _weights(o[i], mix, exp, w)
        for c in range(channels):
            _channel(o[i], c, mix, channels, _reference(img, c, y, x), vals, means, inv, inv_scales, nscales, ls_lo,
                     ls_hi, coef_lim, coef_base, table_min)
            _normalize(mix, w, total)
            for k in range(mix):
                scale[k] = 1048576.0 / inv[k]
            slot = _slot(state)
            s = _search(slot, mix, w, means[c], inv, scale, table, shift)
            lo = _mix_cum(s, mix, w, means[c], inv, table, shift)
            _pop(state, words, n_words, lo, _mix_cum(s + 1, mix, w, means[c], inv, table, shift) - lo)
            vals[c] = s
            img[c, y, x] = s
            if c < channels - 1:
                total = _posterior(mix, w, s, means[c], inv, table, shift)
