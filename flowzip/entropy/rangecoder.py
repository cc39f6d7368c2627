"""An adaptive binary range coder (numba kernels), integer arithmetic only.

One function codes both ways: ``code_bit(coder, buf, p1, bit, decoding)`` encodes ``bit`` into
``buf`` or, with ``decoding`` true, decodes a bit from ``buf`` and returns it. Written once, a
model's encoder and decoder cannot drift apart: a kernel computes its contexts, calls the same
coding functions and uses the bit they return in both directions.

``coder`` is the tuple ``(low or code, range, position)``; kernels take it and give it back, so it
lives in registers. ``buf`` is a uint16 array both ways (``decoder_buffer``), so that a kernel
compiles once. Probabilities are 16-bit: ``p1`` in ``[P_MIN, P_MAX]`` is the probability (/65536)
that the bit is 1. The encoder writes base-256 digits and leaves carries in them (a digit may
exceed 255); writes past the buffer's end are dropped but counted, so an encoder learns the exact
size it needs. ``stream_bytes`` ends the stream with the fewest
bytes that pin the final interval down and turns the digits into bytes. The decoder reads zeros
past the end of its bytes, which is how the stream ends, so a stream never ends in a zero byte
(``ends_cleanly``). The coder itself checks nothing else: callers code a checksum of their data
as the last thing in a stream.

Bit models are rows ``(fast, slow, count)`` of an int32 table (``new_models``): two estimates of
the probability of a 1 that move towards each coded bit by 1/(count + 1.5) until that reaches
their floors of 2**-FAST_SHIFT and 2**-SLOW_SHIFT; a bit is coded under their mean.
"""

from __future__ import annotations

import numpy as np

from ..jit import inline_kernel, kernel

TOP = 1 << 24
MASK32 = 0xFFFFFFFF
HALF = 1 << 15
P_MIN, P_MAX = 32, 65536 - 32
FAST_SHIFT, SLOW_SHIFT = 6, 9
FAST_COUNT, SLOW_COUNT = 1 << FAST_SHIFT, 1 << SLOW_SHIFT
# STEP[n] = 65536 / (n + 1.5): how far a model that has seen n bits moves towards the next one.
STEP = np.array([(2 << 16) // (2 * n + 3) for n in range(SLOW_COUNT + 1)], np.int64)


def new_models(count: int) -> np.ndarray:
    """``count`` bit models, each at probability 1/2 with nothing seen."""
    models = np.zeros((count, 3), np.int32)
    models[:, :2] = HALF
    return models


def new_encoder() -> tuple[int, int, int]:
    return 0, MASK32, 0


def decoder_buffer(data: bytes) -> np.ndarray:
    """A stream's bytes as a digit buffer like the encoder's (uint16), so that one compiled
    kernel serves both ways."""
    return np.frombuffer(data, np.uint8).astype(np.uint16)


def new_decoder(buf: np.ndarray) -> tuple[int, int, int]:
    return int.from_bytes(bytes(int(b) for b in buf[:4]).ljust(4, b"\0"), "big"), MASK32, 4


@inline_kernel
def _settle(a, rng, pos, buf, decoding):
    """Propagate a carry (encoding) and shift whole bytes out of (in to) ``a`` until the range
    is at least TOP again."""
    last = len(buf) - 1
    if not decoding and a > MASK32:  # the carry goes into the last digit written
        a &= MASK32
        buf[min(pos - 1, last)] += 1
    while rng < TOP:
        if decoding:
            a = (a << 8) | (buf[pos] if pos <= last else 0)
        else:
            buf[min(pos, last)] = a >> 24
            a = (a << 8) & MASK32
        rng <<= 8
        pos += 1
    return a, rng, pos


@inline_kernel
def code_bit(coder, buf, p1, bit, decoding):
    """Code one bit under probability ``p1`` / 65536 of a 1; returns ``(bit, coder)``."""
    a, rng, pos = coder
    bound = (rng >> 16) * p1
    if decoding:
        bit = 1 if a < bound else 0
    if bit:
        rng = bound
    else:
        a += -bound if decoding else bound
        rng -= bound
    return bit, _settle(a, rng, pos, buf, decoding)


@inline_kernel
def code_modelled(coder, buf, models, i, bit, decoding):
    """Code one bit under bit model ``i`` and adapt the model; returns ``(bit, coder)``."""
    bit, coder = code_bit(coder, buf, (models[i, 0] + models[i, 1]) >> 1, bit, decoding)
    adapt_model(models, i, bit)
    return bit, coder


@inline_kernel
def adapt_model(models, i, bit):
    """Move bit model ``i``'s two estimates towards ``bit``."""
    n = models[i, 2]
    target = bit << 16
    fast = models[i, 0] + (((target - models[i, 0]) * STEP[min(n, FAST_COUNT)]) >> 16)
    slow = models[i, 1] + (((target - models[i, 1]) * STEP[min(n, SLOW_COUNT)]) >> 16)
    models[i, 0] = min(max(fast, P_MIN), P_MAX)
    models[i, 1] = min(max(slow, P_MIN), P_MAX)
    models[i, 2] = min(n + 1, SLOW_COUNT)


@inline_kernel
def code_raw(coder, buf, value, nbits, decoding):
    """Code the low ``nbits`` (at most 16) of ``value``, all values equally likely; returns
    ``(value, coder)``."""
    a, rng, pos = coder
    step = rng >> nbits
    if decoding:
        value = min(a // step, (1 << nbits) - 1)
        a -= value * step
    else:
        value &= (1 << nbits) - 1
        a += value * step
    return value, _settle(a, step, pos, buf, decoding)


@kernel
def _finish(coder, digits):
    """Write the top byte of the value in the final interval with the most zero bits below it
    (the decoder reads the zeros); returns the number of digits."""
    a, _, pos = coder
    a = (a + TOP - 1) & ~(TOP - 1)  # stays below low + range, as range >= TOP
    a, _, pos = _settle(a, TOP >> 8, pos, digits, False)
    return pos


@kernel
def _carry(digits, count, out):
    carry = 0
    for i in range(count - 1, -1, -1):
        v = digits[i] + carry
        out[i] = v & 0xFF
        carry = v >> 8


def stream_bytes(coder, digits: np.ndarray) -> bytes | int:
    """The finished stream, or the number of digits it needs when ``digits`` was too short."""
    count = _finish(coder, digits)
    if count > len(digits):
        return count
    out = np.zeros(count, np.uint8)
    _carry(digits, count, out)
    return out.tobytes().rstrip(b"\0")


def ends_cleanly(coder, data: np.ndarray) -> bool:
    """Whether a decoder that decoded its last bit used every byte of ``data``, which does not
    end in a zero byte (the zeros past the end are implied)."""
    return coder[2] >= len(data) and (len(data) == 0 or data[-1] != 0)
