"""Mutated .fz files must end in the library's error (never another exception), quickly."""

import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flowzip
from flowzip.errors import FlowzipError
from flowzip.fuzz import KINDS, mutate


@pytest.fixture(scope="module")
def samples(tiny_zoo_dir):
    from flowzip import zoo

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(zoo, "pretrained_dir", lambda: tiny_zoo_dir)
        mp.setattr(zoo, "DEFAULTS", {3: "tiny-rgb", 1: "tiny-gray"})
        rng = np.random.default_rng(0)
        images = [rng.integers(0, 256, (21, 40, 4), dtype=np.uint8),
                  np.full((5, 3), 7, np.uint8),
                  rng.integers(100, 120, (40, 33, 3), dtype=np.uint8)]
        return [flowzip.compress(im, tile=16) for im in images]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, 2), st.sampled_from(KINDS), st.integers(0, 2**32 - 1))
def test_mutated_files_fail_cleanly(tiny_models, samples, which, kind, seed):
    data = mutate(samples[which], kind, np.random.default_rng(seed))
    if data == samples[which]:
        return
    start = time.perf_counter()
    try:
        pixels = flowzip.decompress(data)
    except FlowzipError:
        pass
    else:  # only a change confined to coded padding may decode, and then to the true pixels
        assert kind == "payload_recrc", f"{kind} mutation decoded without error"
        assert np.array_equal(pixels, flowzip.decompress(samples[which]))
    assert time.perf_counter() - start < 10
