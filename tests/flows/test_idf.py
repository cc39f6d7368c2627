"""The exact IDF (``flowzip.flows.idf``): independent of batch and threads, invertible, and the
float model's latents up to fixed-point rounding."""

import numpy as np
import torch

from flowzip import zoo
from flowzip.architecture import multiscale
from flowzip.flows.idf import ExactIDF

from helpers import coding_threads, random_model, tiny_config


def _exact(model) -> ExactIDF:
    return ExactIDF(tiny_config(model.config.channels), zoo.from_torch(model, "idf", tiny_config(3)).weights)


def test_exact_model_is_independent_of_batch_and_threads():
    model = _exact(random_model(3))
    x = np.random.default_rng(0).integers(0, 256, (5, 3, 16, 24))
    with coding_threads(1):
        single = [model.latents(x[i : i + 1]) for i in range(5)]
    with coding_threads(2):
        batched = model.latents(x)
    for i in range(5):
        for (z1, m1, s1), (zb, mb, sb) in zip(single[i], batched):
            assert np.array_equal(z1[0], zb[i]) and np.array_equal(m1[0], mb[i]) and np.array_equal(s1[0], sb[i])


def test_model_inverse_restores_images():
    model = _exact(random_model(1))
    x = np.random.default_rng(1).integers(0, 256, (2, 1, 8, 16))
    latents = iter(z for z, _, _ in model.latents(x))
    np.testing.assert_array_equal(model.inverse(lambda mu, ls: next(latents), 2, 8, 16), x)


def test_exact_twin_codes_what_the_float_model_trains():
    """The twin's latents and prior parameters are the float model's up to fixed-point rounding."""
    model = random_model(3)
    x = np.random.default_rng(2).integers(0, 256, (2, 3, 16, 16))
    exact = _exact(model).latents(x)
    with torch.no_grad():
        floating = model.double().latents(torch.from_numpy(x).double())
    for (z, mu, ls), (zf, muf, lsf) in zip(exact, floating):
        assert np.abs(z - zf.detach().numpy()).max() <= 2
        np.testing.assert_allclose(mu, muf.detach().numpy(), atol=0.05)
        np.testing.assert_allclose(ls, lsf.detach().numpy(), atol=0.01)
    np.testing.assert_array_equal(multiscale.squeeze(x), multiscale.squeeze(torch.from_numpy(x)).numpy())
