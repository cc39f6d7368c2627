"""The .fz container: a checked header (``Header``) and the coded payload; docs/FORMAT.md.

The layouts share one ``Header`` (a table of models and a list of images, ``Entry``):

* version 1, **tiled**: one image; every tile of every plane group has an ANS stream of its own,
  whose byte lengths the header lists (``Header.lengths``);
* version 2, **stacked**: one image or an archive of many, coded into a single ANS stream (which
  bits-back coding needs), with a zlib-compressed table of the images;
* version 3, **chunked**: images coded into independent stacks (``Chunk``), each holding ranges
  of tiles of some images and its own seed, with its own length and CRC: one image decodes by
  decoding its chunks only, chunks code in parallel, and a damaged chunk loses only its images;
* version 4, **compact**: a chunked file of one small picture coded whole (``fits_compact``) in
  about 16 bytes of header instead of 65 (0.13 bpd less on a 32x32 colour thumbnail).
  Its models are named by their weights' hash alone, and the pixel CRC checks it (metadata have
  a CRC of their own);
* version 5, **sealed**: the compact layout without the pixel CRC, which seals the coder's stack
  instead (``rans.SealedStack``: about 5.6 bytes less a file, 0.015 bpd on a 32x32 colour
  thumbnail);
* version 6, **numbered**: the sealed layout naming a shipped model by its number
  (``NUMBERED_MODELS``, one byte) instead of its 4-byte weights id (0.008 bpd on a thumbnail);
* version 7, **sealed chunks**: the chunked layout whose image table holds no pixel CRCs: each
  chunk's stack is sealed with the CRC of its tiles' pixels instead (about 5 bytes less an image,
  0.013 bpd on an archive of 32x32 colour thumbnails).

``parse`` reads the version once and dispatches; ``pack`` is its inverse, and writes a chunked
header that fits the compact layout in it. Every declared size is bounded before anything is
allocated; every CRC is checked. Model families are stored as their
numeric id; ``flowzip.families`` says what each id is.
"""

from __future__ import annotations

import zlib

from ..errors import FormatError
from .header import (CHUNKED, CODERS, COMPACT, COMPACT_BATCH, COMPACT_CODER, COMPACT_FAMILIES, COMPACT_PIXELS,
                     COMPACT_TILE, COMPACT_VERSIONS, MAGIC, MAX_BATCH, MAX_BIT_DEPTH, MAX_CHUNKS, MAX_IMAGE_TILE,
                     MAX_IMAGES, MAX_LENGTH, MAX_METADATA, MAX_NAME, MAX_PIXELS, MAX_SIDE, MAX_TABLE, MAX_TILE,
                     MIN_TILE, MODEL_NUMBERS, MODES, NO_SEED, NUMBERED, NUMBERED_MODELS, RANS_CODER, RAW_HEADER,
                     SEALED, SEALED_CHUNKS, SEALED_VERSIONS, STACKED, TILED, VERSIONS, Chunk, Entry, Header,
                     ModelRef, Reader, metadata_bytes, model_bytes, num_tiles, varint)

__all__ = ["CHUNKED", "CODERS", "COMPACT", "COMPACT_VERSIONS", "MAGIC", "MAX_BATCH", "MAX_BIT_DEPTH", "MAX_CHUNKS",
           "MAX_IMAGE_TILE", "MAX_IMAGES", "MAX_METADATA", "MAX_NAME", "MAX_PIXELS", "MAX_SIDE", "MAX_TABLE",
           "MAX_TILE", "MIN_TILE", "MODES", "NO_SEED", "NUMBERED", "RANS_CODER", "RAW_HEADER", "SEALED",
           "SEALED_CHUNKS", "SEALED_VERSIONS", "STACKED", "TILED", "VERSIONS", "Chunk", "Entry", "Header", "ModelRef",
           "check_chunk", "chunk_payloads", "fits_compact", "holders", "num_tiles", "pack", "parse", "version_of"]


def version_of(data: bytes) -> int:
    if len(data) < 4 or data[:3] != MAGIC:
        raise FormatError("not a flowzip file (bad magic bytes)")
    if data[3] not in VERSIONS:
        raise FormatError(f"unsupported .fz format version {data[3]} "
                          f"(this flowzip reads versions {', '.join(map(str, VERSIONS))})")
    return data[3]


def _check(header: Header) -> None:
    if not (MIN_TILE <= header.tile <= MAX_TILE and header.tile % 16 == 0):
        raise FormatError(f"corrupt file: tile size {header.tile} is invalid")
    if header.version != TILED:
        if not 1 <= header.batch <= MAX_BATCH:
            raise FormatError(f"corrupt file: batch {header.batch} is invalid")
        seeds = [c.seed for c in header.chunks] if header.chunked else [header.seed]
        if any(seed is not None and seed >= len(header.models) for seed in seeds):
            raise FormatError("corrupt file: the seed model does not exist")
    if not 1 <= len(header.entries) <= MAX_IMAGES:
        raise FormatError("corrupt file: bad image count")
    total = 0
    for e in header.entries:
        if not (1 <= e.height <= MAX_SIDE and 1 <= e.width <= MAX_SIDE):
            raise FormatError(f"corrupt file: image size {e.width}x{e.height} is out of range")
        total += e.height * e.width
        if sorted(p for _, planes in e.groups for p in planes) != list(range(e.channels)):
            raise FormatError("corrupt file: the plane groups do not cover the image's channels")
        if any(m >= len(header.models) for m, _ in e.groups):
            raise FormatError("corrupt file: a plane group names a model that does not exist")
        if e.tile and not (MIN_TILE <= e.tile <= MAX_IMAGE_TILE and e.tile % 16 == 0):
            raise FormatError(f"corrupt file: tile size {e.tile} is invalid")
        tiles = num_tiles(e.height, e.width, header.tile_of(e))
        for g, models in e.tile_models.items():
            if g >= len(e.groups) or len(models) != tiles or any(m >= len(header.models) for m in models):
                raise FormatError("corrupt file: the models of a plane group's tiles are invalid")
    if total > MAX_PIXELS:
        raise FormatError("corrupt file: the image is larger than flowzip supports")
    if header.chunked:
        _check_chunks(header)


def _check_chunks(header: Header) -> None:
    """Every tile of every image lies in exactly one chunk, in order."""
    if header.coder not in CODERS:
        raise FormatError(f"unsupported coder {header.coder} (this flowzip reads coders "
                          f"{', '.join(map(str, CODERS))})")
    if not 1 <= len(header.chunks) <= MAX_CHUNKS:
        raise FormatError("corrupt file: bad chunk count")
    expect = [0] * len(header.entries)
    for chunk in header.chunks:
        if not chunk.units:
            raise FormatError("corrupt file: an empty chunk")
        for image, first, count in chunk.units:
            if image >= len(header.entries) or first != expect[image] or count < 1:
                raise FormatError("corrupt file: the chunks do not cover the images' tiles in order")
            expect[image] += count
    for e, n in zip(header.entries, expect):
        if n != num_tiles(e.height, e.width, header.tile_of(e)):
            raise FormatError("corrupt file: the chunks do not cover the images' tiles")


def _check_payload(data: bytes, start: int, length: int, payload_crc: int) -> None:
    """The payload must fill the rest of the file exactly and match its CRC."""
    if start + length != len(data):
        what = "truncated" if start + length > len(data) else "corrupt (extra bytes after the end)"
        raise FormatError(f"{what} file: payload size does not match the header")
    if zlib.crc32(data[start:]) != payload_crc:
        raise FormatError("corrupt file: payload checksum mismatch")


def pack(header: Header, payload: bytes) -> bytes:
    """Header and payload -> .fz bytes (the layout ``header.version`` names; a chunked header that
    ``fits_compact`` in the compact layout)."""
    _check(header)
    if header.version in (CHUNKED, *COMPACT_VERSIONS) and fits_compact(header):
        return _pack_compact(header) + payload
    if header.version in COMPACT_VERSIONS:
        raise FormatError("this file does not fit the compact layout")
    packer = {TILED: _pack_tiled, STACKED: _pack_stacked, CHUNKED: _pack_chunked, SEALED_CHUNKS: _pack_chunked}
    out = packer[header.version](header, payload)
    out += zlib.crc32(out).to_bytes(4, "little")
    return bytes(out) + payload


def parse(data: bytes) -> tuple[Header, int]:
    """Parse and check the header of .fz bytes; returns it with the offset of the payload.
    Raises ``FormatError`` for anything that is not a well-formed .fz file of a known version."""
    version = version_of(data)
    r = Reader(data)
    r.take(4)
    if version in COMPACT_VERSIONS:
        return _parse_compact(data, r, version)
    flags = r.u8()
    chunked = version in (CHUNKED, SEALED_CHUNKS)
    if flags & ~(RAW_HEADER if chunked else 0):
        raise FormatError("corrupt file: unknown flags are set")
    if chunked:
        return _parse_chunked(data, r, version, raw=bool(flags & RAW_HEADER))
    return (_parse_tiled if version == TILED else _parse_stacked)(data, r)


# --- version 1: tiled ------------------------------------------------------------------------

def _pack_tiled(header: Header, payload: bytes) -> bytearray:
    (e,) = header.entries
    out = bytearray(MAGIC) + bytes([TILED, 0])
    out += varint(e.height) + varint(e.width) + bytes([MODES.index(e.mode), e.bit_depth])
    out += varint(header.tile) + bytes([len(e.groups)])
    for m, planes in e.groups:
        out += model_bytes(header.models[m]) + bytes([len(planes), *planes])
    out += metadata_bytes(e.metadata) + e.pixel_crc.to_bytes(4, "little")
    for lengths in header.lengths:
        for n in lengths:
            out += varint(n)
    return out + zlib.crc32(payload).to_bytes(4, "little")


def _parse_tiled(data: bytes, r: Reader) -> tuple[Header, int]:
    height = r.varint(MAX_SIDE, "height")
    width = r.varint(MAX_SIDE, "width")
    mode, bit_depth = r.mode_and_depth()
    tile = r.varint(MAX_TILE, "tile size")
    models: list[ModelRef] = []
    groups = []
    for _ in range(r.u8()):
        model = r.model()
        if model not in models:
            models.append(model)
        groups.append((models.index(model), list(r.take(r.u8()))))
    metadata = r.metadata()
    entry = Entry("", height, width, mode, r.u32(), groups, metadata, bit_depth)
    header = Header(TILED, tile, models, [entry])
    _check(header)
    remaining = len(data) - r.tell()
    tiles = num_tiles(height, width, tile)
    if tiles * len(groups) * 5 + 8 > remaining:  # per tile a length byte and a 4-byte stream
        raise FormatError("truncated or corrupt file: too short for the image it declares")
    header.lengths = [[r.varint(remaining, "stream length") for _ in range(tiles)] for _ in groups]
    payload_crc = r.u32()
    start = r.header_crc(data)
    if any(n == 0 or n % 4 for ls in header.lengths for n in ls):
        raise FormatError("corrupt file: a coded stream has an invalid length")
    _check_payload(data, start, sum(sum(ls) for ls in header.lengths), payload_crc)
    return header, start


# --- version 2: stacked ----------------------------------------------------------------------

def _pack_stacked(header: Header, payload: bytes) -> bytearray:
    out = bytearray(MAGIC) + bytes([STACKED, 0])
    out += varint(header.tile) + varint(header.batch) + bytes([len(header.models)])
    for m in header.models:
        out += model_bytes(m)
    table = zlib.compress(_entries_bytes(header.entries), 9)  # names and sizes repeat: it shrinks a lot
    out += bytes([NO_SEED if header.seed is None else header.seed]) + varint(len(table)) + table
    return out + varint(len(payload)) + zlib.crc32(payload).to_bytes(4, "little")


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


def _entries_bytes(entries: list[Entry], chunked: bool = False, sealed: bool = False) -> bytearray:
    """The image table; ``sealed``: without the pixel CRCs (version 7)."""
    table = bytearray(varint(len(entries)))
    for e in entries:
        name = e.name.encode("utf-8")
        table += varint(len(name)) + name + varint(e.height) + varint(e.width)
        table += bytes([MODES.index(e.mode), e.bit_depth]) + metadata_bytes(e.metadata)
        table += (b"" if sealed else e.pixel_crc.to_bytes(4, "little")) + bytes([len(e.groups)])
        for g, (model, planes) in enumerate(e.groups):
            table += bytes([model, len(planes), *planes])
            if chunked:
                tile_models = e.tile_models.get(g, [])
                table += varint(len(tile_models)) + bytes(tile_models)
        if chunked:
            table += varint(e.tile)
    return table


def _read_entries(r: Reader, size: int, chunked: bool = False, sealed: bool = False) -> list[Entry]:
    """The image table, read from ``r`` (whose data is ``size`` bytes); ``sealed``: without the
    pixel CRCs (version 7)."""
    count = r.varint(MAX_IMAGES, "image count")
    if count * (8 if sealed else 12) > size:  # every image takes at least 12 bytes of the table (8 sealed)
        raise FormatError("corrupt file: the image table is too short for the images it declares")
    entries = []
    for _ in range(count):
        try:
            name = r.take(r.varint(MAX_NAME, "name length")).decode("utf-8")
        except UnicodeDecodeError:
            raise FormatError("corrupt file: an image name is not valid text") from None
        height, width = r.varint(MAX_SIDE, "height"), r.varint(MAX_SIDE, "width")
        mode, bit_depth = r.mode_and_depth(MAX_BIT_DEPTH if chunked else 8)
        metadata = r.metadata()
        pixel_crc = None if sealed else r.u32()
        groups, tile_models = [], {}
        for g in range(r.u8()):
            groups.append((r.u8(), list(r.take(r.u8()))))
            if chunked:
                n = r.varint(num_tiles(height, width, MIN_TILE), "tile count")
                if n:
                    tile_models[g] = list(r.take(n))
        tile = r.varint(MAX_IMAGE_TILE, "tile size") if chunked else 0
        entries.append(Entry(name, height, width, mode, pixel_crc, groups, metadata, bit_depth, tile_models, tile))
    return entries


def _parse_entries(table: bytes) -> list[Entry]:
    r = Reader(table)
    entries = _read_entries(r, len(table))
    if r.tell() != len(table):
        raise FormatError("corrupt file: the image table has bytes left over")
    return entries


def _parse_stacked(data: bytes, r: Reader) -> tuple[Header, int]:
    tile = r.varint(MAX_TILE, "tile size")
    batch = r.varint(MAX_BATCH, "batch")
    models = [r.model() for _ in range(r.u8())]
    seed = r.u8()
    entries = _parse_entries(_inflate(r.take(r.varint(MAX_LENGTH, "image table length"))))
    header = Header(STACKED, tile, models, entries, batch, None if seed == NO_SEED else seed)
    _check(header)
    length = r.varint(MAX_LENGTH, "stream length")
    payload_crc = r.u32()
    start = r.header_crc(data)
    if length % 4:
        raise FormatError("corrupt file: the coded stream has an invalid length")
    _check_payload(data, start, length, payload_crc)
    return header, start


# --- versions 3 and 7: chunked ---------------------------------------------------------------

def _pack_chunked(header: Header, payload: bytes) -> bytearray:
    body = bytearray([header.coder]) + varint(header.tile) + varint(header.batch)
    body += bytes([len(header.models)])
    for m in header.models:
        body += model_bytes(m) + varint(len(m.adapter)) + m.adapter
    body += _entries_bytes(header.entries, chunked=True, sealed=header.version == SEALED_CHUNKS)
    body += varint(len(header.chunks))
    previous = 0  # a unit's image is stored as the change from the previous unit's (zigzag): it compresses
    for c in header.chunks:
        body += bytes([NO_SEED if c.seed is None else c.seed]) + varint(len(c.units))
        for image, first, count in c.units:
            step = image - previous
            body += varint(2 * step if step >= 0 else -2 * step - 1) + varint(first) + varint(count)
            previous = image
        body += varint(c.length) + c.crc.to_bytes(4, "little")
    packed = zlib.compress(bytes(body), 9)
    raw = len(body) <= len(packed)  # small headers are smaller as they are
    stored = bytes(body) if raw else packed
    return bytearray(MAGIC) + bytes([header.version, RAW_HEADER if raw else 0]) + varint(len(stored)) + stored


def _parse_chunked(data: bytes, r: Reader, version: int, raw: bool = False) -> tuple[Header, int]:
    packed = r.take(r.varint(MAX_LENGTH, "header length"))
    start = r.header_crc(data)  # before inflating: a damaged header is refused cheaply
    body = bytes(packed) if raw else _inflate(packed)
    b = Reader(body)
    coder = b.u8()
    if version == SEALED_CHUNKS and coder != RANS_CODER:
        raise FormatError(f"corrupt file: sealed chunks are coded by coder {RANS_CODER}, not {coder}")
    tile = b.varint(MAX_TILE, "tile size")
    batch = b.varint(MAX_BATCH, "batch")
    models = [b.model(adapter=True) for _ in range(b.u8())]
    entries = _read_entries(b, len(body), chunked=True, sealed=version == SEALED_CHUNKS)
    chunks, image = [], 0
    for _ in range(b.varint(MAX_CHUNKS, "chunk count")):
        seed = b.u8()
        units = []
        for _ in range(b.varint(MAX_PIXELS, "unit count")):
            step = b.varint(2 * MAX_IMAGES, "image step")
            image += step // 2 if step % 2 == 0 else -(step + 1) // 2
            if not 0 <= image < len(entries):
                raise FormatError("corrupt file: a chunk names an image that does not exist")
            units.append((image, b.varint(MAX_PIXELS, "tile index"), b.varint(MAX_PIXELS, "tile count")))
        chunks.append(Chunk(units, None if seed == NO_SEED else seed, b.varint(MAX_LENGTH, "chunk length"), b.u32()))
    if version == SEALED_CHUNKS and any(c.length < 5 for c in chunks):  # a sealed stack's final state alone is 5
        raise FormatError("corrupt file: a chunk is too short")
    if b.tell() != len(body):
        raise FormatError("corrupt file: the header has bytes left over")
    header = Header(version, tile, models, entries, batch, chunks=chunks, coder=coder)
    _check(header)
    if start + sum(c.length for c in chunks) != len(data):
        what = "truncated" if start + sum(c.length for c in chunks) > len(data) else "corrupt (extra bytes after the end)"
        raise FormatError(f"{what} file: chunk sizes do not match the header")
    return header, start


def holders(header: Header) -> list[list[int]]:
    """Per image, the chunks holding its tiles, in file order (none outside chunked files)."""
    out: list[list[int]] = [[] for _ in header.entries]
    for c, chunk in enumerate(header.chunks):
        for image in dict.fromkeys(i for i, _, _ in chunk.units):
            out[image].append(c)
    return out


def chunk_payloads(header: Header, payload: bytes) -> list[bytes]:
    """Each chunk's bytes (no CRC checked: see ``check_chunk``)."""
    out, pos = [], 0
    for c in header.chunks:
        out.append(payload[pos : pos + c.length])
        pos += c.length
    return out


def check_chunk(chunk: Chunk, data: bytes, sealed: bool = False) -> None:
    """A chunk's bytes against its CRC; a plain stack is whole 4-byte words (a sealed one ends in
    its state's significant bytes)."""
    if (len(data) % 4 and not sealed) or (chunk.crc is not None and zlib.crc32(data) != chunk.crc):
        raise FormatError("corrupt file: chunk checksum mismatch")


# --- versions 4 to 6: compact ----------------------------------------------------------------

def fits_compact(header: Header) -> bool:
    """Whether a chunked header can be written in the compact layout: one unnamed picture of at
    most ``COMPACT_PIXELS`` coded whole (one tile of the largest side) in one chunk of flowzip's
    rANS by unadapted models of ``COMPACT_FAMILIES``, in at most two plane groups whose planes are
    in order, with the default tile and batch (what the compact layout leaves unsaid)."""
    if len(header.entries) != 1 or len(header.chunks) != 1:
        return False
    (e,), (chunk,) = header.entries, header.chunks
    return (not e.name and not e.tile_models and e.tile == MAX_IMAGE_TILE and len(e.groups) <= 2
            and e.height * e.width <= COMPACT_PIXELS
            and (header.coder, header.tile, header.batch) == (COMPACT_CODER, COMPACT_TILE, COMPACT_BATCH)
            and chunk.seed is None and chunk.units == [(0, 0, 1)]
            and all(ps == sorted(ps) for _, ps in e.groups)
            and all(not m.adapter and m.family in COMPACT_FAMILIES for m in header.models)
            and len({m for m, _ in e.groups}) == len(e.groups) == len(header.models))


def _pack_compact(header: Header) -> bytes:
    """Magic and version; one byte of mode, bit depth, group count and whether metadata follow;
    height and width; per plane group its family and planes (one byte) and its model (version 6: its
    number, 0 then its weights id if it has none; before, its weights id); the pixel CRC (version 4;
    versions 5 and 6 seal it in the stack); the metadata and their CRC, if any."""
    (e,) = header.entries
    picture = MODES.index(e.mode) | (e.bit_depth - 1) << 2 | (len(e.groups) - 1) << 6 | bool(e.metadata) << 7
    version = header.version if header.version in COMPACT_VERSIONS else COMPACT
    out = bytearray(MAGIC) + bytes([version, picture]) + varint(e.height) + varint(e.width)
    for m, planes in e.groups:
        ref = header.models[m]
        out += bytes([ref.family << 4 | sum(1 << p for p in planes)]) + _compact_model_bytes(ref, version)
    if version not in SEALED_VERSIONS:
        out += e.pixel_crc.to_bytes(4, "little")
    if e.metadata:
        metadata = metadata_bytes(e.metadata)
        out += metadata + zlib.crc32(metadata).to_bytes(4, "little")
    return bytes(out)


def _compact_model_bytes(ref: ModelRef, version: int) -> bytes:
    """How a compact file names a model: its weights id, or (version 6) its number in
    ``NUMBERED_MODELS``, 0 and its weights id if it has none (``_model_of_compact`` reads it)."""
    if version != NUMBERED:
        return ref.weights[:4]
    number = MODEL_NUMBERS.get((ref.family, ref.weights[:4]), 0)
    return varint(number) + (b"" if number else ref.weights[:4])


def _model_of_compact(r: Reader, version: int, family: int) -> ModelRef:
    """A compact file's reference to a model of ``family``: its weights id, or (version 6) its
    number in ``NUMBERED_MODELS`` (0: the weights id follows)."""
    number = r.varint(2**20, "model number") if version == NUMBERED else 0
    if not number:
        return ModelRef(family, "", r.take(4))
    if number >= len(NUMBERED_MODELS):
        raise FormatError(f"this file names model number {number}, which this flowzip does not know (it knows "
                          f"1 to {len(NUMBERED_MODELS) - 1}): a newer flowzip wrote it, or it is corrupt")
    known_family, weights = NUMBERED_MODELS[number]
    if known_family != family:
        raise FormatError(f"corrupt file: model number {number} is not of family {family}, which its plane group names")
    return ModelRef(family, "", bytes.fromhex(weights))


def _parse_compact(data: bytes, r: Reader, version: int) -> tuple[Header, int]:
    packed = r.u8()
    mode, bit_depth, groups, has_metadata = packed & 3, (packed >> 2 & 15) + 1, (packed >> 6 & 1) + 1, packed >> 7
    height, width = r.varint(MAX_IMAGE_TILE, "height"), r.varint(MAX_IMAGE_TILE, "width")
    if not (height and width and height * width <= COMPACT_PIXELS):
        raise FormatError(f"corrupt file: image size {width}x{height} is out of range")
    models, planes = [], []
    for _ in range(groups):
        byte = r.u8()
        if byte >> 4 not in COMPACT_FAMILIES:
            raise FormatError(f"corrupt file: unknown codec {byte >> 4}")
        models.append(_model_of_compact(r, version, byte >> 4))
        planes.append([p for p in range(4) if byte >> p & 1])
    sealed = version in SEALED_VERSIONS
    entry = Entry("", height, width, MODES[mode], None if sealed else r.u32(),
                  [(g, ps) for g, ps in enumerate(planes)], bit_depth=bit_depth, tile=MAX_IMAGE_TILE)
    if has_metadata:  # the pixel CRC does not cover them: a CRC of their own
        start = r.tell()
        entry.metadata = r.metadata()
        if not entry.metadata or zlib.crc32(data[start : r.tell()]) != r.u32():
            raise FormatError("corrupt file: the image's metadata are damaged")
    length = len(data) - r.tell()
    valid = length >= 5 if sealed else length >= 8 and length % 4 == 0
    if not valid:
        raise FormatError("truncated or corrupt file: the coded stream has an invalid length")
    header = Header(version, COMPACT_TILE, models, [entry], COMPACT_BATCH,
                    chunks=[Chunk([(0, 0, 1)], None, length, None)], coder=COMPACT_CODER)
    _check(header)
    return header, r.tell()
