"""The local prior's tile codec: every pixel of a batch of tiles coded directly under the
network's mixture, on flowzip's rANS stack (coder 2 of chunked files).

Order: the tiles' pixels go in wavefronts ``x + (horizon + 1) * y = t`` (within one, tile by
tile, top to bottom); every pixel of a wavefront has its whole causal window in earlier ones. The
decoder therefore runs the network once per wavefront on all its pixels (one batched matrix
product per layer), then pops them; the encoder knows every window, so it runs the network on
large bands of pixels and pushes them in reverse order. Both compute the same integers
(``network``), so the decoder finds the encoder's probabilities exactly.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..architecture.localprior import COEF_LIMIT, LOG_SCALE_RANGE, LocalPriorConfig
from ..entropy import tables
from ..entropy.rans import RansStack
from ..errors import FormatError, ModelError
from . import kernels
from .network import ExactLocalNet
from .tables import exp_table

BAND = 16384  # pixels per network pass when encoding
SAMPLE_EVERY = 8  # ``sampled_bits`` looks at one row in this many


@lru_cache(maxsize=16)
def wavefronts(batch: int, height: int, width: int, horizon: int) -> tuple[np.ndarray, ...]:
    """The coding order of ``batch`` tiles: (tile, y, x) of every pixel, and where each
    wavefront starts in it (plus the end)."""
    t_of = np.arange(width)[None, :] + (horizon + 1) * np.arange(height)[:, None]
    t = np.broadcast_to(t_of, (batch, height, width)).ravel()
    b, y, x = (a.ravel() for a in np.indices((batch, height, width)))
    order = np.lexsort((y, b, t))
    starts = np.searchsorted(t[order], np.arange(int(t_of.max()) + 2))
    return b[order], y[order], x[order], starts


class PriorNetworkCodec:
    """What the codecs that run a local prior's network share: the exact network, its tables and
    scratch, and the tiles they take (8-bit, on flowzip's rANS coder)."""

    bits_back = False  # only pushes: it can start a stack
    multiple = 1  # any tile size
    whole_pictures = True  # planned as the classical coder: pictures whole (or in large tiles), chunked files
    entropy_stacks = (RansStack,)  # it codes on flowzip's rANS coder only (coder 2 of chunked files)

    def __init__(self, loaded, device: str = "cpu"):
        """``loaded``: a model with ``config`` and ``weights``."""
        try:
            self.config = LocalPriorConfig(**loaded.config)
            self.net = ExactLocalNet(loaded.weights, self.config)
        except (TypeError, KeyError, ValueError) as e:
            raise ModelError(f"the local prior's weights or config do not fit ({e})") from None
        self.device = str(device)
        self.mixture = self.config.mixture
        self.limits = np.array([round(LOG_SCALE_RANGE[0] * 4096), round(LOG_SCALE_RANGE[1] * 4096),
                                round(COEF_LIMIT * 4096), round(tables.LOG_SCALE_MIN * 4096)], np.int64)

    def _scratch(self) -> dict[str, np.ndarray]:
        k, c = self.mixture, self.config.channels
        return dict(w=np.zeros(k, np.int64), means=np.zeros((c, k), np.int64), inv=np.zeros(k, np.int64),
                    vals=np.zeros(c, np.int64))

    def _buffers(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Room for the window pixels and outside flags of n pixels."""
        positions = len(self.net.offsets)
        return np.empty((n, self.config.channels * positions)), np.empty((n, positions))

    def _tables(self) -> tuple:
        return exp_table(), tables.scale_tables()[0], tables.cdf_table(), tables.INTERPOLATION_SHIFT

    def _check(self, coder, channels: int, bits: int) -> None:
        if not isinstance(coder, RansStack):
            raise FormatError("corrupt file: the local prior codes on flowzip's rANS coder only (coder 2 of chunked "
                              "files)")
        if bits != 8 or channels != self.config.channels:
            raise FormatError(f"the local prior codes 8-bit {self.config.channels}-channel tiles, "
                              f"not {bits}-bit {channels}-channel ones")



class LocalCodec(PriorNetworkCodec):
    """Encodes and decodes batches of equally sized (C, H, W) uint8 tiles with a local prior."""

    def push(self, coder, tiles: np.ndarray, estimate: bool = False, bits: int = 8, known=None) -> float | None:
        """Push a (B, C, H, W) uint8 batch onto a shared stack as one unit; returns its information
        content in bits when asked (what the stack grew by, to rounding). ``known`` (another coding
        of the tiles) is not used."""
        self._check(coder, tiles.shape[1], bits)
        tiles = np.ascontiguousarray(tiles, np.uint8)
        bs, ys, xs, _ = wavefronts(len(tiles), tiles.shape[2], tiles.shape[3], self.config.horizon)
        total = self._push_pixels(coder, tiles, bs, ys, xs)
        return total if estimate else None

    def sampled_bits(self, tiles: np.ndarray, every: int = SAMPLE_EVERY) -> float:
        """An estimate of ``push``'s bits for a (B, C, H, W) uint8 batch, from every ``every``-th
        row (each pixel under its exact probabilities, in its full causal window), scaled to all
        rows: a look at what coding would cost, at about 1/``every`` of its time."""
        self._check(RansStack(), tiles.shape[1], 8)
        tiles = np.ascontiguousarray(tiles, np.uint8)
        batch, _, height, width = tiles.shape
        rows = np.arange(every // 2, height, every) if height > every // 2 else np.arange(height)
        bs, ys, xs = (a.ravel() for a in np.meshgrid(np.arange(batch), rows, np.arange(width), indexing="ij"))
        return self._push_pixels(RansStack(), tiles, bs, ys, xs) * height / len(rows)  # on a scratch stack

    def _push_pixels(self, stack: RansStack, tiles: np.ndarray, bs, ys, xs) -> float:
        """Push the pixels (bs[i], ys[i], xs[i]) of ``tiles``, the last first (so that pops return
        them in order), the network run on bands of ``BAND`` pixels; returns their bits."""
        channels = tiles.shape[1]
        state, words, n_words = stack.kernel_state(len(ys) * channels)
        scratch, total, tables_ = self._scratch(), 0.0, self._tables()
        values, outside = self._buffers(min(BAND, len(ys)))
        for a in range(((len(ys) - 1) // BAND) * BAND, -1, -BAND):  # the last band first
            b = min(a + BAND, len(ys))
            kernels.gather_values(tiles, bs[a:b], ys[a:b], xs[a:b], self.net.offsets, values[: b - a], outside[: b - a])
            o = self.net(values[: b - a], outside[: b - a])
            total += kernels.encode_pixels(state, words, n_words, tiles, bs[a:b], ys[a:b], xs[a:b], o,
                                           self.mixture, *tables_, self.limits, scratch["w"], scratch["means"],
                                           scratch["inv"], scratch["vals"], np.zeros(channels, np.int64),
                                           np.zeros(channels, np.int64))
        return total

    def pop(self, coder, batch: int, channels: int, height: int, width: int, bits: int = 8) -> np.ndarray:
        """Inverse of ``push`` for a batch of the given shape."""
        self._check(coder, channels, bits)
        out = np.zeros((batch, channels, height, width), np.uint8)
        bs, ys, xs, starts = wavefronts(batch, height, width, self.config.horizon)
        state, words, n_words = coder.kernel_state(0)
        scratch, tables_ = self._scratch(), self._tables()
        scale = np.zeros(self.mixture)
        values, outside = self._buffers(int(np.diff(starts).max()))
        gather, decode = kernels.gather_values.typed_once(), kernels.decode_pixels.typed_once()  # a call a wavefront
        for a, b in zip(starts[:-1], starts[1:]):
            gather(out, bs[a:b], ys[a:b], xs[a:b], self.net.offsets, values[: b - a], outside[: b - a])
            o = self.net(values[: b - a], outside[: b - a])
            decode(state, words, n_words, out, bs[a:b], ys[a:b], xs[a:b], o, self.mixture, *tables_, self.limits,
                   scratch["w"], scratch["means"], scratch["inv"], scratch["vals"], scale)
        return out
