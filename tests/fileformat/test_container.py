import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowzip import api
from flowzip.errors import FormatError
from flowzip.fileformat import container
from flowzip.fileformat.container import Entry, Header, ModelRef


def _sample() -> bytes:
    models = [ModelRef(1, "m-rgb", b"\1\2\3\4"), ModelRef(1, "m-gray", b"\5\6\7\10")]
    entry = Entry("", 40, 300, "RGBA", 0xDEADBEEF, [(0, [0, 1, 2]), (1, [3])], {"icc_profile": b"x" * 300})
    header = Header(container.TILED, 256, models, [entry], lengths=[[12, 4], [4, 8]])
    return container.pack(header, b"abcd" * 3 + b"efgh" + b"ijkl" + b"mnop" * 2)


def test_header_round_trip():
    data = _sample()
    header, start = container.parse(data)
    (entry,) = header.entries
    assert (entry.height, entry.width, entry.mode, header.tile) == (40, 300, "RGBA", 256)
    assert [header.models[m].name for m, _ in entry.groups] == ["m-rgb", "m-gray"]
    assert entry.groups[1][1] == [3] and header.models[0].weights == b"\1\2\3\4"
    assert entry.metadata == {"icc_profile": b"x" * 300}
    assert entry.pixel_crc == 0xDEADBEEF
    assert header.lengths == [[12, 4], [4, 8]] and data[start:] == b"abcd" * 3 + b"efgh" + b"ijkl" + b"mnop" * 2


@pytest.mark.parametrize("data, message", [
    (b"", "not a flowzip file"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "not a flowzip file"),
    (b"FLZ\x09" + b"\0" * 40, "unsupported .fz format version"),
])
def test_foreign_files_are_refused(data, message):
    with pytest.raises(FormatError, match=message):
        container.parse(data)


def test_every_truncation_is_refused():
    data = _sample()
    for n in range(len(data)):
        with pytest.raises(FormatError):
            container.parse(data[:n])
    with pytest.raises(FormatError):
        container.parse(data + b"\0\0\0\0")


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_header_bit_flips_are_refused(data):
    raw = bytearray(_sample())
    header_end = container.parse(bytes(raw))[1]
    pos = data.draw(st.integers(0, header_end - 1))
    raw[pos] ^= 1 << data.draw(st.integers(0, 7))
    with pytest.raises(FormatError):
        container.parse(bytes(raw))


def _with_fixed_crc(fields: bytes) -> bytes:
    return fields + zlib.crc32(fields).to_bytes(4, "little")


def test_huge_declared_sizes_are_refused_before_allocation():
    # a well-formed header (valid CRC) declaring a 2**20 x 2**20 image in a few bytes
    fields = b"FLZ\x01\x00" + container.varint(2**20) + container.varint(2**20) + b"\x02\x08"
    fields += container.varint(256) + b"\x01\x01\x01m" + b"\0" * 4 + b"\x03\x00\x01\x02" + b"\x00" + b"\0" * 4
    with pytest.raises(FormatError, match="larger than flowzip supports|too short"):
        container.parse(_with_fixed_crc(fields + b"\x04"))


def test_corrupt_payload_is_caught(tiny_models):
    image = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    data = bytearray(api.compress(image))
    _, start = container.parse(bytes(data))
    for pos in range(start, len(data), max(1, (len(data) - start) // 25)):
        corrupt = bytearray(data)
        corrupt[pos] ^= 0x10
        with pytest.raises(FormatError):
            api.decompress(bytes(corrupt))


def test_stream_header_round_trip_and_oversized_table(monkeypatch):
    models = [ModelRef(2, "g", b"1234"), ModelRef(1, "i", b"5678")]
    entries = [Entry(f"{i:05d}.png", 32, 32, "RGB", i, [(0, [0, 1, 2])], {"exif": b"x" * i}) for i in range(50)]
    header = Header(container.STACKED, 64, models, entries, batch=16, seed=1)
    data = container.pack(header, b"\1\0\0\0")
    parsed, start = container.parse(data)
    assert parsed == header and data[start:] == b"\1\0\0\0"
    assert start < 50 * 12  # the table is compressed: well under the raw ~25 bytes per image
    monkeypatch.setattr(container, "MAX_TABLE", 100)
    with pytest.raises(FormatError, match="image table"):
        container.parse(data)


def _chunked_sample(version: int = container.CHUNKED, coder: int = 1, last: bytes = b"\3\0\0\0") -> bytes:
    models = [ModelRef(2, "g", b"1234", adapter=b"\x07" * 5), ModelRef(1, "i", b"5678")]
    entries = [Entry(f"{i}.png", 48, 16, "RGB", i, [(0, [0, 1, 2])], {"exif": b"x"},
                     tile_models={0: [1, 0, 0]} if i == 1 else {}) for i in range(3)]
    chunks = [container.Chunk([(0, 0, 3), (1, 0, 1)], seed=1, length=8, crc=zlib.crc32(b"\1\0\0\0\2\0\0\0")),
              container.Chunk([(1, 1, 2), (2, 0, 3)], seed=None, length=len(last), crc=zlib.crc32(last))]
    header = Header(version, 16, models, entries, batch=4, chunks=chunks, coder=coder)
    return container.pack(header, b"\1\0\0\0\2\0\0\0" + last)


CHUNKED_SAMPLES = {"chunked": dict(),  # a sealed chunk ends in its final state's significant bytes: 5 at least
                   "sealed chunks": dict(version=container.SEALED_CHUNKS, coder=2, last=b"\3\0\0\0\4")}


@pytest.mark.parametrize("sample", CHUNKED_SAMPLES)
def test_chunked_header_round_trip(sample):
    data = _chunked_sample(**CHUNKED_SAMPLES[sample])
    header, start = container.parse(data)
    assert header.models[0].adapter == b"\x07" * 5 and header.entries[1].tile_models == {0: [1, 0, 0]}
    assert [c.units for c in header.chunks] == [[(0, 0, 3), (1, 0, 1)], [(1, 1, 2), (2, 0, 3)]]
    assert [c.seed for c in header.chunks] == [1, None]
    sealed = header.version == container.SEALED_CHUNKS
    assert [e.pixel_crc for e in header.entries] == ([None] * 3 if sealed else [0, 1, 2])  # sealed: in the stacks
    payloads = container.chunk_payloads(header, data[start:])
    assert payloads == [b"\1\0\0\0\2\0\0\0", CHUNKED_SAMPLES[sample].get("last", b"\3\0\0\0")]
    container.check_chunk(header.chunks[1], payloads[1], sealed)
    with pytest.raises(FormatError, match="chunk checksum"):
        container.check_chunk(header.chunks[1], b"\4" + payloads[1][1:], sealed)
    assert container.pack(header, data[start:]) == data


def test_a_sealed_chunk_ends_in_its_states_bytes_and_is_of_flowzips_rans():
    chunk = container.Chunk([(0, 0, 1)], length=5, crc=zlib.crc32(b"\1\0\0\0\2"))
    container.check_chunk(chunk, b"\1\0\0\0\2", sealed=True)  # not whole words: the state's significant bytes
    with pytest.raises(FormatError, match="chunk checksum"):
        container.check_chunk(chunk, b"\1\0\0\0\2")
    with pytest.raises(FormatError, match="coded by coder 2"):
        container.parse(_chunked_sample(container.SEALED_CHUNKS, coder=1, last=b"\3\0\0\0\4"))
    with pytest.raises(FormatError, match="too short"):
        container.parse(_chunked_sample(container.SEALED_CHUNKS, coder=2))  # a 4-byte chunk


@pytest.mark.parametrize("sample", CHUNKED_SAMPLES)
def test_chunked_truncations_and_header_flips_are_refused(sample):
    data = _chunked_sample(**CHUNKED_SAMPLES[sample])
    start = container.parse(data)[1]
    for n in range(len(data)):
        with pytest.raises(FormatError):
            container.parse(data[:n])
    for pos in range(start):
        for bit in (0, 3, 7):
            raw = bytearray(data)
            raw[pos] ^= 1 << bit
            with pytest.raises(FormatError):
                container.parse(bytes(raw))


@pytest.mark.parametrize("units", [[[(0, 0, 2)], [(0, 3, 1)]], [[(0, 0, 4)], [(0, 3, 1)]], [[(0, 0, 3)]]])
def test_chunks_must_cover_every_tile_once_in_order(units):
    entries = [Entry("a", 32, 32, "L", 0, [(0, [0])])]  # 4 tiles of 16
    header = Header(container.CHUNKED, 16, [ModelRef(1, "i", b"5678")], entries, batch=4,
                    chunks=[container.Chunk(u, length=0) for u in units])
    with pytest.raises(FormatError, match="cover"):
        container.pack(header, b"")
