"""One check per contract, run on every implementation (tests/test_contracts.py) and wherever a
test needs it: an entropy stack (``check_stack``), any push/pop pair (``check_codec``), a tile codec
(``check_tile_codec``), a bijection (``check_bijection``) and a pipeline (``check_pipeline``)."""

from __future__ import annotations

import numpy as np
import torch

from flowzip.entropy.ans import AnsStack


def prefilled(stack=AnsStack, seed: int = 3):
    """A stack holding some symbols already (bits-back takes bits before it gives any)."""
    coder = stack()
    rng = np.random.default_rng(seed)
    coder.push_logistic(rng.integers(-5, 5, 400), np.zeros(400, np.int64), np.full(400, 100))
    return coder


def check_codec(push, pop, prefill: int = 3, stack=AnsStack):
    """``push(coder)`` returns what it pushed; ``pop(coder)`` must give it back and return the
    coder to its exact state before the push (every word of it)."""
    coder = prefilled(stack, prefill)
    before = coder.words()
    expected = push(coder)
    got = pop(coder)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(coder.words(), before)


def check_stack(stack, seed: int = 0):
    """``entropy.protocols.EntropyStack``: uniform and logistic symbols (in and beyond their
    windows, with and without escape) pop back in reverse order, restoring the state; the bytes
    round-trip; a fresh stack is empty and an empty one holds no bits."""
    rng = np.random.default_rng(seed)
    fresh = stack()
    assert fresh.is_empty()
    n = 300
    mu_q = rng.integers(-(1 << 16), 1 << 16, n)
    j = rng.integers(0, 320, n)
    values = (mu_q >> 12) + rng.integers(-40, 40, n)
    values[::37] += 5000  # far beyond any window: escaped
    sizes = 1 << rng.integers(1, 17, n)
    uniform = rng.integers(0, 1 << 30, n) % sizes

    def push(coder):
        coder.push_logistic(values, mu_q, j)
        coder.push_uniform(uniform, sizes)
        return np.concatenate([uniform, values])

    def pop(coder):
        got_uniform = coder.pop_uniform(sizes)
        return np.concatenate([got_uniform, coder.pop_logistic(mu_q, j)])

    check_codec(push, pop, seed, stack)
    window = mu_q >> 12  # the window's own centres: no escape needed

    def push_window(coder):
        coder.push_logistic(window, mu_q, j, escape=False)
        return window

    check_codec(push_window, lambda coder: coder.pop_logistic(mu_q, j, escape=False), seed, stack)
    coder = prefilled(stack, seed)
    push(coder)
    again = stack.from_bytes(coder.to_bytes())
    np.testing.assert_array_equal(again.words(), coder.words())
    assert coder.num_bits() > 0
    np.testing.assert_array_equal(pop(again)[n:], values)


def check_tile_codec(codec, tiles: np.ndarray, bits: int = 8, stack=AnsStack):
    """``pipelines.protocols.TileCodec``: a batch of tiles, padded to the codec's multiple, pushed
    then popped comes back exactly and leaves the stack as it was; the estimate is a number."""
    assert isinstance(codec.bits_back, bool) and codec.multiple >= 1
    assert tiles.shape[2] % codec.multiple == 0 and tiles.shape[3] % codec.multiple == 0
    coder = prefilled(stack)
    before = coder.words()
    estimate = codec.push(coder, tiles, True, bits)
    assert estimate is not None and estimate > 0
    got = codec.pop(coder, *tiles.shape, bits=bits)
    np.testing.assert_array_equal(got, tiles)
    np.testing.assert_array_equal(coder.words(), before)


def check_bijection(layer, x, exact: bool = False, jacobian: bool = True):
    """``architecture.protocols.Bijection``: ``inverse`` undoes ``forward`` (exactly for integer
    flows, to float64 precision otherwise) and the two log-determinants sum to zero; a float
    layer's log-determinant is that of its Jacobian, computed by brute force on a tiny input."""
    with torch.no_grad():
        y, logdet = layer.forward(x)
        back, inverse_logdet = layer.inverse(y)
    if exact:
        assert torch.equal(y, torch.round(y)) and torch.equal(back, x)
        assert torch.all(torch.as_tensor(logdet) == 0)
        return
    torch.testing.assert_close(back, x, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(torch.as_tensor(logdet + inverse_logdet, dtype=torch.float64),
                               torch.zeros_like(torch.as_tensor(logdet, dtype=torch.float64)), atol=1e-9, rtol=0)
    if jacobian:
        sample = x[:1]
        jac = torch.autograd.functional.jacobian(lambda v: layer.forward(v)[0], sample)
        jac = jac.reshape(sample.numel(), sample.numel())
        brute = torch.linalg.slogdet(jac)[1]
        torch.testing.assert_close(torch.as_tensor(logdet).reshape(-1)[0].double(), brute.double(), atol=1e-6,
                                   rtol=1e-6)


def check_pipeline(pipeline, header, images: list[np.ndarray], codecs: list):
    """``pipelines.protocols.Pipeline``: ``decode`` gives back what ``encode`` coded, and both
    report ``num_units(header)`` progress steps."""
    steps = []
    payload, _ = pipeline.encode(header, images, codecs, steps.append)
    assert sum(steps) == pipeline.num_units(header)
    steps.clear()
    decoded = pipeline.decode(header, payload, codecs, steps.append)
    assert sum(steps) == pipeline.num_units(header)
    for a, b in zip(images, decoded):
        np.testing.assert_array_equal(a, b)
    return payload
