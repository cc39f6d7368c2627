"""The float IDF (``flowzip.models.idf``): its log-likelihood trains."""

import torch

from helpers import random_model


def test_log_prob_trains():
    model = random_model(3)
    x = torch.randint(0, 256, (4, 3, 16, 16)).float()
    loss = -model.log_prob(x).mean()
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None for p in model.parameters())
