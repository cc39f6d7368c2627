"""The level walk's squeezing (``flowzip.architecture.multiscale``), on numpy and torch alike."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from flowzip.architecture.multiscale import squeeze, unsqueeze


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(1, 8))
def test_squeeze_inverts(batch, c, h2, w2):
    x = torch.randint(-300, 300, (batch, c, 2 * h2, 2 * w2)).double()
    y = squeeze(x)
    assert y.shape == (batch, 4 * c, h2, w2)
    assert torch.equal(unsqueeze(y), x)
