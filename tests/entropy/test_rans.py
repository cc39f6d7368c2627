"""flowzip's rANS stack (coder 2): exact inverses, frequencies equal to an int64 reference built
from the tables, rates at the model's information content, clean errors on corrupt streams."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowzip.entropy import rans, tables
from flowzip.entropy.rans import RansStack, SealedStack
from flowzip.entropy.tables import bits_np
from flowzip.errors import FormatError


def _params(rng, n, spread=40.0):
    mu_q = np.rint(rng.normal(0, spread, n) * 2**tables.FRAC_BITS).astype(np.int64)
    j = rng.integers(0, tables.NUM_SCALES, n)
    scale = tables.scale_tables()[2][j]
    values = np.rint(mu_q / 2**tables.FRAC_BITS + rng.logistic(0, 1, n) * scale).astype(np.int64)
    return values, mu_q, j


def _reference_cumulative(mu_q: int, j: int, escape: bool) -> np.ndarray:
    """The window's cumulative frequencies out of 2**PREC, from ``tables._cdf`` in numpy int64."""
    inv, radius, _ = tables.scale_tables()
    r = int(radius[j])
    lower = ((mu_q + (1 << (tables.FRAC_BITS - 1))) >> tables.FRAC_BITS) - r
    k = np.arange(2 * r + 2, dtype=np.int64)
    bounds = ((lower + k) << tables.FRAC_BITS) - (1 << (tables.FRAC_BITS - 1)) - mu_q
    cdf = tables._cdf(bounds, np.full(len(k), inv[j]))
    f = cdf - cdf[0]
    n = 2 * r + 1 + escape
    room = (1 << rans.PREC) - n
    if escape:
        cum = ((f * room) >> tables.CDF_BITS) + k
    else:
        end = f[-1]
        cum = (f[:-1] * room) // end + k[:-1] if end > 0 else (room * k[:-1]) // n + k[:-1]
    return np.append(cum, 1 << rans.PREC)


def test_frequencies_match_an_int64_reference():
    rng = np.random.default_rng(0)
    inv, radius, _ = tables.scale_tables()
    table = tables.cdf_table()
    for mu_q, j in zip(rng.integers(-2**22, 2**22, 60), rng.integers(0, tables.NUM_SCALES, 60)):
        for escape in (True, False):
            r = int(radius[j])
            lower = ((int(mu_q) + (1 << (tables.FRAC_BITS - 1))) >> tables.FRAC_BITS) - r
            n = 2 * r + 1 + escape
            base = rans._bound_cdf(0, lower, int(mu_q), inv[j], table, tables._SHIFT, tables.FRAC_BITS)
            end = 0 if escape else rans._bound_cdf(2 * r + 1, lower, int(mu_q), inv[j], table, tables._SHIFT,
                                                   tables.FRAC_BITS) - base
            got = [rans._cum(k, n, lower, int(mu_q), inv[j], base, end, not escape, table, tables._SHIFT,
                             tables.FRAC_BITS) for k in range(n + 1)]
            expected = _reference_cumulative(int(mu_q), int(j), escape)
            np.testing.assert_array_equal(got, expected)
            assert (np.diff(expected) >= 1).all()


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3000), st.integers(0, 2**32 - 1), st.sampled_from([0.5, 40.0, 3000.0]))
def test_push_then_pop_restores_values_and_state(n, seed, spread):
    rng = np.random.default_rng(seed)
    values, mu_q, j = _params(rng, n, spread)
    values[: min(n, 3)] = [10**7, -10**7, 0][: min(n, 3)]  # escapes
    stack = RansStack()
    stack.push_uniform(rng.integers(0, 256, 50), np.full(50, 256))
    before = stack.words()
    stack.push_logistic(values, mu_q, j)
    again = RansStack.from_bytes(stack.to_bytes())
    np.testing.assert_array_equal(again.pop_logistic(mu_q, j), values)
    np.testing.assert_array_equal(again.words(), before)


def test_windows_without_escape_pop_and_push_back_from_an_empty_stack():
    rng = np.random.default_rng(1)
    _, mu_q, j = _params(rng, 5000)
    stack = RansStack()
    y = stack.pop_logistic(mu_q, j, escape=False)  # reads zeros past the bottom: bits-back's start
    stack.push_logistic(y, mu_q, j, escape=False)
    assert stack.is_empty() and RansStack.from_bytes(stack.to_bytes()).is_empty()
    far = y.copy()
    far[7] += 10**6
    with pytest.raises(FormatError, match="outside its coding window"):
        RansStack().push_logistic(far, mu_q, j, escape=False)


def test_rate_is_the_information_content():
    rng = np.random.default_rng(2)
    values, mu_q, j = _params(rng, 100_000, 20.0)
    j = np.clip(j, 0, 160)  # scales whose windows hold nearly all the mass: no escapes to count
    values = np.rint(mu_q / 2**tables.FRAC_BITS + rng.logistic(0, 1, len(j)) * tables.scale_tables()[2][j])
    values = values.astype(np.int64)
    stack = RansStack()
    stack.push_logistic(values, mu_q, j)
    ideal = bits_np(values, mu_q / 2**tables.FRAC_BITS, tables.scale_tables()[2][j])
    assert abs(stack.num_bits() - ideal) < 0.001 * ideal + 64


def test_uniform_symbols_and_their_sizes():
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 33, 500)
    sizes = np.int64(1) << bits
    values = rng.integers(0, 2**62, 500) % sizes
    stack = RansStack()
    stack.push_uniform(values, sizes)
    assert abs(stack.num_bits() - bits.sum()) <= 64
    np.testing.assert_array_equal(RansStack.from_bytes(stack.to_bytes()).pop_uniform(sizes), values)
    with pytest.raises(ValueError, match="power-of-two"):
        stack.push_uniform(np.array([1]), np.array([3]))


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=200))
def test_corrupt_streams_fail_cleanly(data):
    rng = np.random.default_rng(4)
    _, mu_q, j = _params(rng, 50)
    for kind in (RansStack, SealedStack):
        try:
            stack = kind.from_bytes(data)
            stack.pop_logistic(mu_q, j)
        except FormatError:
            pass


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 400), st.integers(0, 2**32 - 1))
def test_a_sealed_stack_gives_its_seal_back_and_ends_in_its_states_significant_bytes(n, seal):
    rng = np.random.default_rng(seal)
    values, mu_q, j = _params(rng, n, 40.0)
    stack = SealedStack(seal=seal)
    stack.push_logistic(values, mu_q, j)
    data = stack.to_bytes()
    state, words, n_words = stack.kernel_state(0)
    assert len(data) % 4 == (int(state[0]).bit_length() + 7) // 8 % 4  # the byte count says the state's
    assert len(data) <= len(RansStack(words[: n_words[0]], int(state[0])).to_bytes())  # never longer than a plain stack's
    again = SealedStack.from_bytes(data)
    np.testing.assert_array_equal(again.pop_logistic(mu_q, j), values)
    assert again.seal() == seal and again.is_empty()


def test_a_sealed_stack_refuses_a_padded_state_and_reports_what_is_left():
    stack = SealedStack(seal=7)
    stack.push_uniform(np.arange(40), np.full(40, 256))
    data = stack.to_bytes()
    with pytest.raises(FormatError, match="invalid state"):
        SealedStack.from_bytes(data + b"\0")  # a state whose top byte is zero: not its significant bytes
    with pytest.raises(FormatError, match="too short"):
        SealedStack.from_bytes(b"\1\2\3")
    again = SealedStack.from_bytes(data)
    np.testing.assert_array_equal(again.pop_uniform(np.full(39, 256)), np.arange(39))
    assert again.seal() is None and not again.is_empty()  # one symbol is left
