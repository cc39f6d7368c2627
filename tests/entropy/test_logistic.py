import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowzip.entropy import tables as pmf
from flowzip.entropy.ans import AnsStack
from flowzip.entropy.logistic import LogisticCodec
from flowzip.errors import FlowzipError, FormatError

from checks import check_codec

CODEC = LogisticCodec()


def _params(rng, n, ls_range=(-3.5, 6.5)):
    mu = np.round(rng.uniform(-200, 200, n) * 4096) / 4096
    ls = np.round(rng.uniform(*ls_range, n) * 4096) / 4096
    return pmf.quantize(mu, ls)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 400), st.integers(0, 2**32 - 1), st.sampled_from([0, 3, 30, 3000, 2**22]))
def test_push_then_pop_restores_data_and_state(n, seed, spread):
    rng = np.random.default_rng(seed)
    mu_q, j = _params(rng, n)
    values = pmf.centers(mu_q) + rng.integers(-spread, spread + 1, n)  # escapes included

    def push(coder):
        CODEC.push(coder, values, mu_q, j)
        return values

    check_codec(push, lambda coder: CODEC.pop(coder, mu_q, j))


def test_rate_tracks_the_estimate():
    from flowzip.entropy import tables as logistic

    rng = np.random.default_rng(0)
    mu_q, j = _params(rng, 200_000, (-2, 3))
    s = pmf.scale_tables()[2][j]
    values = np.round(mu_q / 4096 + rng.logistic(0, s)).astype(np.int64)
    coder = AnsStack()
    CODEC.push(coder, values, mu_q, j)
    actual = len(coder.to_bytes()) * 8
    estimate = logistic.bits_np(values, mu_q / 4096, s)
    assert actual - estimate < 0.005 * estimate + 64


def test_too_far_values_are_refused():
    with pytest.raises(FlowzipError, match="cannot code the image"):
        CODEC.push(AnsStack(), np.array([2**30]), np.array([0]), np.array([0]))


def test_bytes_round_trip_and_bad_streams():
    coder = AnsStack()
    CODEC.push(coder, np.arange(10), np.zeros(10, np.int64), np.full(10, 100))
    data = coder.to_bytes()
    back = CODEC.pop(AnsStack.from_bytes(data), np.zeros(10, np.int64), np.full(10, 100))
    np.testing.assert_array_equal(back, np.arange(10))
    with pytest.raises(FormatError):
        AnsStack.from_bytes(data[:-1])
    with pytest.raises(FormatError):
        AnsStack.from_bytes(data[:-4] + b"\0\0\0\0")


def test_bitstream_does_not_depend_on_chunking(monkeypatch):
    import flowzip.entropy.logistic as codecs

    rng = np.random.default_rng(1)
    mu_q, j = _params(rng, 5000)
    values = pmf.centers(mu_q) + rng.integers(-40, 41, 5000)
    streams = []
    for entries in (2**20, 1000, 1):
        monkeypatch.setattr(codecs, "TABLE_ENTRIES", entries)
        coder = AnsStack()
        CODEC.push(coder, values, mu_q, j)
        streams.append(coder.to_bytes())
        np.testing.assert_array_equal(CODEC.pop(AnsStack.from_bytes(streams[-1]), mu_q, j), values)
    assert streams[0] == streams[1] == streams[2]
