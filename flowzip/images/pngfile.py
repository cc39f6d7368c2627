"""PNG files read and written by flowzip itself, so that every PNG is kept exactly.

Kept: every colour type at every bit depth (gray 1/2/4/8/16, RGB 8/16, palette 1/2/4/8, gray+alpha
and RGBA 8/16), Adam7 interlacing (written back interlaced), the palette, and every ancillary chunk
byte for byte in its place (before PLTE, between PLTE and IDAT, after IDAT): tRNS, gAMA, cHRM,
sRGB, iCCP, sBIT, bKGD, pHYs, sPLT, hIST, tEXt, zTXt, iTXt, tIME, eXIf and unknown ones. Ancillary
chunks are kept, not interpreted, so a malformed one stays as it was. Only IDAT changes: the same
samples, filtered and compressed again, in IDAT chunks of 1 MiB (the padding bits that end a row of
1, 2 or 4-bit samples are written as zeros). A palette index beyond the palette is kept too.

Refused with a one-line ``ImageError``: animated PNGs (acTL, fcTL, fdAT), unknown critical chunks,
and damaged files: a bad signature, CRC, chunk length or type, truncation, bytes after IEND,
critical chunks out of order (IHDR first, one PLTE before the IDATs, consecutive IDATs, IEND last),
a PLTE in a gray image or none in a palette image, IHDR values PNG does not allow, more than
``MAX_PIXELS`` pixels, an IDAT zlib stream that is corrupt, truncated, inflates to more or fewer
bytes than IHDR declares or has data after it, unknown row filters, and a non-empty IEND.

For the compressor, ``to_planes`` gives the samples as planes (a palette image as its index plane,
mode L) and keeps the rest under metadata keys that start with ``png:`` (``png:palette``,
``png:interlaced``, ``png:chunks``), which writers of other formats skip: ``portable_metadata``
gives them the metadata without those keys, with the ICC profile, the Exif block, the XMP packet
and the resolution (pHYs) taken out of the chunks. ``from_planes`` puts a ``PngImage`` together
again, or makes a plain PNG (with iCCP, eXIf, pHYs, an XMP iTXt and a Comment tEXt from
``icc_profile``, ``exif``, ``resolution``, ``xmp`` and ``comment``) of planes that came from another
format.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from enum import IntEnum
from typing import NamedTuple

import numpy as np

from ..errors import ImageError
from . import resolution

SIGNATURE = b"\x89PNG\r\n\x1a\n"
GRAY, RGB, PALETTE, GRAY_ALPHA, RGBA = 0, 2, 3, 4, 6
DEPTHS = {GRAY: (1, 2, 4, 8, 16), RGB: (8, 16), PALETTE: (1, 2, 4, 8), GRAY_ALPHA: (8, 16), RGBA: (8, 16)}
MODES = {GRAY: "L", RGB: "RGB", PALETTE: "L", GRAY_ALPHA: "LA", RGBA: "RGBA"}
CHANNELS = {GRAY: 1, RGB: 3, PALETTE: 1, GRAY_ALPHA: 2, RGBA: 4}
ANIMATION_CHUNKS = (b"acTL", b"fcTL", b"fdAT")
ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
MAX_PIXELS = 2**28
MAX_CHUNK_LENGTH = 2**31 - 1
MAX_METADATA_BYTES = 2**28  # inflated chunk list or ICC profile
IDAT_LENGTH = 2**20  # bytes of each IDAT chunk written
SEGMENT = 2**21  # filtered bytes deflated apart (side by side with ``threads``), each primed with the 32 KiB before it

PNG_KEY_PREFIX = "png:"  # metadata only a PNG can hold: writers of other formats skip these keys
PALETTE_KEY, INTERLACE_KEY, CHUNKS_KEY = (PNG_KEY_PREFIX + name for name in ("palette", "interlaced", "chunks"))
# the keys of images.image (as Pillow names them): ICC profile, Exif block, XMP packet, comment
ICC_KEY, EXIF_KEY, XMP_KEY, COMMENT_KEY = "icc_profile", "exif", "xmp", "comment"
EXIF_PREFIX = b"Exif\x00\x00"
XMP_KEYWORD = b"XML:com.adobe.xmp"  # the iTXt chunk of an XMP packet
XMP_ITXT = XMP_KEYWORD + b"\x00\x00\x00\x00\x00"  # its keyword, uncompressed, no language or translation


class Place(IntEnum):
    """Where an ancillary chunk lies. Without a PLTE, the chunks before IDAT are BEFORE_IDAT."""

    BEFORE_PLTE = 0
    BEFORE_IDAT = 1
    AFTER_IDAT = 2


class Chunk(NamedTuple):
    type: str  # four ASCII letters, e.g. "tEXt"
    data: bytes
    place: Place


@dataclass
class PngImage:
    """A PNG's samples (H, W, C): uint8 up to 8 bits (a palette image's indices, 1, 2 and 4-bit
    samples unscaled), uint16 at 16; and everything else the file holds but IDAT."""

    samples: np.ndarray
    colour_type: int
    bit_depth: int
    interlaced: bool = False
    palette: bytes | None = None  # the data of PLTE
    chunks: list[Chunk] = field(default_factory=list)  # the ancillary chunks, in file order
    idat: bytes | None = field(default=None, compare=False, repr=False)  # the image data read (IDAT's zlib stream)


def _corrupt(what: str) -> ImageError:
    return ImageError(f"corrupt PNG: {what}")


def _split_chunks(data: bytes, start: int, crc: bool) -> tuple[list[tuple[bytes, bytes]], int]:
    """(type, data) of the chunks from ``start`` to IEND or the end of ``data``, and where they end.
    Chunks are length, type, data and (with ``crc``) a CRC, as in a PNG file."""
    out = []
    pos = start
    tail = 4 if crc else 0
    while pos < len(data) and (not out or out[-1][0] != b"IEND"):
        if len(data) - pos < 8 + tail:
            raise _corrupt("the file is truncated (in a chunk header)")
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        if not kind.isalpha():
            raise _corrupt(f"invalid chunk type {kind!r}")
        if length > MAX_CHUNK_LENGTH:
            raise _corrupt(f"{kind.decode()} chunk length {length} exceeds 2**31 - 1")
        end = pos + 8 + length
        if end + tail > len(data):
            raise _corrupt(f"the file is truncated (in a {kind.decode()} chunk)")
        body = data[pos + 8:end]
        if crc and int.from_bytes(data[end:end + 4], "big") != zlib.crc32(body, zlib.crc32(kind)):
            raise _corrupt(f"{kind.decode()} chunk has a bad CRC")
        out.append((kind, body))
        pos = end + tail
    return out, pos


def _place_chunks(pairs: list[tuple[bytes, bytes]]) -> tuple[bytes | None, list[bytes], list[Chunk]]:
    """The PLTE data, the IDAT datas and the ancillary chunks placed, of the chunks between IHDR
    and IEND, checking the order of the critical ones."""
    palette, idat, kept = None, [], []
    place = Place.BEFORE_PLTE if any(kind == b"PLTE" for kind, _ in pairs) else Place.BEFORE_IDAT
    for kind, body in pairs:
        if kind in ANIMATION_CHUNKS:
            raise ImageError("animated PNG: multi-frame images are not supported")
        if kind == b"PLTE":
            if palette is not None or idat:
                raise _corrupt("PLTE chunk out of place (a second one, or after IDAT)")
            palette, place = body, Place.BEFORE_IDAT
        elif kind == b"IDAT":
            if place == Place.AFTER_IDAT:
                raise _corrupt("IDAT chunks are not consecutive")
            idat.append(body)
        elif kind in (b"IHDR", b"IEND"):
            raise _corrupt(f"{kind.decode()} chunk out of place")
        elif kind[:1].isupper():
            raise ImageError(f"unknown critical chunk {kind.decode()}: flowzip cannot keep this PNG")
        else:
            place = Place.AFTER_IDAT if idat else place
            kept.append(Chunk(kind.decode(), body, place))
    if not idat:
        raise _corrupt("no IDAT chunk")
    return palette, idat, kept


def _check_palette(colour_type: int, palette: bytes | None) -> None:
    if colour_type == PALETTE and palette is None:
        raise _corrupt("a palette image without PLTE")
    if colour_type in (GRAY, GRAY_ALPHA) and palette is not None:
        raise _corrupt("PLTE in a gray image")
    if palette is not None and not (3 <= len(palette) <= 768 and len(palette) % 3 == 0):
        raise _corrupt(f"PLTE of {len(palette)} bytes (3 per entry, 1 to 256 entries)")


def _passes(height: int, width: int, interlaced: bool) -> list[tuple[slice, slice, int, int]]:
    """(rows, columns, height, width) of each non-empty pass (the whole image when not interlaced)."""
    if not interlaced:
        return [(slice(None), slice(None), height, width)]
    out = []
    for x0, y0, dx, dy in ADAM7:
        h, w = (height - y0 + dy - 1) // dy, (width - x0 + dx - 1) // dx
        if h > 0 and w > 0:
            out.append((slice(y0, None, dy), slice(x0, None, dx), h, w))
    return out


def _inflate(data: bytes, limit: int, what: str) -> bytes:
    """The whole zlib stream ``data`` inflated, refusing more than ``limit`` bytes."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit)
        if not inflater.eof and inflater.decompress(inflater.unconsumed_tail, 1):
            raise ImageError(f"{what} inflates to more than {limit} bytes")
    except zlib.error as e:
        raise ImageError(f"{what} is not a valid zlib stream ({e})") from None
    if not inflater.eof:
        raise ImageError(f"{what} is a truncated zlib stream")
    if inflater.unused_data:
        raise ImageError(f"{what} has data after its zlib stream")
    return out


def _rows():
    """PNG's row kernels (``classical.pngrows``), imported when rows are first coded, so that numba
    loads then and not when a command only reads headers."""
    from ..classical import pngrows

    return pngrows


def _decode_samples(raw: bytes, height: int, width: int, colour_type: int, depth: int,
                    interlaced: bool) -> np.ndarray:
    channels = CHANNELS[colour_type]
    samples = np.empty((height, width, channels), np.uint8 if depth <= 8 else np.uint16)
    pos, kernels = 0, _rows()
    for rows, cols, h, w in _passes(height, width, interlaced):
        row_bytes, bpp = kernels.row_layout(channels, w, depth)
        filtered = np.frombuffer(raw, np.uint8, h * (row_bytes + 1), pos).reshape(h, row_bytes + 1)
        pos += filtered.size
        unfiltered = np.empty((h, row_bytes), np.uint8)
        if not kernels.unfilter_rows(filtered, bpp, unfiltered):
            raise _corrupt("a row has an unknown filter type")
        samples[rows, cols] = _row_samples(unfiltered, channels, h, w, depth)
    return samples


def _row_samples(rows: np.ndarray, channels: int, height: int, width: int, depth: int) -> np.ndarray:
    """(H, W, C) samples of unfiltered rows: a view of them at 8 and 16 bits (no copy)."""
    if depth == 8:
        return rows.reshape(height, width, channels)
    if depth == 16:
        return rows.view(">u2").reshape(height, width, channels)
    return _rows().from_rows(rows, channels, height, width, depth).transpose(1, 2, 0)


def _raw_size(height: int, width: int, colour_type: int, depth: int, interlaced: bool) -> int:
    """Bytes of the inflated image data: each row of each pass, its filter byte first."""
    row_layout = _rows().row_layout
    return sum(h * (row_layout(CHANNELS[colour_type], w, depth)[0] + 1)
               for _, _, h, w in _passes(height, width, interlaced))


def _read_header(data: bytes) -> tuple[int, int, int, int, bool]:
    """(height, width, colour type, bit depth, interlaced) of IHDR's data."""
    if len(data) != 13:
        raise _corrupt(f"IHDR of {len(data)} bytes, not 13")
    width, height, depth, colour_type, compression, filtering, interlace = struct.unpack(">IIBBBBB", data)
    if not (1 <= width <= MAX_CHUNK_LENGTH and 1 <= height <= MAX_CHUNK_LENGTH):
        raise _corrupt(f"IHDR size {width}x{height}")
    if depth not in DEPTHS.get(colour_type, ()):
        raise _corrupt(f"IHDR colour type {colour_type} at bit depth {depth}")
    if compression or filtering or interlace > 1:
        raise _corrupt(f"IHDR compression {compression}, filter method {filtering}, interlace {interlace}")
    if width * height > MAX_PIXELS:
        raise ImageError(f"the PNG has {width}x{height} pixels, more than flowzip reads ({MAX_PIXELS})")
    return height, width, colour_type, depth, bool(interlace)


def read_png(data: bytes) -> PngImage:
    """The image of a PNG file, with every chunk it holds; an ``ImageError`` for what cannot be kept."""
    data = bytes(data)
    if not data.startswith(SIGNATURE):
        raise ImageError("not a PNG file (bad signature)")
    pairs, end = _split_chunks(data, len(SIGNATURE), crc=True)
    if not pairs:
        raise _corrupt("the file is truncated (no IHDR chunk)")
    if pairs[0][0] != b"IHDR":
        raise _corrupt("IHDR is not the first chunk")
    if pairs[-1][0] != b"IEND":
        raise _corrupt("the file is truncated (no IEND chunk)")
    if pairs[-1][1]:
        raise _corrupt("IEND chunk is not empty")
    if end != len(data):
        raise _corrupt(f"{len(data) - end} bytes after IEND")
    height, width, colour_type, depth, interlaced = _read_header(pairs[0][1])
    palette, idat, chunks = _place_chunks(pairs[1:-1])
    _check_palette(colour_type, palette)
    size = _raw_size(height, width, colour_type, depth, interlaced)
    raw = _inflate(b"".join(idat), size, "corrupt PNG: the image data (IDAT)")
    if len(raw) != size:
        raise _corrupt(f"the image data inflates to {len(raw)} bytes, IHDR declares {size}")
    samples = _decode_samples(raw, height, width, colour_type, depth, interlaced)
    return PngImage(samples, colour_type, depth, interlaced, palette, chunks, b"".join(idat))


def _encode_samples(image: PngImage) -> bytes:
    """The filtered rows of each pass. Palette and 1, 2, 4-bit rows are left unfiltered, as the PNG
    specification recommends; others take the filter of smallest sum of absolute bytes."""
    height, width, channels = image.samples.shape
    depth = image.bit_depth
    out, kernels = [], _rows()
    for rows, cols, h, w in _passes(height, width, image.interlaced):
        packed = kernels.to_rows(image.samples[rows, cols].transpose(2, 0, 1), depth)
        if image.colour_type == PALETTE or depth < 8:
            out.append(np.insert(packed, 0, 0, axis=1))
        else:
            out.append(kernels.filter_rows(packed, kernels.row_layout(channels, w, depth)[1]))
    return b"".join(rows.tobytes() for rows in out)


def _layout(image: PngImage, plte: bytes, idat: list[bytes]) -> list[tuple[bytes, bytes]]:
    """The chunks between IHDR and IEND in file order, with ``plte`` as the data of PLTE (when the
    image has a palette) and the IDAT datas ``idat``."""
    out = []
    for place in Place:
        if place == Place.BEFORE_IDAT and image.palette is not None:
            out.append((b"PLTE", plte))
        if place == Place.AFTER_IDAT:
            out += [(b"IDAT", part) for part in idat]
        out += [(c.type.encode("ascii", "replace"), c.data) for c in image.chunks if c.place == place]
    return out


def _check_image(image: PngImage) -> None:
    """An ``ImageError`` unless ``image`` is what ``read_png`` would give for some file."""
    colour_type, depth, samples = image.colour_type, image.bit_depth, image.samples
    if depth not in DEPTHS.get(colour_type, ()):
        raise ImageError(f"PNG has no colour type {colour_type} at bit depth {depth}")
    dtype = np.uint8 if depth <= 8 else np.uint16
    if not (isinstance(samples, np.ndarray) and samples.dtype == dtype and samples.ndim == 3
            and samples.shape[2] == CHANNELS[colour_type] and 1 <= min(samples.shape[:2])
            and max(samples.shape[:2]) <= MAX_CHUNK_LENGTH):
        raise ImageError(f"PNG colour type {colour_type} at {depth} bits needs (H, W, {CHANNELS[colour_type]}) "
                         f"{np.dtype(dtype).name} samples, not {getattr(samples, 'shape', None)} "
                         f"{getattr(samples, 'dtype', type(samples).__name__)}")
    if depth < 8 and int(samples.max()) >> depth:
        raise ImageError(f"a sample does not fit in {depth} bits")
    _check_palette(colour_type, image.palette)
    if not all(isinstance(c, Chunk) and isinstance(c.type, str) and len(c.type) == 4 and c.type.isascii()
               and c.type.isalpha() and len(c.data) <= MAX_CHUNK_LENGTH for c in image.chunks):
        raise ImageError("PNG chunks must be Chunk tuples of a type of four ASCII letters and at most 2**31 - 1 bytes")
    if _place_chunks(_layout(image, b"", [b""]))[2] != list(image.chunks):
        raise ImageError("PNG chunks out of place: ancillary chunks in file order, none before PLTE without one")


def _chunk_bytes(kind: bytes, data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(data, zlib.crc32(kind)).to_bytes(4, "big")


def _deflate_segment(data: memoryview, start: int, level: int) -> bytes:
    """Raw deflate of one ``SEGMENT`` of ``data``, its window primed with the bytes before it,
    ending on a byte boundary (a sync flush) unless it is the last."""
    window = data[max(0, start - 2**15):start]
    primed = {"zdict": window} if start else {}
    deflater = zlib.compressobj(level, zlib.DEFLATED, -15, **primed)
    end = start + SEGMENT
    return deflater.compress(data[start:end]) + deflater.flush(zlib.Z_FINISH if end >= len(data) else zlib.Z_SYNC_FLUSH)


def zlib_stream(data: bytes, level: int, threads: int = 1) -> bytes:
    """One zlib stream of ``data`` at ``level``, made of segments deflated apart on ``threads``
    threads (zlib lets go of the GIL), as pigz does; the bytes do not depend on ``threads``."""
    if len(data) <= SEGMENT:
        return zlib.compress(data, level)
    view, starts = memoryview(data), range(0, len(data), SEGMENT)
    if threads > 1:
        from concurrent.futures import ThreadPoolExecutor  # (and logging: imported only here)

        with ThreadPoolExecutor(threads) as pool:
            parts = list(pool.map(lambda start: _deflate_segment(view, start, level), starts))
    else:
        parts = [_deflate_segment(view, start, level) for start in starts]
    flags = b"\x01" if level < 2 else b"\x5e" if level < 6 else b"\x9c" if level == 6 else b"\xda"  # as zlib sets them
    return b"\x78" + flags + b"".join(parts) + zlib.adler32(data).to_bytes(4, "big")


def write_png(image: PngImage, compress_level: int = 9, threads: int = 1) -> bytes:
    """A PNG file of ``image``: its colour type, bit depth, interlacing, palette and chunks in their
    places; IDAT compressed anew with zlib at ``compress_level`` (0 to 9) on ``threads`` threads."""
    _check_image(image)
    height, width, _ = image.samples.shape
    header = struct.pack(">IIBBBBB", width, height, image.bit_depth, image.colour_type, 0, 0, int(image.interlaced))
    stream = zlib_stream(_encode_samples(image), compress_level, threads)
    idat = [stream[i:i + IDAT_LENGTH] for i in range(0, len(stream), IDAT_LENGTH)]
    chunks = [(b"IHDR", header)] + _layout(image, image.palette, idat) + [(b"IEND", b"")]
    return SIGNATURE + b"".join(_chunk_bytes(kind, data) for kind, data in chunks)


def to_planes(image: PngImage) -> tuple[np.ndarray, str, int, dict[str, bytes]]:
    """(planes (H, W, C), mode, bit depth, metadata) of ``image``: a palette image is its index
    plane (mode L) with ``png:palette`` (PLTE's data) in metadata; ``png:interlaced`` marks Adam7,
    and ``png:chunks`` holds the ancillary chunks and their places (a zlib-compressed chunk stream
    without CRCs, with empty PLTE and IDAT chunks where those lie)."""
    metadata = {}
    if image.palette is not None:
        metadata[PALETTE_KEY] = bytes(image.palette)
    if image.interlaced:
        metadata[INTERLACE_KEY] = b"\x01"
    if image.chunks:
        stream = b"".join(len(data).to_bytes(4, "big") + kind + data for kind, data in _layout(image, b"", [b""]))
        metadata[CHUNKS_KEY] = zlib.compress(stream, 9)
    return image.samples, MODES[image.colour_type], image.bit_depth, metadata


def _restored_chunks(metadata: dict[str, bytes], has_palette: bool) -> list[Chunk]:
    """The chunks of ``png:chunks``; without it, those ``plain_chunks`` makes of the metadata."""
    if CHUNKS_KEY in metadata:
        stream = _inflate(metadata[CHUNKS_KEY], MAX_METADATA_BYTES, "png:chunks")
        pairs, _ = _split_chunks(stream, 0, crc=False)
        return _place_chunks(pairs)[2]
    return plain_chunks(metadata, has_palette)


def plain_chunks(metadata: dict[str, bytes], has_palette: bool, after_palette=()) -> list[Chunk]:
    """The chunks of a PNG made of another format's picture: iCCP, eXIf and pHYs of its
    ``icc_profile``, ``exif`` and ``resolution`` (``images.resolution``), then ``after_palette``,
    (type, data) pairs such as tRNS and bKGD, after PLTE, then an iTXt of its ``xmp`` and a tEXt of
    its ``comment`` (cut at a NUL byte, which tEXt cannot hold)."""
    pairs = []
    if metadata.get(ICC_KEY):
        pairs.append((b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(metadata[ICC_KEY], 9)))
    if metadata.get(EXIF_KEY):
        exif = metadata[EXIF_KEY]
        pairs.append((b"eXIf", exif[len(EXIF_PREFIX):] if exif.startswith(EXIF_PREFIX) else exif))
    if metadata.get(resolution.KEY) and (phys := resolution.phys(metadata[resolution.KEY])) is not None:
        pairs.append((b"pHYs", phys))
    plte = [(b"PLTE", b"")] if has_palette else []
    text = [(b"iTXt", XMP_ITXT + metadata[XMP_KEY])] if metadata.get(XMP_KEY) else []
    comment = metadata.get(COMMENT_KEY, b"").partition(b"\x00")[0]
    text += [(b"tEXt", b"Comment\x00" + comment)] if comment else []
    return _place_chunks(pairs + plte + list(after_palette) + text + [(b"IDAT", b"")])[2]


def from_planes(planes: np.ndarray, mode: str, bit_depth: int, metadata: dict[str, bytes]) -> PngImage:
    """The ``PngImage`` that ``to_planes`` took apart. Planes of other images (no ``png:`` keys)
    make a plain PNG with the chunks of ``plain_chunks``. An ``ImageError`` when PNG cannot
    hold them or the metadata is damaged."""
    palette = bytes(metadata[PALETTE_KEY]) if PALETTE_KEY in metadata else None
    colour_type = {"L": GRAY if palette is None else PALETTE, "LA": GRAY_ALPHA, "RGB": RGB, "RGBA": RGBA}.get(mode)
    if colour_type is None:
        raise ImageError(f"PNG cannot hold mode {mode!r} images")
    if metadata.get(INTERLACE_KEY, b"\x01") != b"\x01":
        raise ImageError("cannot restore the PNG: png:interlaced is damaged")
    try:
        chunks = _restored_chunks(metadata, palette is not None)
    except ImageError as e:
        raise ImageError(f"cannot restore the PNG chunks: {e}") from None
    samples = np.asarray(planes)
    dtype = np.uint16 if bit_depth > 8 else np.uint8
    if samples.dtype.kind in "ui" and samples.size and 0 <= samples.min() and samples.max() <= np.iinfo(dtype).max:
        samples = samples.astype(dtype, copy=False)
    image = PngImage(samples, colour_type, bit_depth, INTERLACE_KEY in metadata, palette, chunks)
    _check_image(image)
    return image


def portable_metadata(metadata: dict[str, bytes]) -> dict[str, bytes]:
    """The metadata for writers of other formats: ``metadata`` without its ``png:`` keys, with the
    ICC profile of iCCP (inflated), the Exif block of eXIf (with Pillow's prefix), the XMP packet
    of iTXt (``_xmp_packet``) and the resolution of pHYs under the keys images.image uses."""
    out = {key: value for key, value in metadata.items() if not key.startswith(PNG_KEY_PREFIX)}
    if CHUNKS_KEY not in metadata:
        return out
    for chunk in _restored_chunks(metadata, PALETTE_KEY in metadata):
        if chunk.type == "iCCP":
            _, separator, profile = chunk.data.partition(b"\x00")
            if not separator or profile[:1] != b"\x00":
                raise ImageError("the ICC profile chunk (iCCP) is malformed")
            out[ICC_KEY] = _inflate(profile[1:], MAX_METADATA_BYTES, "the ICC profile (iCCP)")
        elif chunk.type == "eXIf":
            out[EXIF_KEY] = EXIF_PREFIX + chunk.data
        elif chunk.type == "iTXt" and (packet := _xmp_packet(chunk.data)) is not None:
            out[XMP_KEY] = packet
        elif chunk.type == "pHYs" and (density := resolution.from_phys(chunk.data)) is not None:
            out[resolution.KEY] = density
    return out


def _xmp_packet(itxt: bytes) -> bytes | None:
    """The XMP packet of an iTXt chunk's data (keyword, NUL, compression flag and method, language,
    NUL, translated keyword, NUL, text); None for another keyword, a malformed chunk or a packet
    that does not inflate (other formats then go without it; a PNG keeps the chunk as it is)."""
    keyword, _, rest = itxt.partition(b"\x00")
    if keyword != XMP_KEYWORD or rest[:2] not in (b"\x00\x00", b"\x01\x00"):
        return None
    compressed = rest[0] == 1
    _, language_end, rest = rest[2:].partition(b"\x00")
    _, translation_end, text = rest.partition(b"\x00")
    if not (language_end and translation_end):
        return None
    if not compressed:
        return text
    try:
        return _inflate(text, MAX_METADATA_BYTES, "the XMP packet (iTXt)")
    except ImageError:
        return None
