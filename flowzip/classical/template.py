"""The classical coder's palette plane coder (a numba kernel): indices into a palette of at most 16
values, coded bit by bit, most significant first, each bit in the context of the indices of the
neighbours in a JBIG-like template, of the index of the plane before at the same pixel (when that
plane is a palette plane too) and of the bits coded so far. For 1-bit images, text, flat
graphics, alpha masks and images of few colours.
"""

from __future__ import annotations

import numpy as np

from ..errors import FormatError
from ..entropy import rangecoder as rc
from ..jit import kernel

# Neighbours (dy, dx) in order of importance (see ``template_size``).
TEMPLATE_DY = np.array([0, -1, -1, -1, 0, -2, -1, -1, -2, -2, 0, 0, -2, -2, -1, -1], np.int64)
TEMPLATE_DX = np.array([-1, 0, -1, 1, -2, 0, -2, 2, -1, 1, -3, -4, -2, 2, -3, 3], np.int64)
TEMPLATE_BITS, LARGE_TEMPLATE_BITS, LARGE_PLANE = 14, 16, 1 << 15


def template_size(depth: int, ref_depth: int, pixels: int) -> int:
    """How many neighbours the template holds: as many ``depth``-bit indices as fit in
    TEMPLATE_BITS with the plane before's (``ref_depth`` bits), at most 12 (12 for 1-bit indices,
    3 for 4-bit ones); 1-bit indices of planes of LARGE_PLANE pixels or more take up to 16."""
    if depth == 1 and pixels >= LARGE_PLANE:
        return min(LARGE_TEMPLATE_BITS - ref_depth, len(TEMPLATE_DY))
    return min((TEMPLATE_BITS - ref_depth) // depth, 12)


def code_indices(coder, buf, idx: np.ndarray, c: int, ref: int, ref_depth: int, count: int, decoding: bool):
    """Code ``idx[c]`` (C, H, W int32 indices below ``count``; decoding: fill them in); ``ref``
    >= 0 names a plane of ``ref_depth``-bit indices whose index at each pixel is context. Returns
    the coder."""
    depth = (count - 1).bit_length()
    if depth == 0:
        idx[c] = 0
        return coder
    neighbours = template_size(depth, ref_depth, idx.shape[1] * idx.shape[2])
    models = rc.new_models(1 << (neighbours * depth + ref_depth + depth))
    coder, ok = _code_indices(coder, buf, idx, c, ref, ref_depth, neighbours, depth, count, models, decoding)
    if not ok:
        raise FormatError("corrupt classical stream: a palette index is out of range")
    return coder


@kernel
def _code_indices(coder, buf, idx, c, ref, ref_depth, neighbours, depth, count, models, decoding):
    """``code_indices``' loop; returns ``(coder, ok)``, ``ok`` false when a decoded index is not
    below ``count``."""
    height, width = idx.shape[1], idx.shape[2]
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
