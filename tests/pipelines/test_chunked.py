"""The chunked pipeline (``flowzip.pipelines.chunked``): archives are chunked by default, chunks
decode alone and in any process, one image decodes from its chunks only, and a damaged chunk
loses only its images."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from samples import damage_chunk, small_pictures, smooth

from flowzip import api, zoo
from flowzip.errors import FlowzipError
from flowzip.fileformat import container
from flowzip.images.image import Picture
from flowzip.entropy.rans import SealedStack
from flowzip.pipelines import chunked, stacked
from flowzip.pipelines.codecs import codec_for

from helpers import set_policy


def test_chunked_archives_round_trip_and_chunks_decode_alone(glow_default):
    """Chunks are independent stacks: any chunk size gives back every image, and one chunk decodes
    on its own into the images it holds."""
    rng = np.random.default_rng(9)
    pictures = [(f"{i}.png", Picture(smooth(rng, 24 + i, 33, 3), "RGB")) for i in range(7)]
    pictures.append(("big.png", Picture(smooth(rng, 80, 50, 4), "RGBA")))
    for chunk in (1, 4000, 10**9):
        data, _ = api.encode(pictures, archive=True, tile=16, chunk=chunk)
        header, start = container.parse(data)
        assert header.version == container.SEALED_CHUNKS and (len(header.chunks) == 1) == (chunk == 10**9)
        for (name, a), (got, b) in zip(pictures, api.decode(data)):
            assert name == got
            np.testing.assert_array_equal(a.pixels, b.pixels)
    data, _ = api.encode(pictures, archive=True, tile=16, chunk=4000)
    header, start = container.parse(data)
    codecs = [codec_for(zoo.for_file(ref)) for ref in header.models]
    last = len(header.chunks) - 1
    out = [np.zeros((e.height, e.width, e.channels), np.uint8) for e in header.entries]
    chunked.decode_chunk(header, header.chunks[last], container.chunk_payloads(header, data[start:])[last], codecs, out)
    for image in chunked.images_of(header, [last]):
        whole = all(image != i for c in header.chunks[:last] for i, _, _ in c.units)
        if whole:
            np.testing.assert_array_equal(out[image], pictures[image][1].pixels)


def test_archives_are_chunked_by_default_and_chunk_zero_is_one_stream(small_chunks):
    pictures = small_pictures()
    data, _ = api.encode(pictures, "tiny-rgb")
    header = api.inspect(data)
    assert header.version == container.SEALED_CHUNKS and [len(c.units) for c in header.chunks] == [4, 4, 4]
    assert api.inspect(api.encode(pictures, "tiny-rgb", chunk=0)[0]).version == container.STACKED
    for (name, a), (got, b) in zip(pictures, api.decode(data)):
        assert name == got
        np.testing.assert_array_equal(a.pixels, b.pixels)


def test_workers_write_the_same_file_and_decode_it(glow_default, small_chunks):
    pictures = small_pictures(14)
    one, _ = api.encode(pictures, archive=True, tile=16, jobs=1)
    stats = {}
    two, report = api.encode(pictures, archive=True, tile=16, jobs=2, stats=stats)
    assert one == two and report.compressed_bytes == len(two)
    assert sum(kind["subpixels"] for kind in stats.values()) > 0
    for (_, a), (_, b) in zip(pictures, api.decode(two, jobs=2)):
        np.testing.assert_array_equal(a.pixels, b.pixels)


def test_one_image_decodes_from_its_chunk_only(small_chunks, monkeypatch):
    pictures = small_pictures()
    data, _ = api.encode(pictures, "tiny-rgb")
    header = api.inspect(data)
    decoded = []
    real = chunked._decode_task
    monkeypatch.setattr(chunked, "_decode_task", lambda h, c, *a: decoded.append(c) or real(h, c, *a))
    (name, pixels), = api.decompress_archive(data, only=["set/07.png"])
    assert name == "set/07.png" and len(decoded) == 1 and len(header.chunks) > 1
    np.testing.assert_array_equal(pixels, pictures[7][1].pixels)
    assert [n for n, _ in api.decompress_archive(data, only=["set/1*"])] == [f"set/{i}.png" for i in range(10, 12)]
    with pytest.raises(FlowzipError, match="no image named"):
        api.decompress_archive(data, only=["nope.png"])


@pytest.mark.parametrize("crc_again, seen_as", [(False, "chunk checksum"), (True, "left over|fail the checksum")])
def test_a_damaged_chunk_loses_only_its_images(small_chunks, crc_again, seen_as):
    """A byte of chunk 1 flipped: its chunk CRC refuses it, or, that CRC written again to match,
    its sealed stack does; only its images are lost."""
    pictures = small_pictures()
    data, _ = api.encode(pictures, "tiny-rgb")
    header = api.inspect(data)
    bad = damage_chunk(data, 1, crc_again)
    lost = {i for i, _, _ in header.chunks[1].units}
    results = {i: item for i, _, item in api.decode_each(bad, jobs=2)}
    assert sorted(results) == list(range(len(pictures)))
    for i, item in results.items():
        if i in lost:
            assert isinstance(item, FlowzipError) and "chunk 1" in str(item)
        else:
            np.testing.assert_array_equal(item.pixels, pictures[i][1].pixels)
    with pytest.raises(FlowzipError, match=seen_as):
        api.decode(bad)


def test_a_chunk_is_checked_against_its_seal(small_chunks, monkeypatch):
    """What the stack held at its start must be the CRC of the tiles decoded (as by a wrong model)."""
    data, _ = api.encode(small_pictures(), "tiny-rgb")
    seal_of = chunked.seal_of
    monkeypatch.setattr(chunked, "seal_of", lambda *args: seal_of(*args) ^ 1)
    with pytest.raises(FlowzipError, match="decoded pixels of the chunk's images fail the checksum"):
        api.decode(data, jobs=1)


def _seal_by_hand(header, chunk, pixels) -> int:
    """docs/FORMAT.md's seal: one CRC over the chunk's units' tiles (row-major, clipped), each
    tile's samples row-major H x W x C, a byte each up to 8 bits, two little-endian above."""
    crc = 0
    for image, first, count in chunk.units:
        e = header.entries[image]
        side = header.tile_of(e)
        boxes = [(y, x) for y in range(0, e.height, side) for x in range(0, e.width, side)]
        for y, x in boxes[first : first + count]:
            tile = pixels[image][y : y + side, x : x + side]
            crc = zlib.crc32(tile.astype("<u2").tobytes() if tile.dtype.itemsize > 1 else tile.tobytes(), crc)
    return crc


def test_each_chunk_is_sealed_with_the_crc_of_its_tiles(classical):
    """Images of several tiles cut across chunks, and a 16-bit picture: each chunk's stack, popped,
    holds the CRC of the tiles it codes."""
    rng = np.random.default_rng(4)
    pictures = [(f"{i}.png", Picture(smooth(rng, 40, 37, 3), "RGB")) for i in range(2)]
    pictures.append(("deep.png", Picture(rng.integers(0, 2**16, (9, 11, 1), dtype=np.uint16), "L", bit_depth=16)))
    data, _ = api.encode(pictures, "tiny-rgb", archive=True, tile=16, chunk=2000)
    header, start = container.parse(data)
    assert header.version == container.SEALED_CHUNKS and len(header.chunks) > 3
    assert any(first > 0 for c in header.chunks for _, first, _ in c.units)  # an image cut between chunks
    assert header.entries[2].bit_depth == 16 and header.models[header.entries[2].groups[0][0]].family == 3
    codecs = [codec_for(zoo.for_file(ref)) for ref in header.models]
    pixels = [p.pixels for _, p in pictures]
    for chunk, payload in zip(header.chunks, container.chunk_payloads(header, data[start:])):
        out = [np.zeros_like(p) for p in pixels]
        jobs = stacked.plan(header, codecs, chunk.units, chunk.seed)
        seal = stacked.decode_units(header, jobs, payload, codecs, out, None, SealedStack).seal()
        assert seal == _seal_by_hand(header, chunk, pixels) == chunked.seal_of(header, chunk, pixels)


def test_one_large_image_is_cut_into_chunks_for_workers(glow_default, monkeypatch):
    set_policy(monkeypatch, job_chunk_tiles=4)
    picture = Picture(smooth(np.random.default_rng(2), 64, 70), "RGB")
    one, _ = api.compress_picture(picture, tile=16)
    two, _ = api.compress_picture(picture, tile=16, jobs=2)
    assert api.inspect(one).version == container.SEALED_CHUNKS and len(api.inspect(one).chunks) == 1
    header = api.inspect(two)
    assert header.version == container.SEALED_CHUNKS and len(header.chunks) == 2
    assert header.chunks[0].seed is not None and header.chunks[1].seed is not None
    np.testing.assert_array_equal(api.decompress_picture(two, jobs=2).pixels, picture.pixels)
