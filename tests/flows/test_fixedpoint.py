"""Exact fixed-point networks (``flowzip.flows.fixedpoint``): exact, close to float, the same
integers on every kernel layout, the torch path and in strips."""

import numpy as np
import pytest
import torch

from flowzip.flows.fixedpoint import ACT_LIMIT, FRAC_BITS, FixedNet
from flowzip.models.layers import ConvNet


def _reference_fixed(fixed: FixedNet, x: np.ndarray) -> np.ndarray:
    """The same fixed-point network in int64 numpy, by explicit sums over taps and channels."""
    h = np.clip(np.floor(x.astype(np.float64) * fixed.input_shift), -ACT_LIMIT, ACT_LIMIT).astype(np.int64)
    for i, layer in enumerate(fixed.layers):
        w = layer.w_q.astype(np.int64)
        p = layer.k // 2
        hp = np.pad(h, ((0, 0), (0, 0), (p, p), (p, p)))
        out = np.zeros((h.shape[0], w.shape[0], h.shape[2], h.shape[3]), np.int64)
        for dy in range(layer.k):
            for dx in range(layer.k):
                patch = hp[:, :, dy : dy + h.shape[2], dx : dx + h.shape[3]]
                out += np.einsum("bchw,oc->bohw", patch, w[:, :, dy, dx])
        out += layer.b_q.astype(np.int64)[None, :, None, None]
        h = np.floor_divide(out, layer.scale.astype(np.int64)[None, :, None, None])
        h = np.clip(h, 0 if i < len(fixed.layers) - 1 else -int(ACT_LIMIT), int(ACT_LIMIT))
    return h


def _twin(net: ConvNet, input_unit: float = 1.0) -> FixedNet:
    return FixedNet([(c.weight.detach().numpy(), c.bias.detach().numpy()) for c in net.layers], net.input_scale,
                    input_unit)


@pytest.mark.parametrize("cin, cout, hidden, unit", [(3, 4, 16, 1.0), (12, 24, 8, 2.0**-16), (24, 6, 32, 2.0**-16)])
def test_fixed_point_net_is_exact_and_close_to_float(cin, cout, hidden, unit):
    """Every kernel (3x3 as patches or as nine taps, 1x1) against an int64 reference."""
    torch.manual_seed(cin)
    net = ConvNet(cin, cout, hidden=hidden, input_scale=1 / 64 if unit == 1.0 else 1.0)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.2)
    fixed = _twin(net, unit)
    assert {layer.kind for layer in fixed.layers} >= {"1x1"}
    rng = np.random.default_rng(cin)
    x = rng.integers(-128, 128, (2, cin, 6, 9)) * (1 if unit == 1.0 else 2**16)
    out = fixed(x)
    np.testing.assert_array_equal((out * 2**FRAC_BITS).astype(np.int64), _reference_fixed(fixed, x))
    expected = net(torch.from_numpy(x * unit).float()).detach().numpy()
    inside = np.abs(expected) < 1000  # the twin clamps activations at 1024
    np.testing.assert_allclose(out[inside], expected[inside], atol=0.05 * max(1.0, np.abs(expected).max()))


def test_fixed_point_kernels_cover_every_layout():
    kinds = set()
    for cin, cout in [(3, 16), (16, 3)]:
        net = ConvNet(cin, cout, hidden=8)
        kinds |= {layer.kind for layer in _twin(net).layers}
    assert kinds == {"im2col", "taps", "1x1"}


def test_the_gpu_path_computes_the_same_integers():
    """The torch convolution path (what a CUDA device runs, here on the CPU) equals the BLAS one."""
    torch.manual_seed(5)
    net = ConvNet(12, 24, hidden=16, input_scale=1.0)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    layers = [(c.weight.detach().numpy(), c.bias.detach().numpy()) for c in net.layers]
    x = np.random.default_rng(5).integers(-2**20, 2**20, (3, 12, 8, 10))
    cpu = FixedNet(layers, 1.0, 2.0**-16)(x)
    np.testing.assert_array_equal(FixedNet(layers, 1.0, 2.0**-16, device="torch:cpu")(x), cpu)


def test_large_tiles_in_strips_give_the_same_integers(monkeypatch):
    """A tile larger than a block goes through the network in strips of rows with their halo."""
    from flowzip.flows import fixedpoint

    torch.manual_seed(6)
    net = ConvNet(6, 12, hidden=16)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    fixed = _twin(net)
    x = np.random.default_rng(6).integers(-200, 200, (2, 6, 37, 23))
    whole = fixed(x)
    monkeypatch.setattr(fixedpoint, "BLOCK_PIXELS", 40)  # strips of one row or two
    np.testing.assert_array_equal(fixed(x), whole)
    np.testing.assert_array_equal((whole * 2**FRAC_BITS).astype(np.int64), _reference_fixed(fixed, x))
