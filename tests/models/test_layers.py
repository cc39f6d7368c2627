"""The float models' layers (``flowzip.models.layers``): integer couplings invert exactly."""

import pytest
import torch

from flowzip.models.layers import AdditiveCoupling


def check_bijection(bijection, x):
    """Integer bijections must invert exactly and keep integers integer."""
    y, _ = bijection.forward(x)
    back, _ = bijection.inverse(y)
    assert torch.equal(y, torch.round(y))
    assert torch.equal(back, x)


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
