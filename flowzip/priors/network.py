"""The exact twin of the local prior's network: integer weights and activations held in float64.

As for the flows (``flows.fixedpoint``), every product and partial sum is an integer below 2**53,
so float64 computes it exactly and any summation order, matrix-product kernel, batch size or
device gives the same integers. Inputs are the window's pixels as ``(2x - 255) * 32`` and the
validity flags as 4096 (the real inputs of ``architecture.localprior`` on the 2**-12 grid);
activations are on that grid, clamped to ``[0, ACT_LIMIT]``; outputs are integers in units of
2**-12. Bounds (checked at build time): inputs |a| <= 2**13, weights |w| <= 2**13, so with at
most 2**11 inputs per layer every sum stays below 2**52.

The validity flags are all 1 inside the picture, so the first layer takes only the pixels: their
product plus a bias that holds every flag's term (``interior``), less the terms of the flags that
are 0 for the few pixels whose window leaves the picture. The sum is the same integer.
"""

from __future__ import annotations

import numpy as np

from ..architecture.localprior import OUTPUTS, LocalPriorConfig, num_inputs, window
from ..errors import ModelError
from ..flows.fixedpoint import ACC_LIMIT, ACT_LIMIT, WEIGHT_LIMIT, quantize_layer
from ..jit import inline_kernel, kernel

INPUT_LIMIT = 2.0**13  # |input| in grid units: (2 * 255 - 255) * 32 = 8160, validity 4096


@inline_kernel
def _clip(v, low, high):
    """``v`` within [low, high], as selects (the loops below vectorize; ``min``/``max`` do not)."""
    v = v if v > low else low
    return v if v < high else high


@kernel
def requantize(z, bias, inv_scale, low, high):
    """``z = clip(floor((z + bias) * inv_scale), low, high)`` in place, per output column: the same
    float64 operations as numpy's four passes (each exact here), in one."""
    n, m = z.shape
    for i in range(n):
        for j in range(m):
            z[i, j] = _clip(np.floor((z[i, j] + bias[j]) * inv_scale[j]), low, high)


@kernel
def add_residual(h, z, bias, inv_scale, high):
    """``h = min(h + clip(floor((z + bias) * inv_scale), 0, high), high)`` in place: a residual
    layer's activation added to its input, in one pass."""
    n, m = h.shape
    for i in range(n):
        for j in range(m):
            a = _clip(np.floor((z[i, j] + bias[j]) * inv_scale[j]), 0.0, high)
            h[i, j] = _clip(h[i, j] + a, 0.0, high)


class _Dense:
    """One quantized dense layer: (inputs, out) integer weights, integer bias, per-output 2**-bits."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray, input_limit: float):
        w_q, b_q, scale = quantize_layer(np.asarray(weight, np.float64)[:, :, None, None], bias)
        if input_limit * WEIGHT_LIMIT * w_q.shape[1] + np.abs(b_q).max() >= ACC_LIMIT:
            raise ModelError("a layer of the local prior is too wide for exact fixed-point arithmetic")
        self.matrix = np.ascontiguousarray(w_q[:, :, 0, 0].T)
        self.bias = b_q
        self.inv_scale = 1.0 / scale  # powers of two: multiplying by them is exact
        # the layer's compiled passes, their types checked once (``Kernel.typed_once``): every call
        # gives them C-contiguous float64 arrays (products of ``matrix``) and floats
        self.requantize, self.add_residual = requantize.typed_once(), add_residual.typed_once()

    def __call__(self, a: np.ndarray, low: float) -> np.ndarray:
        z = a @ self.matrix
        self.requantize(z, self.bias, self.inv_scale, low, ACT_LIMIT)
        return z

    def add_to(self, h: np.ndarray) -> None:
        """``h`` plus this layer's activation of ``h`` (a residual layer), in place."""
        self.add_residual(h, h @ self.matrix, self.bias, self.inv_scale, ACT_LIMIT)


class ExactLocalNet:
    """The network of a local prior as exact integer arithmetic (numpy GEMMs in float64, each
    layer's requantization one compiled pass)."""

    def __init__(self, weights: dict[str, np.ndarray], config: LocalPriorConfig):
        self.config = config
        self.offsets = np.array(window(config.horizon), np.int64)
        self.inputs = num_inputs(config)
        if weights["first.weight"].shape[1] != num_inputs(config) or (
                weights["out.weight"].shape[0] != OUTPUTS.count(config)):
            raise ModelError("the local prior's weights do not fit its config")
        self.first = _Dense(weights["first.weight"], weights["first.bias"], INPUT_LIMIT)
        stride = config.channels + 1
        flags = np.arange(config.channels, self.inputs, stride)  # the validity inputs' rows
        self.values = np.delete(np.arange(self.inputs), flags)  # the pixels' rows, window order
        self.first_values = np.ascontiguousarray(self.first.matrix[self.values])
        self.flag_terms = np.ascontiguousarray(self.first.matrix[flags] * 4096.0)
        self.interior = self.first.bias + self.flag_terms.sum(0)
        self.hidden = [_Dense(weights[f"hidden.{i}.weight"], weights[f"hidden.{i}.bias"], ACT_LIMIT)
                       for i in range(config.layers)]
        self.out = _Dense(weights["out.weight"], weights["out.bias"], ACT_LIMIT)

    def __call__(self, values: np.ndarray, outside: np.ndarray | None = None) -> np.ndarray:
        """(n, C P) window pixels on the grid (``kernels.gather_values``), and per window position
        1 where it leaves the picture (None: nowhere) -> (n, outputs) integers in units of 2**-12
        (float64)."""
        h = values @ self.first_values
        if outside is not None:
            rows = np.flatnonzero(outside.any(1))
            if len(rows):
                h[rows] -= outside[rows] @ self.flag_terms
        self.first.requantize(h, self.interior, self.first.inv_scale, 0.0, ACT_LIMIT)
        for layer in self.hidden:
            layer.add_to(h)
        return self.out(h, -ACT_LIMIT)
