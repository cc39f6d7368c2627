"""How the classical coder codes a residual: binary decisions under adaptive bit models
(``code_residual``), or with a hint (``code_residual_hinted``: a distribution of the sample, from
``priors.guided``, mixed into every decision by ``entropy.mixing``). Integer arithmetic only.

The decisions: the magnitude class ``k = bit_length(|e|)`` in unary from the context's usual class
(up or down), the sign, the bit below the leading one, and the low bits (raw; with a hint, each
under the hint mixed with an even chance). A context's bit models are laid out as
``_residual_models`` says (``predictive.residual_block`` long).
"""

from __future__ import annotations

import numpy as np

from ..entropy import rangecoder as rc
from ..entropy.mixing import ROWS, first_kind, mix_bit, new_mixer, new_mixer5
from ..entropy.rans import logistic_cdf
from ..exact import floor_div
from ..jit import inline_kernel, kernel

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
def _residual_models(block, bits):
    """Where a coding context's bit models of classes up, classes down, bits below the leading one
    and signs begin (``residual_block``'s layout)."""
    up = block + 1
    down = up + bits + 1
    mantissa = down + bits + 1
    return up, down, mantissa, mantissa + bits + 1


@inline_kernel
def code_residual(coder, buf, models, block, start, e, bits, sign_ctx, decoding):
    """Code a residual with ``|e| <= 2**(bits-1)`` in the context whose models begin at
    ``block``; returns ``(e, coder)``.

    The magnitude class ``k = bit_length(|e|)`` is coded in unary from the context's usual class
    ``start``: first whether ``k >= start``, then upwards (``k > j``?) or downwards (``k == j``?).
    Then the sign, the bit below the leading one, and the remaining bits raw.
    """
    magnitude = e if e >= 0 else -e
    k = bit_length(magnitude)
    up, down, mantissa, signs = _residual_models(block, bits)
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


TOTAL = np.int64(1) << np.int64(31)  # a hint's whole mass
HINT_FLOOR = 64  # a hint's components of at most this weight (of 2**16) are left out of its masses
MIXER_KINDS = 6  # first class decision, classes up, classes down, sign, bit below the leading one, lower bits
MIXERS = 10 * MIXER_KINDS  # mixer contexts per plane (up to 10 per kind)
# Mixers of the second kind come in sets, a set per value of a context; each view of a sample's
# context picks one set, and the bit is coded by the picked sets' mixers together (``mixer_rows``):
# the error energy class (0-3, 4-7, 8-11, 12-), the gradient class, the guide's lead over the
# prediction and the earlier plane's error at the pixel (each small, middling or large, by sign),
# and the texture (which of six neighbours lie above the prediction) with whether the guide does.
VIEW_SETS = (4, 6, 6, 6, 128)
VIEW_FIRST = tuple(sum(VIEW_SETS[:i]) for i in range(len(VIEW_SETS)))  # each view's first set
ALL_SETS = sum(VIEW_SETS)
LEAD_STEPS, EARLIER_STEPS = (4, 16), (8, 32)  # where a lead (1/8ths) and an earlier error (1/8ths) grow
assert len(VIEW_SETS) == ROWS


def new_hint_mixers(kind: int, planes: int, views: int = 1) -> np.ndarray:
    """The mixers of ``planes`` planes' hinted residuals (``MIXERS`` each), of the first kind
    (``mixing.new_mixer``) or the second (``mixing.new_mixer5``, the sets of the first view or of
    all, ``views`` 1 or ``len(VIEW_SETS)``, one after another, as ``mixer_rows`` finds them)."""
    if kind == 1:
        return new_mixer(planes * MIXERS)
    if kind == 2 and views in (1, len(VIEW_SETS)):
        return new_mixer5(sum(VIEW_SETS[:views]) * planes * MIXERS)
    raise ValueError(f"no mixer of kind {kind} with {views} views")


@inline_kernel
def log_class(v):
    """Two classes per octave: 0, 1, 2, 3, 4-5, 6-7, 8-11, 12-15, ..."""
    if v < 4:
        return v
    n = bit_length(v)
    return 2 * n - 2 + ((v >> (n - 2)) & 1)


@inline_kernel
def _signed_class(v, steps):
    """0-5: ``|v|`` below ``steps[0]``, below ``steps[1]`` or not, times two, plus whether ``v`` > 0."""
    size = 0 if abs(v) < steps[0] else (1 if abs(v) < steps[1] else 2)
    return 2 * size + (1 if v > 0 else 0)


@inline_kernel
def mixer_rows(mixer, mix_at, views, energy_class, gradient_class, lead, earlier, texture):
    """The row bases (``mixing.mix_bit``'s ``rows``) of a sample whose plane's mixers begin at
    ``mix_at`` within a set: for the first kind of mixer the plane's; for the second, with
    ``views`` 1 the energy class's set, else the set each view's context picks (``VIEW_SETS``:
    the energy class; the gradient class; the guide's ``lead`` over the prediction and the
    ``earlier`` plane's error at the pixel, in 1/8ths; the ``texture``'s six bits and whether the
    lead is positive), -1 for the others."""
    none = np.int64(-1)
    if first_kind(mixer):
        return (mix_at, none, none, none, none)
    per = mixer.shape[0] // (VIEW_SETS[0] if views == 1 else ALL_SETS)  # rows per set
    energy = min(energy_class >> 2, VIEW_SETS[0] - 1) * per + mix_at
    if views == 1:
        return (energy, none, none, none, none)
    return (energy, (VIEW_FIRST[1] + gradient_class) * per + mix_at,
            (VIEW_FIRST[2] + _signed_class(lead, LEAD_STEPS)) * per + mix_at,
            (VIEW_FIRST[3] + _signed_class(earlier, EARLIER_STEPS)) * per + mix_at,
            (VIEW_FIRST[4] + 2 * texture + (1 if lead > 0 else 0)) * per + mix_at)


@inline_kernel
def _below(b, hint_w, hint_means, hint_inv, cdf, shift):
    """The hint's mass (2**31 scale) of values below ``b``, a mixture of logistics over 0..255
    (weights summing to 2**16, means in 2**-12 levels, inverse scales in 2**-20); components
    of weight at most ``HINT_FLOOR`` are left out (a fraction of the time, for almost nothing)."""
    if b <= 0:
        return np.int64(0)
    if b >= 256:
        return TOTAL
    f = np.int64(0)
    for k in range(hint_w.shape[0]):
        if hint_w[k] > HINT_FLOOR:
            f += hint_w[k] * logistic_cdf((np.int64(b) << 12) - 2048 - hint_means[k], hint_inv[k], cdf, shift)
    return f >> 16


@inline_kernel
def _ends(x0, t, hint_w, hint_means, hint_inv, cdf, shift):
    """The hint's masses below ``x0 - t`` and below ``x0 + t + 1``: the values within ``t`` of
    ``x0`` have their difference."""
    return (_below(x0 - t, hint_w, hint_means, hint_inv, cdf, shift),
            _below(x0 + t + 1, hint_w, hint_means, hint_inv, cdf, shift))


@inline_kernel
def _ratio(part, whole):
    """``part / whole`` as a 12-bit probability (an even chance where ``whole`` has no mass)."""
    if whole <= 0:
        return np.int64(2048)
    return min(max(floor_div(part << 12, whole), 1), 4095)  # part < 2**31


@kernel
def code_residual_hinted(coder, buf, models, block, start, e, bits, sign_ctx, decoding, x0, hint_w, hint_means,
                         hint_inv, mixer, rows, curves):
    """``code_residual`` with a hint: a distribution of the sample's value (residual 0 at value
    ``x0``) whose probability of each binary decision is mixed with the decision's bit model
    (``entropy.mixing``), and which also codes the bits below the one after the leading one.
    ``curves``: the logistic CDF table and its interpolation shift, the mixer's squash knots and
    stretch table. Each decision's probability is the hint's mass of the residuals that answer
    yes over that of those still possible.

    Masses are differences of the hint's CDF (``_below``) at the ends of the residuals' ranges;
    each end is computed once: ``inner`` and ``outer`` hold the CDF at both ends of
    ``|e| <= lo - 1`` and ``|e| <= hi`` for the class being decided."""
    cdf, shift, knots, stretch = curves
    magnitude = e if e >= 0 else -e
    k = bit_length(magnitude)
    up, down, mantissa, signs = _residual_models(block, bits)
    # within: the hint's mass of |e| < 2**(start - 1), the residuals of classes below ``start``
    within_l = within_r = np.int64(0)
    at_least = 1
    if start > 0:
        within_l, within_r = _ends(x0, (1 << (start - 1)) - 1, hint_w, hint_means, hint_inv, cdf, shift)
        bit = 1 if k >= start else 0
        p = _ratio(TOTAL - (within_r - within_l), TOTAL)
        at_least, coder = mix_bit(coder, buf, models, block, p, mixer, rows, 0, bit, decoding, knots, stretch)
    inner_l, inner_r = outer_l, outer_r = within_l, within_r
    have_outer = False
    if at_least:
        j = start
        here = TOTAL - (within_r - within_l)  # the mass of classes >= j
        while j < bits:
            outer_l, outer_r = _ends(x0, (1 << j) - 1, hint_w, hint_means, hint_inv, cdf, shift)
            beyond = TOTAL - (outer_r - outer_l)
            bit = 1 if k > j else 0
            p = _ratio(beyond, here)
            more, coder = mix_bit(coder, buf, models, up + j, p, mixer, rows, 10 + min(j, 9), bit, decoding, knots,
                                  stretch)
            if not more:
                have_outer = True
                break
            inner_l, inner_r = outer_l, outer_r
            here = beyond
            j += 1
    else:
        j = start - 1
        have_outer = True
        inside = within_r - within_l  # the mass of classes <= j
        while j > 0:
            inner_l, inner_r = _ends(x0, (1 << (j - 1)) - 1, hint_w, hint_means, hint_inv, cdf, shift)
            lower = inner_r - inner_l
            bit = 1 if k == j else 0
            p = _ratio(inside - lower, inside)
            here, coder = mix_bit(coder, buf, models, down + j, p, mixer, rows, 20 + min(j, 9), bit, decoding, knots,
                                  stretch)
            if here:
                break
            outer_l, outer_r = inner_l, inner_r
            inside = lower
            j -= 1
    k = j
    if k == 0:
        return 0, coder
    lo = np.int64(1) << (k - 1)
    hi = (np.int64(1) << k) - 1
    if not have_outer:  # the largest class, never decided
        outer_l, outer_r = _ends(x0, hi, hint_w, hint_means, hint_inv, cdf, shift)
    below = inner_l - outer_l  # x0 - hi .. x0 - lo
    above = outer_r - inner_r  # x0 + lo .. x0 + hi
    bit = 1 if e < 0 else 0
    p = _ratio(below, below + above)
    negative, coder = mix_bit(coder, buf, models, signs + sign_ctx, p, mixer, rows, 30, bit, decoding, knots,
                              stretch)
    whole = below if negative else above  # the mass of the magnitudes lo .. hi on this side
    edge = outer_l if negative else outer_r  # the CDF at the far end of lo .. hi
    for b in range(k - 2, -1, -1):  # the magnitude's bits below the leading one, from the top
        mid = lo + (np.int64(1) << b)
        if negative:  # mid .. hi is x0 - hi .. x0 - mid
            cut = _below(x0 - mid + 1, hint_w, hint_means, hint_inv, cdf, shift)
            part = cut - edge
        else:
            cut = _below(x0 + mid, hint_w, hint_means, hint_inv, cdf, shift)
            part = edge - cut
        model = mantissa + k if b == k - 2 else -1
        dec = 40 if b == k - 2 else 50 + min(k, 9)
        p = _ratio(part, whole)
        bit = (magnitude >> b) & 1
        bit, coder = mix_bit(coder, buf, models, model, p, mixer, rows, dec, bit, decoding, knots, stretch)
        if bit:
            lo = mid
            whole = part
        else:
            hi = mid - 1
            whole -= part
            edge = cut
    return (-lo if negative else lo), coder
