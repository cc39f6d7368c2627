import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from flowzip.models.layers import AdditiveCoupling, ConvNet, squeeze, unsqueeze
from flowzip.coding.fixedpoint import FRAC_BITS, FixedConvNet
from flowzip.coding.idf import exact_twin

from conftest import random_model


def check_bijection(bijection, x):
    """Integer bijections must invert exactly and keep integers integer."""
    y = bijection.forward(x)
    back = bijection.inverse(y)
    assert torch.equal(y, torch.round(y))
    assert torch.equal(back, x)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(1, 8))
def test_squeeze_inverts(batch, c, h2, w2):
    x = torch.randint(-300, 300, (batch, c, 2 * h2, 2 * w2)).double()
    y = squeeze(x)
    assert y.shape == (batch, 4 * c, h2, w2)
    assert torch.equal(unsqueeze(y), x)


@pytest.mark.parametrize("channels", [2, 4, 12, 48])
def test_coupling_inverts_exactly(channels):
    torch.manual_seed(channels)
    layer = AdditiveCoupling(channels, hidden=8)
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(torch.randn_like(p))
    x = torch.randint(-128, 128, (3, channels, 5, 7)).float()
    with torch.no_grad():
        check_bijection(layer, x)


def _reference_fixed(fixed: FixedConvNet, x: np.ndarray) -> np.ndarray:
    """The same fixed-point network in int64 numpy, by explicit sums."""
    h = np.clip(x.astype(np.int64) * int(fixed.input_shift), -(2**22), 2**22)
    for i, padding in enumerate(fixed.convs):
        w = getattr(fixed, f"w{i}").numpy().astype(np.int64)
        b = getattr(fixed, f"b{i}").numpy().astype(np.int64)
        d = getattr(fixed, f"d{i}").numpy().astype(np.int64).reshape(-1)
        p = padding[0]
        hp = np.pad(h, ((0, 0), (0, 0), (p, p), (p, p)))
        k = w.shape[-1]
        out = np.zeros((h.shape[0], w.shape[0], h.shape[2], h.shape[3]), np.int64)
        for dy in range(k):
            for dx in range(k):
                patch = hp[:, :, dy : dy + h.shape[2], dx : dx + h.shape[3]]
                out += np.einsum("bchw,oc->bohw", patch, w[:, :, dy, dx])
        out += b[None, :, None, None]
        h = np.clip(np.floor_divide(out, d[None, :, None, None]), -(2**22), 2**22)
        if i < len(fixed.convs) - 1:
            h = np.maximum(h, 0)
    return h


def test_fixed_point_net_is_exact_and_close_to_float():
    torch.manual_seed(0)
    net = ConvNet(3, 4, hidden=16)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.2)
    fixed = FixedConvNet(net)
    x = torch.randint(-128, 128, (2, 3, 6, 9)).double()
    out = fixed(x)
    expected = _reference_fixed(fixed, x.numpy())
    np.testing.assert_array_equal((out * 2**FRAC_BITS).numpy().astype(np.int64), expected)
    np.testing.assert_allclose(out.numpy(), net(x.float()).detach().numpy(), atol=0.05)


def test_exact_model_is_independent_of_batch_and_threads():
    model = exact_twin(random_model(3))
    x = torch.randint(0, 256, (5, 3, 16, 24)).double()
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        single = [model.latents(x[i : i + 1]) for i in range(5)]
        torch.set_num_threads(max(2, threads))
        batched = model.latents(x)
    finally:
        torch.set_num_threads(threads)
    for i in range(5):
        for (z1, m1, s1), (zb, mb, sb) in zip(single[i], batched):
            assert torch.equal(z1[0], zb[i]) and torch.equal(m1[0], mb[i]) and torch.equal(s1[0], sb[i])


def test_model_inverse_restores_images():
    model = exact_twin(random_model(1))
    x = torch.randint(0, 256, (2, 1, 8, 16)).double()
    latents = iter(z for z, _, _ in model.latents(x))
    assert torch.equal(model.inverse(lambda mu, ls: next(latents), 2, 8, 16), x)


def test_log_prob_trains():
    model = random_model(3)
    x = torch.randint(0, 256, (4, 3, 16, 16)).float()
    loss = -model.log_prob(x).mean()
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None for p in model.parameters())
