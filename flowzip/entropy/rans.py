"""flowzip's own ANS stack (coder 2 of chunked files): range ANS in compiled loops, coding
discretized logistics straight from the integer CDF table, with no probability rows built.

State: a 64-bit integer in [2**32, 2**64) plus a stack of 32-bit words. A symbol of frequency
``f`` and cumulative ``c`` out of ``2**PREC`` pushes as ``x -> (x // f) << PREC | (x % f) + c``,
after moving the low word of ``x`` to the stack when ``x`` would outgrow 64 bits; popping inverts
it exactly. Popping past the bottom of the stack reads zero words (bits-back coding starts on an
empty stack); a stack that holds only zero words and the initial state is empty.

Logistic windows are those of ``tables`` (a window of ``2R + 1`` values around the rounded
location, then an escape), with frequencies from the same int64 CDF interpolation: cumulative
``F(k)`` of the window's first ``k`` values, mapped to ``(F(k) * (2**PREC - n)) >> CDF_BITS + k``
so that every symbol has a frequency of at least 1 and the total is exactly ``2**PREC``. A decoder
finds its symbol by starting from the logistic's quantile (a float guess) and walking to the exact
integer boundaries, evaluating the CDF at two or three points: nothing is tabulated per location. An escaped value follows as its sign, its excess's bit length (5 bits)
and the excess's low bits, all raw bits.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import FlowzipError, FormatError
from . import tables
from ..jit import inline_kernel, kernel

CDF_BITS = tables.CDF_BITS

PREC = 24  # frequencies are out of 2**PREC; with 64-bit states and 32-bit words, every quotient
# x // f is at least 2**8, so rounding it costs next to nothing (at 31 bits: ~0.0007 bits a symbol)
RAW_BITS = 16  # raw bits go in pieces of at most this many
LOWER = np.uint64(1) << np.uint64(32)  # the state's lower bound
ESCAPE_BITS = 5  # an escaped excess has a bit length below 2**5
MAX_EXCESS = 1 << 30


@kernel
def _cdf(n, inv_scale, table, shift):
    """2**31 * sigmoid(n * 2**-FRAC_BITS / s) by table and linear interpolation (as ``tables._cdf``)."""
    pos = n * inv_scale + (table.shape[0] // 2 << shift)
    idx = pos >> shift
    last = table.shape[0] - 1
    if idx < 0:
        return np.int64(0)
    if idx >= last:
        return np.int64(1) << np.int64(CDF_BITS)
    lo = table[idx]
    return lo + (((table[idx + 1] - lo) * (pos & ((np.int64(1) << shift) - 1))) >> shift)


@kernel
def _bound_cdf(k, lower, mu_q, inv_scale, table, shift, frac):
    """The CDF (2**31 scale) at the lower boundary of the window's k-th value, ``lower + k``."""
    return _cdf(((lower + k) << frac) - (np.int64(1) << (frac - 1)) - mu_q, inv_scale, table, shift)


@kernel
def _cum(k, n, lower, mu_q, inv_scale, base, end, window_only, table, shift, frac):
    """Cumulative frequency (out of 2**PREC) of the first ``k`` of the ``n`` symbols of a window
    whose values start at ``lower``; ``base`` is the CDF below it and ``end`` (window only) the
    window's CDF mass."""
    if k == n:
        return np.int64(1) << np.int64(PREC)
    f = _bound_cdf(k, lower, mu_q, inv_scale, table, shift, frac) - base
    room = (np.int64(1) << np.int64(PREC)) - n
    if window_only:
        if end <= 0:
            return (room * k) // n + k
        return (f * room) // end + k
    return ((f * room) >> np.int64(CDF_BITS)) + k


@kernel
def _push(state, words, n_words, c, f):
    x = state[0]
    if (x >> np.uint64(64 - PREC)) >= np.uint64(f):
        words[n_words[0]] = np.uint32(x & np.uint64(0xFFFFFFFF))
        n_words[0] += 1
        x >>= np.uint64(32)
    state[0] = ((x // np.uint64(f)) << np.uint64(PREC)) + (x % np.uint64(f)) + np.uint64(c)


@kernel
def _slot(state):
    return np.int64(state[0] & ((np.uint64(1) << np.uint64(PREC)) - np.uint64(1)))


@kernel
def _pop(state, words, n_words, c, f):
    """Remove the symbol (c, f) whose range holds the state's slot."""
    x = state[0]
    x = np.uint64(f) * (x >> np.uint64(PREC)) + np.uint64(np.int64(x & ((np.uint64(1) << np.uint64(PREC)) - np.uint64(1))) - c)
    if x < (np.uint64(1) << np.uint64(32)):
        word = np.uint64(0)
        if n_words[0] > 0:
            n_words[0] -= 1
            word = np.uint64(words[n_words[0]])
        x = (x << np.uint64(32)) | word
    state[0] = x


push_symbol, slot, pop_symbol, logistic_cdf = _push, _slot, _pop, _cdf  # for other compiled coders


@kernel
def _push_raw(state, words, n_words, value, bits):
    _push(state, words, n_words, np.int64(value) << (PREC - bits), np.int64(1) << (PREC - bits))


@kernel
def _pop_raw(state, words, n_words, bits):
    value = _slot(state) >> (PREC - bits)
    _pop(state, words, n_words, value << (PREC - bits), np.int64(1) << (PREC - bits))
    return value


@kernel
def _push_bits(state, words, n_words, value, bits):
    """Push ``bits`` raw bits (at most 2 * RAW_BITS), high part first."""
    if bits > RAW_BITS:
        _push_raw(state, words, n_words, value >> RAW_BITS, bits - RAW_BITS)
        _push_raw(state, words, n_words, value & ((np.int64(1) << RAW_BITS) - 1), RAW_BITS)
    else:
        _push_raw(state, words, n_words, value, bits)


@kernel
def _pop_bits(state, words, n_words, bits):
    if bits > RAW_BITS:
        low = _pop_raw(state, words, n_words, RAW_BITS)
        return (_pop_raw(state, words, n_words, bits - RAW_BITS) << RAW_BITS) | low
    return _pop_raw(state, words, n_words, bits)


@inline_kernel
def _window(mu_q, j, escape, inv_scales, radii, table, shift, frac):
    """A value's coding window around its rounded location ``mu_q`` under scale index ``j``:
    (inverse scale, radius, centre, lowest value, symbols, CDF at its start, CDF span or 0 with
    an escape)."""
    inv_scale = inv_scales[j]
    radius = radii[j]
    center = (mu_q + (np.int64(1) << (frac - 1))) >> frac
    lower = center - radius
    n = 2 * radius + 1 + (1 if escape else 0)
    base = _bound_cdf(0, lower, mu_q, inv_scale, table, shift, frac)
    end = np.int64(0) if escape else _bound_cdf(2 * radius + 1, lower, mu_q, inv_scale, table, shift, frac) - base
    return inv_scale, radius, center, lower, n, base, end


@kernel
def _push_logistic(state, words, n_words, values, mu_q, j, escape, inv_scales, radii, table, shift, frac, excess_limit):
    """Push values[i] in reverse order (so that pops return them in order); returns the index of a
    value too far to code, or -1."""
    for i in range(values.shape[0] - 1, -1, -1):
        inv_scale, radius, center, lower, n, base, end = _window(mu_q[i], j[i], escape, inv_scales, radii, table,
                                                                 shift, frac)
        k = values[i] - lower
        if k < 0 or k > 2 * radius:
            if not escape:
                return i
            excess = abs(values[i] - center) - radius
            if excess >= excess_limit:
                return i
            nbits = 0
            while (np.int64(1) << (nbits + 1)) <= excess:
                nbits += 1
            if nbits > 0:
                _push_bits(state, words, n_words, excess - (np.int64(1) << nbits), nbits)
            _push_bits(state, words, n_words, nbits, ESCAPE_BITS)
            _push_bits(state, words, n_words, 1 if values[i] < center else 0, 1)
            k = 2 * radius + 1
        c = _cum(k, n, lower, mu_q[i], inv_scale, base, end, not escape, table, shift, frac)
        f = _cum(k + 1, n, lower, mu_q[i], inv_scale, base, end, not escape, table, shift, frac) - c
        _push(state, words, n_words, c, f)
    return -1


@kernel
def _guess(slot, base, end, escape, mu_q, scale, lower, n, frac):
    """A first guess of the symbol whose range holds ``slot``: the logistic's quantile in float.
    Only a starting point: the exact integer search around it decides."""
    cdf = base + ((slot << (CDF_BITS - PREC)) if escape else (slot * end) >> PREC)
    p = min(max(cdf / 2.0**CDF_BITS, 1e-12), 1.0 - 1e-12)
    k = mu_q / 2.0**frac + scale * math.log(p / (1.0 - p)) - lower + 0.5
    if not k > 0.0:  # also NaN
        return 0
    return min(int(k), n - 1)


@kernel
def _pop_logistic(state, words, n_words, out, mu_q, j, escape, inv_scales, radii, scales, table, shift, frac,
                  excess_limit):
    """Pop len(out) values; returns the index of an invalid escape, or -1."""
    for i in range(out.shape[0]):
        inv_scale, radius, center, lower, n, base, end = _window(mu_q[i], j[i], escape, inv_scales, radii, table,
                                                                 shift, frac)
        slot = _slot(state)
        lo = _guess(slot, base, end, escape, mu_q[i], scales[j[i]], lower, n, frac)
        c = _cum(lo, n, lower, mu_q[i], inv_scale, base, end, not escape, table, shift, frac)
        while c > slot:  # walk to the symbol k with cum(k) <= slot < cum(k + 1)
            lo -= 1
            c = _cum(lo, n, lower, mu_q[i], inv_scale, base, end, not escape, table, shift, frac)
        c_next = _cum(lo + 1, n, lower, mu_q[i], inv_scale, base, end, not escape, table, shift, frac)
        while c_next <= slot:
            lo += 1
            c = c_next
            c_next = _cum(lo + 1, n, lower, mu_q[i], inv_scale, base, end, not escape, table, shift, frac)
        f = c_next - c
        _pop(state, words, n_words, c, f)
        if lo <= 2 * radius:
            out[i] = lower + lo
            continue
        negative = _pop_bits(state, words, n_words, 1)
        nbits = _pop_bits(state, words, n_words, ESCAPE_BITS)
        excess = np.int64(1) << nbits
        if nbits > 0:
            excess += _pop_bits(state, words, n_words, nbits)
        if excess >= excess_limit:
            return i
        out[i] = center - radius - excess if negative else center + radius + excess
    return -1


@kernel
def _push_uniform(state, words, n_words, values, bits):
    for i in range(values.shape[0] - 1, -1, -1):
        if bits[i] > 0:
            _push_bits(state, words, n_words, values[i], bits[i])


@kernel
def _pop_uniform(state, words, n_words, out, bits):
    for i in range(out.shape[0]):
        out[i] = _pop_bits(state, words, n_words, bits[i]) if bits[i] > 0 else 0


class RansStack:
    """An ANS stack with the interface of ``ans.AnsStack``, plus ``push_logistic``/``pop_logistic``
    that code integers under the tables' discretized logistics directly."""

    __slots__ = ("_state", "_words", "_n")

    def __init__(self, words: np.ndarray | None = None, state: int | None = None):
        self._state = np.array([LOWER if state is None else state], np.uint64)
        self._words = np.zeros(1024, np.uint32) if words is None else np.ascontiguousarray(words, np.uint32).copy()
        self._n = np.array([0 if words is None else len(words)], np.int64)

    @classmethod
    def from_bytes(cls, data: bytes) -> "RansStack":
        if len(data) % 4 or len(data) < 8:
            raise FormatError("corrupt file: a coded stream is not a whole number of 32-bit words")
        words = np.frombuffer(data, dtype="<u4").astype(np.uint32)
        state = int(words[-2]) | int(words[-1]) << 32
        if state < int(LOWER):
            raise FormatError("corrupt file: a coded stream ends in an invalid state")
        return cls(words[:-2], state)

    def to_bytes(self) -> bytes:
        """The stack's words from the bottom (``_body``), then the state as two words."""
        return self._body() + int(self._state[0]).to_bytes(8, "little")

    def _body(self) -> bytes:
        """The stack's words from the bottom, zero words at the bottom left out: popping past the
        bottom reads zeros anyway."""
        words = self._words[: self._n[0]]
        nonzero = np.flatnonzero(words)
        return words[nonzero[0] if len(nonzero) else len(words):].astype("<u4").tobytes()

    def words(self) -> np.ndarray:
        """The whole state as words (the stack, then the state's two words)."""
        return np.frombuffer(self.to_bytes(), "<u4").copy()

    def num_bits(self) -> int:
        return 32 * int(self._n[0]) + int(self._state[0]).bit_length() - 1

    def is_empty(self) -> bool:
        return int(self._state[0]) == int(LOWER) and not self._words[: self._n[0]].any()

    def _room(self, symbols: int) -> None:
        """Make the word buffer hold ``symbols`` more words (each push moves out at most one)."""
        need = int(self._n[0]) + symbols
        if need > len(self._words):
            grown = np.zeros(max(need, 2 * len(self._words)), np.uint32)
            grown[: self._n[0]] = self._words[: self._n[0]]
            self._words = grown

    def kernel_state(self, symbols: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The state, word buffer and word count, for compiled coders that push or pop on this
        stack themselves (``push_symbol``, ``pop_symbol``, ``slot``), with room for ``symbols``
        more pushes."""
        self._room(symbols)
        return self._state, self._words, self._n

    def push_logistic(self, values: np.ndarray, mu_q: np.ndarray, j: np.ndarray, escape: bool = True) -> None:
        """Push int64 ``values`` under logistics with parameters from ``tables.quantize``; without
        ``escape`` the distribution is the window alone (values popped from it)."""
        values, mu_q, j = (np.ascontiguousarray(a, np.int64) for a in (values, mu_q, j))
        self._room(6 * len(values))
        inv, radius, _ = tables.scale_tables()
        bad = _push_logistic(self._state, self._words, self._n, values, mu_q, j, escape, inv, radius,
                             tables.cdf_table(), tables._SHIFT, tables.FRAC_BITS, MAX_EXCESS)
        if bad >= 0:
            if not escape:
                raise FormatError("corrupt file: a value lies outside its coding window")
            raise FlowzipError("this model cannot code the image: a latent lies too far from its prediction")

    def pop_logistic(self, mu_q: np.ndarray, j: np.ndarray, escape: bool = True) -> np.ndarray:
        out = np.empty(len(mu_q), np.int64)
        inv, radius, scales = tables.scale_tables()
        bad = _pop_logistic(self._state, self._words, self._n, out, np.ascontiguousarray(mu_q, np.int64),
                            np.ascontiguousarray(j, np.int64), escape, inv, radius, scales, tables.cdf_table(),
                            tables._SHIFT, tables.FRAC_BITS, MAX_EXCESS)
        if bad >= 0:
            raise FormatError("corrupt file: an escaped value is out of range")
        return out

    @staticmethod
    def _bits(sizes: np.ndarray) -> np.ndarray:
        sizes = np.asarray(sizes, np.int64)
        if len(sizes) > 16 and sizes[0] == sizes.min() == sizes.max():  # one size (a block of bytes): checked once
            one = RansStack._bits(sizes[:1])
            return np.full(len(sizes), one[0], one.dtype)
        bits = np.zeros(len(sizes), np.int64) if not len(sizes) else np.frexp(sizes.astype(np.float64))[1] - 1
        if len(sizes) and (((np.int64(1) << bits) != sizes).any() or bits.max() > 2 * RAW_BITS):
            raise ValueError(f"uniform symbols of this coder have power-of-two sizes up to 2**{2 * RAW_BITS}")
        return bits

    def push_uniform(self, values: np.ndarray, sizes: np.ndarray) -> None:
        """Push ``values[i]`` uniform in ``[0, sizes[i])``, sizes powers of two up to 2**32."""
        self._room(2 * len(values))
        _push_uniform(self._state, self._words, self._n, np.ascontiguousarray(values, np.int64), self._bits(sizes))

    def pop_uniform(self, sizes: np.ndarray) -> np.ndarray:
        out = np.empty(len(sizes), np.int64)
        _pop_uniform(self._state, self._words, self._n, out, self._bits(sizes))
        return out


class SealedStack(RansStack):
    """The stack of a chunk of a sealed file (versions 5 to 7): it starts from ``LOWER + seal`` (the
    CRC of the chunk's pixels) instead of ``LOWER``, so a decoder that pops everything holds the
    seal again, and its bytes end in the final state's significant bytes only (5 to 8; the byte
    count modulo 4 says how many). The header's 4 bytes of CRC (per image) and on average about
    1.6 of the final state's 8 bytes are spared."""

    __slots__ = ()

    def __init__(self, words: np.ndarray | None = None, state: int | None = None, seal: int = 0):
        super().__init__(words, int(LOWER) + seal if state is None else state)

    @classmethod
    def from_bytes(cls, data: bytes) -> "SealedStack":
        size = 5 + (len(data) - 1) % 4
        if len(data) < size:
            raise FormatError("corrupt file: the coded stream is too short")
        state = int.from_bytes(data[len(data) - size :], "little")
        if state >> 8 * (size - 1) == 0:  # written in its significant bytes: a leading zero is damage
            raise FormatError("corrupt file: a coded stream ends in an invalid state")
        return cls(np.frombuffer(data[: len(data) - size], dtype="<u4").astype(np.uint32), state)

    def to_bytes(self) -> bytes:
        state = int(self._state[0])
        return self._body() + state.to_bytes((state.bit_length() + 7) // 8, "little")  # at least 5: state >= 2**32

    def seal(self) -> int | None:
        """What the stack was started with, once everything is popped; None if anything is left."""
        state = int(self._state[0])
        if self._words[: self._n[0]].any() or not int(LOWER) <= state < 2 * int(LOWER):
            return None
        return state - int(LOWER)

    def is_empty(self) -> bool:
        return self.seal() is not None
