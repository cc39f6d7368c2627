"""The .fz header's parts (``Header``, its ``ModelRef``s, ``Entry``s and ``Chunk``s), the format's
limits, and the byte-level reading and writing they share; ``container`` lays them out per
version. docs/FORMAT.md."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from ..errors import FormatError

MAGIC = b"FLZ"
TILED, STACKED, CHUNKED, COMPACT, SEALED, NUMBERED, SEALED_CHUNKS = 1, 2, 3, 4, 5, 6, 7  # format versions: the layouts
VERSIONS = (TILED, STACKED, CHUNKED, COMPACT, SEALED, NUMBERED, SEALED_CHUNKS)
CODERS = (1, 2)  # chunked files: 1 = as version 2 (constriction's ANS); 2 = flowzip's rANS (entropy.rans)
RANS_CODER = 2  # the coder of sealed stacks (and the only one flowzip writes)
MAX_CHUNKS = 2**20
MAX_BIT_DEPTH = 16
RAW_HEADER = 1  # chunked files' flag: the header body is stored as it is, not zlib-compressed
MAX_IMAGE_TILE = 4096  # chunked: an image's own tile side may be up to this (whole images, classical)
MODES = ("L", "LA", "RGB", "RGBA")
MAX_IMAGES = 2**20
MAX_BATCH = 256
MAX_NAME = 4096
NO_SEED = 255
MAX_TABLE = 2**28  # bytes of a stacked file's decompressed image table
MAX_SIDE = 2**20
MAX_PIXELS = 2**30
MIN_TILE, MAX_TILE = 16, 1024
MAX_METADATA = 2**26
MAX_LENGTH = 2**48  # a declared byte length: beyond the file, it is truncated (said so after reading)
# compact files (versions 4 to 6): one small picture, one chunk, coded whole by one of these
# families (classical, local prior, guided); no header CRC: the pixel CRC checks the rest (metadata
# have a CRC of their own; versions 5 and 6 seal the pixel CRC in their coder's stack), and the size
# bound keeps a damaged header's work small
COMPACT_VERSIONS = (COMPACT, SEALED, NUMBERED)
# the versions whose chunks' stacks are sealed with their tiles' pixel CRC (``rans.SealedStack``)
# instead of the image table holding each image's
SEALED_VERSIONS = (SEALED, NUMBERED, SEALED_CHUNKS)
COMPACT_PIXELS = 2**16
COMPACT_FAMILIES = (3, 4, 5)
COMPACT_TILE, COMPACT_BATCH, COMPACT_CODER = 64, 16, RANS_CODER  # what a compact file's chunked header holds
# version 6 names a shipped model of a compact family by its number, the index here, instead of by
# its weights id: (family, the first 4 bytes of its weights' SHA-256 in hex). Append only: a number
# once given is never changed or reused (0 means "the weights id follows").
NUMBERED_MODELS = (
    None,
    (3, "e50f6389"),  # classical-v1
    (4, "49047906"), (4, "0d12ae76"), (4, "fe030892"), (4, "2e0fb0af"), (4, "f3b1b992"), (4, "e256e694"),
    (4, "0f208e9b"), (4, "cc3b667f"), (4, "647f703e"), (4, "a348f11d"), (4, "b2d3add9"),
    (4, "0044b49c"),  # local-rgb-v1 to v12
    (4, "89c2e667"), (4, "5cb068fc"),  # local-photo-v1, v2
    (5, "2e0fb0af"), (5, "e256e694"), (5, "0f208e9b"), (5, "cc3b667f"),  # guided-rgb-v1 to v4
    (5, "89c2e667"), (5, "5cb068fc"),  # guided-photo-v1, v2
    (4, "61a5a877"),  # local-rgb-v13
    (4, "fa465f41"),  # local-rgb-v14
    (4, "fef575d7"),  # local-rgb-v15
    (4, "9795fdc5"),  # local-rgb-v16
    (5, "9795fdc5"),  # guided-rgb-v5
    (4, "5616c87c"),  # local-photo-v3
    (5, "5616c87c"),  # guided-photo-v3
)
MODEL_NUMBERS = {(family, bytes.fromhex(weights)): n for n, (family, weights) in enumerate(NUMBERED_MODELS[1:], 1)}


@dataclass
class ModelRef:
    """A model a file names: its family's id, registry name, the first 4 bytes of its weights'
    SHA-256, and (chunked files) parameters that adapt it to the file's images."""

    family: int
    name: str
    weights: bytes
    adapter: bytes = b""


@dataclass
class Entry:
    """One image of a file; ``groups`` are (index into ``Header.models``, planes)."""

    name: str
    height: int
    width: int
    mode: str
    pixel_crc: int | None  # None: sealed in the coded stream (versions 5 to 7), known once decoded
    groups: list[tuple[int, list[int]]]
    metadata: dict[str, bytes] = field(default_factory=dict)
    bit_depth: int = 8
    tile_models: dict[int, list[int]] = field(default_factory=dict)  # chunked: group -> model per tile
    tile: int = 0  # chunked: this image's own tile side (0: the header's)

    @property
    def channels(self) -> int:
        return len(self.mode)


@dataclass
class Chunk:
    """An independent stack of a chunked file: ``units`` are (image, first tile, tiles), coded in
    order (every plane group of each unit's tiles); ``seed`` is the model that codes its first
    bits-back tiles."""

    units: list[tuple[int, int, int]]
    seed: int | None = None
    length: int = 0
    crc: int | None = 0  # None: the file has no CRC of it (compact: the pixel CRC checks it)


@dataclass
class Header:
    """Everything a decoder needs before the payload. ``batch`` belongs to the stacked and chunked
    layouts (part of their coding order), ``seed`` to the stacked one, ``lengths`` ([group][tile]
    stream bytes) to the tiled one, ``chunks`` and ``coder`` to the chunked and compact ones."""

    version: int
    tile: int
    models: list[ModelRef]
    entries: list[Entry]
    batch: int | None = None
    seed: int | None = None
    lengths: list[list[int]] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    coder: int = 1

    @property
    def chunked(self) -> bool:
        """Whether its images are coded in chunks (versions 3 to 7: a compact file is one chunk)."""
        return self.version in (CHUNKED, SEALED_CHUNKS, *COMPACT_VERSIONS)

    @property
    def subpixels(self) -> int:
        return sum(e.height * e.width * e.channels for e in self.entries)

    def tile_of(self, entry: Entry) -> int:
        """The side of an image's tiles: its own, else the file's."""
        return entry.tile or self.tile


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


class Reader:
    """Reads a header from bytes or a memory map, copying only what it reads."""

    def __init__(self, data):
        self.data, self.pos = memoryview(data), 0

    def tell(self) -> int:
        return self.pos

    def take(self, n: int) -> bytes:
        b = bytes(self.data[self.pos : self.pos + n])
        if len(b) != n:
            raise FormatError("truncated file: the header ends early")
        self.pos += n
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

    def model(self, adapter: bool = False) -> ModelRef:
        ref = ModelRef(self.u8(), self.text(), self.take(4))
        if adapter:
            ref.adapter = self.take(self.varint(MAX_METADATA, "adapter length"))
        return ref

    def mode_and_depth(self, max_depth: int = 8) -> tuple[str, int]:
        mode_id, bit_depth = self.u8(), self.u8()
        if mode_id >= len(MODES) or not (bit_depth == 8 or 1 <= bit_depth <= max_depth):
            raise FormatError("corrupt file: unknown image mode or bit depth")
        return MODES[mode_id], bit_depth

    def metadata(self) -> dict[str, bytes]:
        metadata = {}
        for _ in range(self.varint(64, "metadata count")):
            key = self.take(self.u8())
            if not key.isascii():
                raise FormatError("corrupt file: a metadata key is not ASCII")
            metadata[key.decode("ascii")] = self.take(self.varint(MAX_METADATA, "metadata length"))
        return metadata

    def header_crc(self, data: bytes) -> int:
        """Check the header CRC that ends here; returns where the payload starts."""
        end = self.tell()
        if zlib.crc32(data[:end]) != self.u32():
            raise FormatError("corrupt file: header checksum mismatch")
        return end + 4


def model_bytes(m: ModelRef) -> bytes:
    name = m.name.encode("utf-8")
    return bytes([m.family, len(name)]) + name + m.weights[:4]


def metadata_bytes(metadata: dict[str, bytes]) -> bytes:
    out = bytearray(varint(len(metadata)))
    for key, value in metadata.items():
        out += bytes([len(key)]) + key.encode("ascii") + varint(len(value)) + value
    return bytes(out)


def num_tiles(height: int, width: int, tile: int) -> int:
    """How many tiles of side ``tile`` cover an image, row-major."""
    return -(-height // tile) * -(-width // tile)

