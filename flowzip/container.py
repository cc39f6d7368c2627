"""The .fz container: a compact, checked header followed by the coded tile streams.

Layout (all integers little-endian; "varint" is unsigned LEB128)::

    magic      3 bytes  b"FLZ"
    version    u8       1
    flags      u8       0 (reserved)
    height     varint   1 .. 2**20
    width      varint   1 .. 2**20
    mode       u8       0 L, 1 LA, 2 RGB, 3 RGBA
    bit depth  u8       8
    tile       varint   tile side in pixels (16 .. 1024, a multiple of 16)
    groups     u8       plane groups, each coded by one model:
      codec    u8         1 = integer discrete flow (IDF)
      model    u8 + utf8  registry name of the model
      weights  4 bytes    first bytes of the weights' SHA-256
      planes   u8 + u8*n  which channels of the image the group codes
    metadata   varint   count, then per entry: key (u8 + ascii), value (varint + bytes)
    pixel CRC  u32      CRC-32 of the decoded pixels (row-major H x W x C, uint8)
    lengths    varint   per group, per tile (row-major): bytes of that tile's ANS stream
    payload CRC u32     CRC-32 of the payload
    header CRC u32      CRC-32 of every byte above
    payload             the tile streams, in the same order

Every tile is coded into its own ANS stream, so tiles decode independently, in any batch size.

Version 2 ("stream" files) holds one image or an archive of several, coded into a single ANS
stream, which bits-back coding needs (see ``flowzip.stream`` for the coding order)::

    magic      3 bytes  b"FLZ"
    version    u8       2
    flags      u8       0 (reserved)
    tile       varint   tile side in pixels
    batch      varint   most tiles coded together (1 .. 256)
    models     u8       count, then per model: codec u8, name (u8 + utf8), weights 4 bytes
    seed       u8       index of the model that codes the first bits-back tile (255: none)
    table      varint + zlib    the image table, zlib-compressed (at most 2**28 bytes inflated):
      images     varint   count (1 .. 2**20), then per image:
        name       varint + utf8   file name (may be empty)
        height, width  varint
        mode, bit depth  u8, u8
        metadata   as in version 1
        pixel CRC  u32
        groups     u8, then per group: model index u8, planes (u8 + u8*n)
    length     varint   bytes of the stream
    payload CRC u32
    header CRC u32
    payload             the ANS stream
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass, field

from .errors import FormatError

MAGIC = b"FLZ"
VERSION = 1
STREAM_VERSION = 2
MODES = ("L", "LA", "RGB", "RGBA")
CODECS = {1: "idf", 2: "glow"}
MAX_IMAGES = 2**20
MAX_BATCH = 256
MAX_NAME = 4096
NO_SEED = 255
MAX_TABLE = 2**28  # bytes of a stream file's decompressed image table
MAX_SIDE = 2**20
MAX_PIXELS = 2**30
MIN_TILE, MAX_TILE = 16, 1024
MAX_METADATA = 2**26


@dataclass
class Group:
    codec: str
    model: str
    weights: bytes  # 4 bytes
    planes: list[int]


@dataclass
class Header:
    height: int
    width: int
    mode: str
    tile: int
    groups: list[Group]
    pixel_crc: int
    lengths: list[list[int]] = field(default_factory=list)  # [group][tile]
    metadata: dict[str, bytes] = field(default_factory=dict)
    bit_depth: int = 8

    @property
    def channels(self) -> int:
        return len(self.mode)

    @property
    def tile_grid(self) -> tuple[int, int]:
        return -(-self.height // self.tile), -(-self.width // self.tile)

    @property
    def num_tiles(self) -> int:
        rows, cols = self.tile_grid
        return rows * cols


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


class _Reader:
    def __init__(self, data: bytes):
        self.buf = io.BytesIO(data)

    def take(self, n: int) -> bytes:
        b = self.buf.read(n)
        if len(b) != n:
            raise FormatError("truncated file: the header ends early")
        return b

    def u8(self) -> int:
        return self.take(1)[0]

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "little")

    def varint(self, limit: int, what: str) -> int:
        n, shift = 0, 0
        while True:
            byte = self.u8()
            n |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
            if shift > 63:
                raise FormatError(f"corrupt file: {what} is not a valid number")
        if n > limit:
            raise FormatError(f"corrupt file: {what} {n} is out of range (at most {limit})")
        return n

    def text(self) -> str:
        try:
            return self.take(self.u8()).decode("utf-8")
        except UnicodeDecodeError:
            raise FormatError("corrupt file: a name is not valid text") from None


def _check_size(height: int, width: int) -> None:
    if not (1 <= height <= MAX_SIDE and 1 <= width <= MAX_SIDE):
        raise FormatError(f"corrupt file: image size {width}x{height} is out of range")


def _check_planes(groups: list[list[int]], channels: int) -> None:
    if sorted(p for planes in groups for p in planes) != list(range(channels)):
        raise FormatError("corrupt file: the plane groups do not cover the image's channels")


def _check_payload(data: bytes, start: int, length: int, payload_crc: int) -> None:
    """The payload must fill the rest of the file exactly and match its CRC."""
    if start + length != len(data):
        what = "truncated" if start + length > len(data) else "corrupt (extra bytes after the end)"
        raise FormatError(f"{what} file: payload size does not match the header")
    if zlib.crc32(data[start:]) != payload_crc:
        raise FormatError("corrupt file: payload checksum mismatch")


def _check(header: Header) -> None:
    _check_size(header.height, header.width)
    if header.height * header.width > MAX_PIXELS:
        raise FormatError("corrupt file: the image is larger than flowzip supports")
    if not (MIN_TILE <= header.tile <= MAX_TILE and header.tile % 16 == 0):
        raise FormatError(f"corrupt file: tile size {header.tile} is invalid")
    _check_planes([g.planes for g in header.groups], header.channels)


def pack(header: Header, payloads: list[list[bytes]]) -> bytes:
    """Header and per-group, per-tile payloads -> .fz bytes."""
    _check(header)
    out = bytearray(MAGIC)
    out += bytes([VERSION, 0])
    out += _varint(header.height) + _varint(header.width)
    out += bytes([MODES.index(header.mode), header.bit_depth])
    out += _varint(header.tile) + bytes([len(header.groups)])
    codec_ids = {name: k for k, name in CODECS.items()}
    for g in header.groups:
        name = g.model.encode("utf-8")
        out += bytes([codec_ids[g.codec], len(name)]) + name + g.weights[:4]
        out += bytes([len(g.planes), *g.planes])
    out += _metadata_bytes(header.metadata)
    out += header.pixel_crc.to_bytes(4, "little")
    payload = b"".join(p for group_payloads in payloads for p in group_payloads)
    for group_payloads in payloads:
        for p in group_payloads:
            out += _varint(len(p))
    out += zlib.crc32(payload).to_bytes(4, "little")
    out += zlib.crc32(out).to_bytes(4, "little")
    return bytes(out) + payload


def read_header(data: bytes) -> tuple[Header, int]:
    """Parse and check the header; returns it with the offset where payloads start.
    Raises ``FormatError`` for anything that is not a well-formed .fz file of a known version."""
    if version_of(data) != VERSION:
        raise FormatError("this is a stream (version 2) file, not a tiled one")
    r = _Reader(data)
    r.take(4)
    if r.u8() != 0:
        raise FormatError("corrupt file: unknown flags are set")
    height = r.varint(MAX_SIDE, "height")
    width = r.varint(MAX_SIDE, "width")
    mode_id, bit_depth = r.u8(), r.u8()
    if mode_id >= len(MODES) or bit_depth != 8:
        raise FormatError("corrupt file: unknown image mode or bit depth")
    tile = r.varint(MAX_TILE, "tile size")
    groups = []
    for _ in range(r.u8()):
        codec_id = r.u8()
        if codec_id not in CODECS:
            raise FormatError(f"corrupt file: unknown codec {codec_id}")
        model = r.text()
        weights = r.take(4)
        planes = list(r.take(r.u8()))
        groups.append(Group(CODECS[codec_id], model, weights, planes))
    metadata = _read_metadata(r)
    pixel_crc = r.u32()
    header = Header(height, width, MODES[mode_id], tile, groups, pixel_crc, [], metadata, bit_depth)
    _check(header)
    remaining = len(data) - r.buf.tell()
    if header.num_tiles * len(groups) * 5 + 8 > remaining:  # per tile a length byte and a 4-byte stream
        raise FormatError("truncated or corrupt file: too short for the image it declares")
    header.lengths = [[r.varint(remaining, "stream length") for _ in range(header.num_tiles)] for _ in groups]
    payload_crc = r.u32()
    end = r.buf.tell()
    if zlib.crc32(data[:end]) != r.u32():
        raise FormatError("corrupt file: header checksum mismatch")
    start = end + 4
    if any(n == 0 or n % 4 for ls in header.lengths for n in ls):
        raise FormatError("corrupt file: a coded stream has an invalid length")
    _check_payload(data, start, sum(sum(ls) for ls in header.lengths), payload_crc)
    return header, start


def split_payloads(data: bytes, header: Header, start: int) -> list[list[bytes]]:
    out, pos = [], start
    for lengths in header.lengths:
        group = []
        for n in lengths:
            group.append(data[pos : pos + n])
            pos += n
        out.append(group)
    return out


@dataclass
class Model:
    codec: str
    name: str
    weights: bytes  # 4 bytes


@dataclass
class Entry:
    """One image of a stream file; ``groups`` are (model index, planes)."""

    name: str
    height: int
    width: int
    mode: str
    pixel_crc: int
    groups: list[tuple[int, list[int]]]
    metadata: dict[str, bytes] = field(default_factory=dict)
    bit_depth: int = 8

    @property
    def channels(self) -> int:
        return len(self.mode)


@dataclass
class StreamHeader:
    tile: int
    batch: int
    models: list[Model]
    seed: int | None
    entries: list[Entry]


def version_of(data: bytes) -> int:
    if len(data) < 4 or data[:3] != MAGIC:
        raise FormatError("not a flowzip file (bad magic bytes)")
    if data[3] not in (VERSION, STREAM_VERSION):
        raise FormatError(f"unsupported .fz format version {data[3]} "
                          f"(this flowzip reads versions {VERSION} and {STREAM_VERSION})")
    return data[3]


def _metadata_bytes(metadata: dict[str, bytes]) -> bytes:
    out = bytearray(_varint(len(metadata)))
    for key, value in metadata.items():
        out += bytes([len(key)]) + key.encode("ascii") + _varint(len(value)) + value
    return bytes(out)


def _read_metadata(r: _Reader) -> dict[str, bytes]:
    metadata = {}
    for _ in range(r.varint(64, "metadata count")):
        key = r.take(r.u8())
        if not key.isascii():
            raise FormatError("corrupt file: a metadata key is not ASCII")
        metadata[key.decode("ascii")] = r.take(r.varint(MAX_METADATA, "metadata length"))
    return metadata


def _check_stream(header: StreamHeader) -> None:
    if not (MIN_TILE <= header.tile <= MAX_TILE and header.tile % 16 == 0):
        raise FormatError(f"corrupt file: tile size {header.tile} is invalid")
    if not 1 <= header.batch <= MAX_BATCH:
        raise FormatError(f"corrupt file: batch {header.batch} is invalid")
    if header.seed is not None and header.seed >= len(header.models):
        raise FormatError("corrupt file: the seed model does not exist")
    if not 1 <= len(header.entries) <= MAX_IMAGES:
        raise FormatError("corrupt file: bad image count")
    total = 0
    for e in header.entries:
        _check_size(e.height, e.width)
        total += e.height * e.width
        _check_planes([planes for _, planes in e.groups], e.channels)
        if any(m >= len(header.models) for m, _ in e.groups):
            raise FormatError("corrupt file: a plane group names a model that does not exist")
    if total > MAX_PIXELS:
        raise FormatError("corrupt file: the images are larger than flowzip supports")


def _inflate(packed: bytes) -> bytes:
    """The image table, refusing a damaged or oversized one before it can fill memory."""
    inflater = zlib.decompressobj()
    try:
        table = inflater.decompress(packed, MAX_TABLE)
    except zlib.error:
        raise FormatError("corrupt file: the image table does not decompress") from None
    if inflater.unconsumed_tail or not inflater.eof:
        raise FormatError("corrupt file: the image table is damaged or too large")
    return table


def pack_stream(header: StreamHeader, stream: bytes) -> bytes:
    """Stream header and the ANS stream -> .fz bytes (version 2)."""
    _check_stream(header)
    out = bytearray(MAGIC) + bytes([STREAM_VERSION, 0])
    out += _varint(header.tile) + _varint(header.batch) + bytes([len(header.models)])
    codec_ids = {name: k for k, name in CODECS.items()}
    for m in header.models:
        name = m.name.encode("utf-8")
        out += bytes([codec_ids[m.codec], len(name)]) + name + m.weights[:4]
    table = bytearray(_varint(len(header.entries)))
    for e in header.entries:
        name = e.name.encode("utf-8")
        table += _varint(len(name)) + name + _varint(e.height) + _varint(e.width)
        table += bytes([MODES.index(e.mode), e.bit_depth]) + _metadata_bytes(e.metadata)
        table += e.pixel_crc.to_bytes(4, "little") + bytes([len(e.groups)])
        for model, planes in e.groups:
            table += bytes([model, len(planes), *planes])
    table = zlib.compress(bytes(table), 9)  # names and sizes repeat: an archive's table shrinks a lot
    out += bytes([NO_SEED if header.seed is None else header.seed]) + _varint(len(table)) + table
    out += _varint(len(stream)) + zlib.crc32(stream).to_bytes(4, "little")
    out += zlib.crc32(out).to_bytes(4, "little")
    return bytes(out) + stream


def read_stream_header(data: bytes) -> tuple[StreamHeader, int]:
    """Parse and check a version 2 header; returns it with the offset of the stream."""
    if version_of(data) != STREAM_VERSION:
        raise FormatError("not a flowzip stream file")
    r = _Reader(data)
    r.take(4)
    if r.u8() != 0:
        raise FormatError("corrupt file: unknown flags are set")
    tile = r.varint(MAX_TILE, "tile size")
    batch = r.varint(MAX_BATCH, "batch")
    models = []
    for _ in range(r.u8()):
        codec_id = r.u8()
        if codec_id not in CODECS:
            raise FormatError(f"corrupt file: unknown codec {codec_id}")
        models.append(Model(CODECS[codec_id], r.text(), r.take(4)))
    seed = r.u8()
    packed = r.take(r.varint(len(data), "image table length"))
    r_main, r = r, _Reader(_inflate(packed))
    count = r.varint(MAX_IMAGES, "image count")
    if count * 12 > len(r.buf.getbuffer()):  # every image takes at least 12 bytes of the table
        raise FormatError("corrupt file: the image table is too short for the images it declares")
    entries = []
    for _ in range(count):
        try:
            name = r.take(r.varint(MAX_NAME, "name length")).decode("utf-8")
        except UnicodeDecodeError:
            raise FormatError("corrupt file: an image name is not valid text") from None
        height, width = r.varint(MAX_SIDE, "height"), r.varint(MAX_SIDE, "width")
        mode_id, bit_depth = r.u8(), r.u8()
        if mode_id >= len(MODES) or bit_depth != 8:
            raise FormatError("corrupt file: unknown image mode or bit depth")
        metadata = _read_metadata(r)
        pixel_crc = r.u32()
        groups = [(r.u8(), list(r.take(r.u8()))) for _ in range(r.u8())]
        entries.append(Entry(name, height, width, MODES[mode_id], pixel_crc, groups, metadata, bit_depth))
    if r.buf.tell() != len(r.buf.getbuffer()):
        raise FormatError("corrupt file: the image table has bytes left over")
    r = r_main
    header = StreamHeader(tile, batch, models, None if seed == NO_SEED else seed, entries)
    _check_stream(header)
    length = r.varint(len(data), "stream length")
    payload_crc = r.u32()
    end = r.buf.tell()
    if zlib.crc32(data[:end]) != r.u32():
        raise FormatError("corrupt file: header checksum mismatch")
    start = end + 4
    if length % 4:
        raise FormatError("corrupt file: the coded stream has an invalid length")
    _check_payload(data, start, length, payload_crc)
    return header, start
