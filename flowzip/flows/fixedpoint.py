"""The fixed-point grid and the exact fixed-point twins of the models' networks.

Coding needs the encoder and the decoder to compute *identical* network outputs, whatever the
machine, thread count, batch size or device. Float convolutions do not promise that: the order of
a sum changes with all of them. The fixed-point twin removes the problem at the root: weights and
activations are integers (activations carry ``FRAC_BITS`` fractional bits), held in float64. Every
product and every partial sum is then an integer below 2**53, so float64 computes it exactly and
the order of summation cannot matter: any kernel gives the same numbers. Rescaling divides by
powers of two and floors, which is exact too. See ``FixedNet`` for the bounds.

Because any summation order is exact, the convolutions run as plain matrix products (BLAS dgemm,
near the machine's peak): a 3x3 layer with few inputs as one product of 3x3 patches ("im2col"), a
3x3 layer with few outputs as one product for all nine taps followed by nine shifted additions, a
1x1 layer as one product. On a CUDA device the same integers go through torch's float64
convolution with cuDNN switched off.
"""

from __future__ import annotations

import math

import numpy as np

from ..entropy.tables import FRAC_BITS  # THE fixed-point grid: every network output, location and
# log-scale that chooses a probability is a multiple of 2**-FRAC_BITS (in the units of the value it
# describes), the grid of the entropy coders' parameters
ACT_LIMIT = 2.0**22  # |activation| bound in fixed-point units (1024.0 in real units)
WEIGHT_LIMIT = 2.0**13  # |integer weight| bound
ACC_LIMIT = 2.0**52  # every accumulator must stay below this to be exact in float64
TAPS = [(dy, dx) for dy in range(3) for dx in range(3)]
BLOCK_PIXELS = 4096  # tiles go through a network in blocks of about this many pixels: their
# activations then stay in the CPU's cache between layers (twice as fast as whole batches)


def on_grid(x: np.ndarray) -> np.ndarray:
    """``x`` rounded to the fixed-point grid (float64)."""
    return np.rint(np.asarray(x, np.float64) * 2.0**FRAC_BITS) / 2.0**FRAC_BITS


def _floor_log2(x: np.ndarray) -> np.ndarray:
    """floor(log2(x)) for positive x, exactly (from the float's exponent, no libm call)."""
    return (np.frexp(x)[1] - 1).astype(np.float64)


def quantize_layer(weight: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A float layer -> integer weights, integer bias (with FRAC_BITS more fractional bits) and the
    power of two per output channel that the weights were scaled by: the largest that keeps the
    integers in range."""
    w, b = np.asarray(weight, np.float64), np.asarray(bias, np.float64)
    wmax = np.maximum(np.abs(w).reshape(len(w), -1).max(1), 2.0**-30)
    bits = np.clip(_floor_log2(WEIGHT_LIMIT / wmax), 0, 30)
    bmax_bits = _floor_log2(2.0**46 / np.maximum(np.abs(b), 2.0**-30)) - FRAC_BITS
    bits = np.maximum(np.minimum(bits, bmax_bits), 0)
    w_q = np.clip(np.rint(w * (2.0**bits)[:, None, None, None]), -WEIGHT_LIMIT, WEIGHT_LIMIT)
    return w_q, np.rint(b * 2.0 ** (bits + FRAC_BITS)), 2.0**bits


class _Layer:
    """One quantized convolution, laid out for the matrix product that computes it fastest."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray):
        self.w_q, self.b_q, self.scale = quantize_layer(weight, bias)
        self.cout, self.cin, self.k, _ = self.w_q.shape
        if ACT_LIMIT * WEIGHT_LIMIT * self.cin * self.k * self.k >= ACC_LIMIT:
            raise ValueError("a layer is too wide for exact fixed-point arithmetic")
        self.inv_scale = 1.0 / self.scale  # powers of two: multiplying by them is exact
        if self.k == 1:
            self.kind, self.matrix = "1x1", self.w_q[:, :, 0, 0].T.copy()
        elif self.cin <= self.cout:  # (9 cin, cout), patches ordered by tap, channel fastest
            self.kind, self.matrix = "im2col", self.w_q.transpose(2, 3, 1, 0).reshape(9 * self.cin, self.cout).copy()
        else:  # (cin, 9 cout): all nine taps in one product
            self.kind, self.matrix = "taps", self.w_q.transpose(1, 2, 3, 0).reshape(self.cin, 9 * self.cout).copy()

    def __call__(self, h: np.ndarray) -> np.ndarray:
        """(B, H, W, cin) integers -> (B, H, W, cout) integers (before rescaling), bias included."""
        b, height, width, _ = h.shape
        if self.kind == "1x1":
            out = h.reshape(-1, self.cin) @ self.matrix
        elif self.kind == "im2col":
            p = np.pad(h, ((0, 0), (1, 1), (1, 1), (0, 0)))
            cols = np.concatenate([p[:, dy : dy + height, dx : dx + width] for dy, dx in TAPS], axis=-1)
            out = cols.reshape(-1, 9 * self.cin) @ self.matrix
        else:
            taps = (h.reshape(-1, self.cin) @ self.matrix).reshape(b, height, width, 9, self.cout)
            acc = np.zeros((b, height + 2, width + 2, self.cout))
            for t, (dy, dx) in enumerate(TAPS):  # output (y, x) takes tap (dy, dx) of input (y + dy - 1, x + dx - 1)
                acc[:, 2 - dy : 2 - dy + height, 2 - dx : 2 - dx + width] += taps[:, :, :, t]
            out = acc[:, 1 : height + 1, 1 : width + 1]
        out = out.reshape(b, height, width, self.cout)
        out += self.b_q
        return out


class FixedNet:
    """Exact fixed-point twin of a trained ``ConvNet`` (3x3 -> ReLU -> 1x1 -> ReLU -> 3x3).

    Bounds: inputs are integers times ``input_scale * 2**FRAC_BITS`` and are clamped, like every
    activation, to ``ACT_LIMIT``; integer weights are below ``WEIGHT_LIMIT``; so one product is
    below 2**35 and a sum of ``k*k*c_in`` of them (checked at build time) stays below 2**52.
    Outputs are real values on the grid 2**-FRAC_BITS.
    """

    def __init__(self, layers: list[tuple[np.ndarray, np.ndarray]], input_scale: float, input_unit: float = 1.0,
                 device: str = "cpu"):
        """``layers``: (weight, bias) of each convolution; ``input_unit``: the real value of an input
        integer 1 (a power of two, like ``input_scale``)."""
        mantissa, exponent = math.frexp(input_scale * input_unit)
        if mantissa != 0.5:
            raise ValueError("input_scale must be a power of two")
        self.input_shift = float(2.0 ** (FRAC_BITS + exponent - 1))
        self.layers = [_Layer(w, b) for w, b in layers]
        self.device = device

    @classmethod
    def from_weights(cls, weights: dict[str, np.ndarray], prefix: str, input_scale: float, input_unit: float = 1.0,
                     device: str = "cpu") -> "FixedNet":
        """The twin of the ``ConvNet`` whose parameters are ``{prefix}layers.{i}.weight/bias``."""
        layers, i = [], 0
        while f"{prefix}layers.{i}.weight" in weights:
            layers.append((weights[f"{prefix}layers.{i}.weight"], weights[f"{prefix}layers.{i}.bias"]))
            i += 1
        if len(layers) != 3:
            raise KeyError(f"{prefix}layers")
        return cls(layers, input_scale, input_unit, device)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """``x``: (B, C, H, W) integers (int64 or float64). Returns float64 on the 2**-FRAC_BITS grid."""
        if self.device != "cpu":
            return self._on_torch(x)
        height, width = x.shape[2:]
        if height * width > 2 * BLOCK_PIXELS:
            return np.concatenate([self._strips(x[i : i + 1]) for i in range(len(x))])
        step = max(1, BLOCK_PIXELS // (height * width))
        if len(x) <= step:
            return self._block(x)
        return np.concatenate([self._block(x[i : i + step]) for i in range(0, len(x), step)])

    def _strips(self, x: np.ndarray) -> np.ndarray:
        """A large tile in strips of rows, each with the rows its outputs see around it (the halo):
        the integers are those of the whole tile."""
        halo = sum(layer.k // 2 for layer in self.layers)
        height = x.shape[2]
        rows = max(1, BLOCK_PIXELS // x.shape[3])
        parts = []
        for r0 in range(0, height, rows):
            r1 = min(height, r0 + rows)
            a, b = max(0, r0 - halo), min(height, r1 + halo)
            parts.append(self._block(x[:, :, a:b])[:, :, r0 - a : r0 - a + r1 - r0])
        return np.concatenate(parts, axis=2)

    def _block(self, x: np.ndarray) -> np.ndarray:
        h = np.ascontiguousarray(np.asarray(x, np.float64).transpose(0, 2, 3, 1)) * self.input_shift
        if self.input_shift < 1:
            np.floor(h, out=h)
        np.clip(h, -ACT_LIMIT, ACT_LIMIT, out=h)
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            h = layer(h)
            h *= layer.inv_scale
            np.floor(h, out=h)
            np.clip(h, 0 if i < last else -ACT_LIMIT, ACT_LIMIT, out=h)  # ReLU between layers
        return h.transpose(0, 3, 1, 2) * 2.0**-FRAC_BITS

    def _on_torch(self, x: np.ndarray) -> np.ndarray:
        """The same integers through torch's float64 convolution on a GPU (cuDNN off: its
        transform-based algorithms are not exact); ``device="torch:cpu"`` runs this path on the
        CPU, for tests."""
        import torch
        from torch.nn import functional as F

        device = self.device.removeprefix("torch:")
        with torch.backends.cudnn.flags(enabled=False):
            h = torch.from_numpy(np.asarray(x, np.float64)).to(device) * self.input_shift
            if self.input_shift < 1:
                h.floor_()
            h.clamp_(-ACT_LIMIT, ACT_LIMIT)
            last = len(self.layers) - 1
            for i, layer in enumerate(self.layers):
                w = torch.from_numpy(layer.w_q).to(device)
                b = torch.from_numpy(layer.b_q).to(device)
                h = F.conv2d(h, w, b, padding=layer.k // 2)
                h.mul_(torch.from_numpy(layer.inv_scale).to(device).view(1, -1, 1, 1)).floor_()
                h.clamp_(0 if i < last else -ACT_LIMIT, ACT_LIMIT)
            return h.cpu().numpy() * 2.0**-FRAC_BITS
