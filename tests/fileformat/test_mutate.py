"""Mutated .fz files must end in the library's error (never another exception), allocating
little (every declared size is bounded before anything is allocated)."""

import dataclasses
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flowzip
from flowzip import api
from flowzip.errors import FlowzipError
from flowzip.fileformat import container
from flowzip.fileformat.mutate import KINDS, mutate
from flowzip.images.image import Picture


@pytest.fixture(scope="module")
def samples(tiny_zoo_dir):
    from flowzip import adapt, policy, zoo

    from helpers import tiny_policy, unsealed

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(zoo, "pretrained_dir", lambda: tiny_zoo_dir)
        mp.setattr(policy, "DEFAULT", tiny_policy())
        rng = np.random.default_rng(0)
        images = [rng.integers(0, 256, (21, 40, 4), dtype=np.uint8),
                  np.full((5, 3), 7, np.uint8),
                  rng.integers(100, 120, (40, 33, 3), dtype=np.uint8)]
        files = [flowzip.compress(im, tile=16) for im in images]
        files.append(flowzip.compress(images[2], "tiny-glow", tile=16))  # one stream file
        archive = [(f"{i}.png", Picture(im, "RGB")) for i, im in enumerate(rng.integers(0, 256, (4, 16, 16, 3),
                                                                                       dtype=np.uint8))]
        files.append(api.encode(archive, "tiny-glow", archive=True)[0])
        files.append(api.encode(archive, "tiny-glow", archive=True, chunk=1500)[0])  # a chunked archive (sealed)
        files.append(unsealed(files[-1]))  # the same as version 3: pixel CRCs in the table
        mp.setitem(policy.EFFORTS, 8, policy.Effort("test", adapt=("biases", 3, 1e-3)))
        mp.setattr(adapt, "worth_it", lambda *args: True)
        files.append(api.encode(archive, "tiny-glow", archive=True, effort=8)[0])  # with an adapter
        classical = dataclasses.replace(tiny_policy(), classical="classical-v1")  # compact files:
        files.append(api.encode([("", Picture(images[0], "RGBA"))], policy=classical)[0])
        files.append(api.encode([("", Picture(images[1][..., None], "L", {"icc_profile": b"p" * 40}))],
                                policy=classical)[0])
        return files


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, 9), st.sampled_from(KINDS), st.integers(0, 2**32 - 1))
def test_mutated_files_fail_cleanly(tiny_models, samples, which, kind, seed):
    data = mutate(samples[which], kind, np.random.default_rng(seed))
    if data == samples[which]:
        return
    tracemalloc.start()
    try:
        pictures = api.decode(data)
    except FlowzipError:
        pictures = None
    finally:
        kept, peak = tracemalloc.get_traced_memory()  # kept: the coders' lookup tables, filled on first use
        tracemalloc.stop()
    assert peak - kept < 64 * 2**20  # the samples are small: a mutation must not make the decoder allocate more
    if pictures is not None:  # only a change to bits that carry nothing may decode, and then to the true images: coded
        # padding of the payload, or the padding bits that end the image table's deflate stream (in a compact
        # file, checked by its pixels' CRC alone, by any kind of change)
        compact = container.version_of(samples[which]) in container.COMPACT_VERSIONS
        assert compact or kind in ("payload_recrc", "header_field_recrc"), f"{kind} mutation decoded without error"
        expected = api.decode(samples[which])
        assert [name for name, _ in pictures] == [name for name, _ in expected]
        for (_, a), (_, b) in zip(pictures, expected):
            assert np.array_equal(a.pixels, b.pixels) and a.mode == b.mode and a.metadata == b.metadata
