"""The classical lossless coder, for images the flows do not suit (graphics, text, flat areas,
16-bit, odd sizes): ``encode_planes(x, bits)`` codes a (C, H, W) array of samples in
``[0, 2**bits)`` into one range-coded stream, ``decode_planes`` gives the array back. Every
probability comes from integer arithmetic, so a stream decodes the same on any machine.

Stream, all inside the range coder (``rangecoder``):

- for two or more channels, one bit: whether the pixels are coded as indices into the image's
  colours (at most ``PALETTE_MAX``: the count less one in 4 bits, the colours in increasing order,
  ``bits`` per sample, then the indices as one ``PALETTE`` plane);
- otherwise, for three or more channels, one bit: whether the first three are coded as
  G, R - G, B - G (``SUBTRACT_GREEN``, the differences offset by ``2**bits`` and one bit wider);
  then per plane one bit for its mode and the plane:
  - ``PREDICTIVE`` (``predictive``): each sample's residual from a weighted prediction;
  - ``PALETTE`` (``template``, planes of at most ``PALETTE_MAX`` values): the count less one
    (4 bits), the values in increasing order, then each sample's index;
- the CRC-32 of the samples (32 bits), checked after decoding; with the coder's own end checks
  (every byte used, no trailing zero byte), a corrupt or truncated stream raises FormatError
  (all but one in 2**32 of them; every single flipped bit or cut in the tests).

The encoder chooses by trying: a plane of few values is coded both ways, an image of few colours
both as colours and as planes; subtracting green is judged on a few rows.
"""

from __future__ import annotations

import zlib

import numpy as np

from ..errors import FormatError
from ..entropy import rangecoder as rc
from . import predictive, template

SUBTRACT_GREEN = 1
PREDICTIVE, PALETTE = 0, 1
PALETTE_MAX = 16


class _Planes:
    """Everything a stream's planes need while they are coded, one way or the other."""

    def __init__(self, img: np.ndarray, bits: int, transform: int):
        self.img = img
        channels, height, width = img.shape
        self.bits = [bits + 1 if transform == SUBTRACT_GREEN and 1 <= c <= 2 else bits
                     for c in range(channels)]
        self.te = np.zeros(img.shape, np.int32)
        self.idx = np.zeros(img.shape, np.int32)
        self.depths = [0] * channels  # palette index depth of each palette plane, else 0
        self.modes = [PREDICTIVE] * channels
        self.rows = np.zeros((predictive.N_PREDICTORS, 2, width), np.int32)

    def predictive_ref(self, c: int) -> int:
        """The colour plane before ``c`` among the first three, or -1."""
        return c - 1 if self.img.shape[0] >= 3 and 1 <= c <= 2 else -1

    def palette_ref(self, c: int) -> int:
        return c - 1 if c > 0 and self.modes[c - 1] == PALETTE else -1

    def code(self, coder, buf, c: int, mode: int, palette: np.ndarray | None, decoding: bool):
        """Code plane ``c``'s mode and samples (decoding: read them); returns the coder."""
        mode, coder = rc.code_raw(coder, buf, mode, 1, decoding)
        self.modes[c] = mode
        if mode == PALETTE:
            return self._code_palette(coder, buf, c, palette, decoding)
        return predictive.code_plane(coder, buf, self.img, self.te, c, self.predictive_ref(c), self.bits[c],
                                     self.rows, decoding)

    def _code_palette(self, coder, buf, c, palette, decoding):
        values, coder = _code_palette_values(coder, buf, None if decoding else palette[:, None], self.bits[c], decoding)
        values = values[:, 0]
        self.te[c] = 0
        self.depths[c] = (len(values) - 1).bit_length()
        if not decoding:
            self.idx[c] = np.searchsorted(values, self.img[c])
        ref = self.palette_ref(c)
        coder = template.code_indices(coder, buf, self.idx, c, ref, self.depths[ref] if ref >= 0 else 0, len(values),
                                      decoding)
        self.img[c] = values[self.idx[c]]
        return coder


def _code_palette_values(coder, buf, values: np.ndarray | None, bits: int, decoding: bool, channels: int = 1):
    """Code a palette: its size less one (4 bits), then its rows of ``channels`` values of
    ``bits`` bits, which must be distinct and in increasing order; returns ``(values, coder)``."""
    count, coder = rc.code_raw(coder, buf, 0 if decoding else len(values) - 1, 4, decoding)
    out = np.zeros((count + 1, channels), np.int64)
    for i in range(count + 1):
        for k in range(channels):
            out[i, k], coder = rc.code_raw(coder, buf, 0 if decoding else int(values[i, k]), bits, decoding)
    if len(np.unique(out, axis=0)) < len(out) or (np.lexsort(out.T[::-1]) != np.arange(len(out))).any():
        raise FormatError("corrupt classical stream: a palette is not in increasing order")
    return out, coder


def _subtract_green(x: np.ndarray, bits: int) -> np.ndarray:
    """(G, R - G + 2**bits, B - G + 2**bits, the rest) of int32 (C, H, W) samples."""
    img = x.copy()
    offset = 1 << bits
    img[0], img[1], img[2] = x[1], x[0] - x[1] + offset, x[2] - x[1] + offset
    return img


def _add_green(img: np.ndarray, bits: int) -> np.ndarray:
    """The inverse of ``_subtract_green``."""
    out = img.copy()
    offset = 1 << bits
    out[0], out[1], out[2] = img[1] + img[0] - offset, img[0], img[2] + img[0] - offset
    return out


def _choose_transform(img: np.ndarray, bits: int) -> int:
    """SUBTRACT_GREEN when it makes the first three planes cheaper, else 0: judged on 64 rows by
    the log-magnitude of their LOCO-I residuals."""
    channels, height, width = img.shape
    if channels < 3 or height < 2 or width < 2:
        return 0
    ys = np.arange(1, height, max(1, height // 64))
    rows = np.concatenate([img[:3, ys - 1], img[:3, ys]], axis=1)  # (3, 2 * len(ys), W)
    both = np.stack([rows, _subtract_green(rows, bits)])
    n, cur = both[:, :, :len(ys)], both[:, :, len(ys):]
    med = np.clip(n[..., 1:] + cur[..., :-1] - n[..., :-1], np.minimum(n[..., 1:], cur[..., :-1]),
                  np.maximum(n[..., 1:], cur[..., :-1]))
    cost = np.log2(1 + np.abs(cur[..., 1:] - med), dtype=np.float32).sum(axis=(1, 2, 3))
    return SUBTRACT_GREEN if cost[1] < cost[0] else 0


def _few_values(plane: np.ndarray) -> bool:
    """Whether a plane's first 4096 samples take at most PALETTE_MAX values (a quick test)."""
    return np.count_nonzero(np.bincount(plane.ravel()[:4096])) <= PALETTE_MAX


def _palette(plane: np.ndarray) -> np.ndarray | None:
    """The sorted distinct values of a plane when there are at most PALETTE_MAX, else None."""
    if not _few_values(plane):
        return None
    values = np.flatnonzero(np.bincount(plane.ravel()))
    return values if len(values) <= PALETTE_MAX else None


def _check_shape(channels: int, height: int, width: int, bits: int, error=ValueError) -> None:
    if not (1 <= channels <= 4 and height >= 1 and width >= 1 and 1 <= bits <= 16):
        raise error(f"classical coder: cannot code {channels}x{height}x{width} samples of {bits} bits")
    if channels * height * width >= 1 << 31:
        raise error(f"classical coder: {channels}x{height}x{width} samples are too many")


def _checksum(x: np.ndarray, bits: int) -> int:
    """CRC-32 of the samples in C order, as little-endian bytes of their output dtype."""
    return zlib.crc32(np.ascontiguousarray(x, "<u1" if bits <= 8 else "<u2").tobytes())


def _pixel_palette(x: np.ndarray):
    """(colours (n, C) in increasing order, indices (1, H, W)) when ``x`` has at most PALETTE_MAX
    distinct pixels, else None."""
    channels = x.shape[0]
    if not all(_few_values(plane) for plane in x):
        return None
    pixels = x.reshape(channels, -1).astype(np.uint64)
    keys = pixels[0]
    for c in range(1, channels):
        keys = (keys << np.uint64(16)) | pixels[c]
    if len(np.unique(keys[:4096])) > PALETTE_MAX:
        return None
    colours, inverse = np.unique(keys, return_inverse=True)
    if len(colours) > PALETTE_MAX:
        return None
    values = np.stack([(colours >> np.uint64(16 * (channels - 1 - c))) & np.uint64(0xFFFF)
                       for c in range(channels)], axis=1).astype(np.int64)
    return values, inverse.reshape((1,) + x.shape[1:]).astype(np.int32)


def _code_image(coder, buf, img: np.ndarray, bits: int, colours, decoding: bool):
    """Code the (C, H, W) int32 samples ``img`` (decoding: zeros, filled in), as indices into the
    image's ``colours`` (``_pixel_palette``) unless that is None, else as planes whose encodings
    the encoder chooses; returns ``(img, coder)``. Decoding raises FormatError on a corrupt
    stream."""
    channels = img.shape[0]
    as_colours = colours is not None
    if channels >= 2:
        as_colours, coder = rc.code_raw(coder, buf, as_colours, 1, decoding)
    if as_colours:
        values, idx = (None, np.zeros((1,) + img.shape[1:], np.int32)) if decoding else colours
        values, coder = _code_palette_values(coder, buf, values, bits, decoding, channels)
        coder = template.code_indices(coder, buf, idx, 0, -1, 0, len(values), decoding)
        img = np.ascontiguousarray(values[idx[0]].transpose(2, 0, 1), np.int32)
    else:
        transform = 0
        if channels >= 3:
            transform, coder = rc.code_raw(coder, buf, 0 if decoding else _choose_transform(img, bits), 1, decoding)
        planes = _Planes(_subtract_green(img, bits) if transform == SUBTRACT_GREEN else img, bits, transform)
        for c in range(channels):
            palette = None if decoding else _palette(planes.img[c])
            mode = 0 if decoding else _choose_mode(planes, c, palette)
            coder = planes.code(coder, buf, c, mode, palette, decoding)
        if decoding and transform == SUBTRACT_GREEN:
            img = _add_green(planes.img, bits)
    expected = 0 if decoding else _checksum(img, bits)
    high, coder = rc.code_raw(coder, buf, expected >> 16, 16, decoding)
    low, coder = rc.code_raw(coder, buf, expected & 0xFFFF, 16, decoding)
    if decoding and (not rc.ends_cleanly(coder, buf) or _checksum(img, bits) != (high << 16 | low)):
        raise FormatError("corrupt classical stream: its samples do not match its checksum")
    return img, coder


def _choose_mode(planes: _Planes, c: int, palette: np.ndarray | None) -> int:
    """PALETTE or PREDICTIVE for plane ``c``: a plane that may be a palette is coded both ways."""
    if palette is None:
        return PREDICTIVE
    sizes = {}
    for trial in (PALETTE, PREDICTIVE) if len(palette) > 1 else (PALETTE,):
        coder = planes.code(rc.new_encoder(), np.zeros(1024, np.uint16), c, trial, palette, False)
        sizes[trial] = coder[2]
    return min(sizes, key=sizes.get)


def encode_planes(x: np.ndarray, bits: int) -> bytes:
    """Code ``x`` (C, H, W) of integers in ``[0, 2**bits)`` into a self-checking stream."""
    channels, height, width = x.shape
    _check_shape(channels, height, width, bits)
    if int(x.min()) < 0 or int(x.max()) >> bits:
        raise ValueError(f"classical coder: a sample does not fit in {bits} bits")
    img = np.array(x, np.int32, order="C")
    streams = [_encode(img, bits, None)]
    colours = _pixel_palette(img) if channels >= 2 else None
    if colours is not None:  # indices into the image's few colours, when that is smaller
        streams.append(_encode(img, bits, colours))
    return min(streams, key=len)


def _encode(img: np.ndarray, bits: int, colours) -> bytes:
    capacity = img.size * (bits + 2) // 8 + 1024
    while True:  # once more, with the size the first try needed, if the buffer was too small
        digits = np.zeros(capacity, np.uint16)
        stream = rc.stream_bytes(_code_image(rc.new_encoder(), digits, img.copy(), bits, colours, False)[1], digits)
        if isinstance(stream, bytes):
            return stream
        capacity = stream


def decode_planes(data: bytes, channels: int, height: int, width: int, bits: int) -> np.ndarray:
    """The (C, H, W) samples of a stream from ``encode_planes``: uint8 up to 8 bits, else uint16."""
    _check_shape(channels, height, width, bits, FormatError)
    buf = rc.decoder_buffer(data)
    img, _ = _code_image(rc.new_decoder(buf), buf, np.zeros((channels, height, width), np.int32), bits, None, True)
    return img.astype(np.uint8 if bits <= 8 else np.uint16)
