"""The fixed-point grid and the exact fixed-point twins of the models' networks.

Coding needs the encoder and the decoder to compute *identical* network outputs, whatever the
machine, thread count, batch size or device. Float convolutions do not promise that: the order of
a sum changes with all of them. The fixed-point twin removes the problem at the root: weights and
activations are integers (activations carry ``FRAC_BITS`` fractional bits), held in float64. Every
product and every partial sum is then an integer below 2**53, so float64 computes it exactly and
the order of summation cannot matter. Rescaling divides by powers of two and floors, which is
exact too. See ``FixedConvNet`` for the bounds that keep every value in range.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from ..models.layers import ConvNet

FRAC_BITS = 12  # THE fixed-point grid: every network output, location and log-scale that chooses a
# probability is a multiple of 2**-FRAC_BITS (in the units of the value it describes)
ACT_LIMIT = 2.0**22  # |activation| bound in fixed-point units (1024.0 in real units)
WEIGHT_LIMIT = 2.0**13  # |integer weight| bound
ACC_LIMIT = 2.0**52  # every accumulator must stay below this to be exact in float64


def on_grid(t: torch.Tensor) -> torch.Tensor:
    """``t`` rounded to the fixed-point grid."""
    return torch.round(t * 2.0**FRAC_BITS) / 2.0**FRAC_BITS


def exact_mode():
    """A context for running fixed-point twins: cuDNN may pick transform-based convolutions, the
    native ones are exact on integers."""
    return torch.backends.cudnn.flags(enabled=False)


def _floor_log2(x: torch.Tensor) -> torch.Tensor:
    """floor(log2(x)) for positive x, exactly (from the float's exponent, no libm call)."""
    return (torch.frexp(x).exponent - 1).to(torch.float64)


class FixedConvNet(nn.Module):
    """Exact fixed-point twin of a trained ``ConvNet`` (inference only, float64).

    Bounds: inputs are integers times ``input_scale * 2**FRAC_BITS`` and are clamped, like every
    activation, to ``ACT_LIMIT``; integer weights are below ``WEIGHT_LIMIT``; so one product is
    below 2**35 and a sum of ``k*k*c_in`` of them (checked at build time) stays below 2**52.
    Outputs are real values on the grid 2**-FRAC_BITS.
    """

    def __init__(self, net: ConvNet, input_unit: float = 1.0):
        """``input_unit``: the real value of an input integer 1 (a power of two)."""
        super().__init__()
        mantissa, exponent = math.frexp(net.input_scale * input_unit)
        if mantissa != 0.5:
            raise ValueError("input_scale must be a power of two")
        self.input_shift = float(2.0 ** (FRAC_BITS + exponent - 1))
        self.convs = []
        for i, conv in enumerate(net.layers):
            w = conv.weight.detach().to(torch.float64).cpu()
            b = conv.bias.detach().to(torch.float64).cpu()
            fan_in = w[0].numel()
            if ACT_LIMIT * WEIGHT_LIMIT * fan_in >= ACC_LIMIT:
                raise ValueError(f"layer {i} is too wide for exact fixed-point arithmetic")
            # Per output channel, the largest power of two that keeps |w_q| and |b_q| in range.
            wmax = w.abs().flatten(1).amax(1).clamp_min(2.0**-30)
            bits = _floor_log2(WEIGHT_LIMIT / wmax).clamp(0, 30)
            bmax_bits = _floor_log2(2.0**46 / b.abs().clamp_min(2.0**-30)) - FRAC_BITS
            bits = torch.minimum(bits, bmax_bits).clamp_min(0)
            w_q = torch.round(w * (2.0**bits).view(-1, 1, 1, 1)).clamp(-WEIGHT_LIMIT, WEIGHT_LIMIT)
            b_q = torch.round(b * 2.0 ** (bits + FRAC_BITS))
            self.register_buffer(f"w{i}", w_q)
            self.register_buffer(f"b{i}", b_q)
            self.register_buffer(f"d{i}", (2.0**bits).view(1, -1, 1, 1))
            self.convs.append(conv.padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: integer-valued float64 tensor. Returns a float64 tensor on the 2**-FRAC_BITS grid."""
        h = x * self.input_shift
        if self.input_shift < 1:
            h.floor_()
        h.clamp_(-ACT_LIMIT, ACT_LIMIT)
        last = len(self.convs) - 1
        for i, padding in enumerate(self.convs):
            h = F.conv2d(h, getattr(self, f"w{i}"), getattr(self, f"b{i}"), padding=padding)
            h.div_(getattr(self, f"d{i}")).floor_().clamp_(-ACT_LIMIT, ACT_LIMIT)  # in place: less traffic
            if i < last:
                h.relu_()
        return h / 2.0**FRAC_BITS
