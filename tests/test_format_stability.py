"""Files written by flowzip 0.1 and 0.2 decode to exactly their images, and the same inputs and
models still give byte for byte the same files: the coders cannot drift (slow: the shipped models).

0.1 (tests/data/flowzip-0.1, a copy of ../shared/fixtures/flowzip-0.1): its layouts (version 1, or
version 2 with ``chunk=0``) under 0.1's policy. 0.2 (tests/data/flowzip-0.2): one file per layout
and kind of image, re-encoded through the command line at 0.2's defaults."""

import hashlib

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import flowzip
from flowzip import api, policy
from flowzip.cli.main import main
from flowzip.fileformat import container
from flowzip.fileformat.header import NUMBERED_MODELS

from helpers import DATA, by_weights, set_policy, shipped_model_available, unsealed

FIXTURES = DATA / "flowzip-0.1"
SINGLE = [("k23-default.fz", "k23.png", None), ("k23-idf.fz", "k23.png", "idf-photo-v2"),
          ("gray.fz", "gray.png", None), ("rgba.fz", "rgba.png", None)]
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not shipped_model_available(), reason="shipped models not installed")]


@pytest.fixture
def policy_of_0_1(monkeypatch):
    """0.1's choices: its models, no classical coder, integer flows in the tiled layout."""
    monkeypatch.setattr(policy, "DEFAULT", policy.Policy(classical=None, integer_photo_chunk=False))


@pytest.mark.parametrize("fz, png, model", SINGLE)
def test_single_files_decode_and_reencode_byte_for_byte(fz, png, model, policy_of_0_1):
    data = (FIXTURES / fz).read_bytes()
    np.testing.assert_array_equal(flowzip.decompress(data), np.asarray(Image.open(FIXTURES / png)))
    chunk = 0 if container.version_of(data) == container.STACKED else None
    again, _ = api.encode([("", api.read_image(FIXTURES / png))], model, chunk=chunk)
    assert hashlib.sha256(again).hexdigest() == hashlib.sha256(data).hexdigest()


def test_archive_decodes_and_reencodes_byte_for_byte(policy_of_0_1):
    data = (FIXTURES / "cifar16.fz").read_bytes()
    pngs = sorted((FIXTURES / "cifar").glob("*.png"))
    items = flowzip.decompress_archive(data)
    assert [name for name, _ in items] == [p.name for p in pngs]
    for (_, pixels), png in zip(items, pngs):
        np.testing.assert_array_equal(pixels, np.asarray(Image.open(png)))
    assert flowzip.compress_archive(pngs, chunk=0) == data  # chunk=0: one stream, as 0.1 wrote


# --- flowzip 0.2 --------------------------------------------------------------------------------

FIXTURES_0_2 = DATA / "flowzip-0.2"
CIFAR = [f"cifar/c0{i}.png" for i in range(8)]
# file -> (the SHA-256 it was written with (first 16 hex digits), its images, compress's options)
WRITTEN_BY_0_2 = {
    "photo-classical.fz": ("ba46c0faaa01917e", ["photo.png"], []),
    "photo-idf.fz": ("1228eda051619253", ["photo.png"], ["--model", "idf-photo-v2"]),
    "photo-glow.fz": ("ba5b71871f34908a", ["photo.png"], ["--model", "glow-photo-v3"]),
    "thumb.fz": ("6093cfa47453dcab", ["thumb.png"], []),
    "thumb-adapted.fz": ("d48c146031a96773", ["thumb.png"], None),  # decoded only: a forced adapter
    "archive-bitsback.fz": ("161738ada7a919bc", CIFAR, []),
    "archive-mixed.fz": ("bedad17cba99e209", ["photo.png", "cifar/c00.png", "cifar/c01.png"], []),
    # 0.2's default for gray.png; now the classical coder's compact file is smaller (764 bytes, 786)
    "gray.fz": ("b8e8df2cc478e2c3", ["gray.png"], ["--model", "idf-gray-v1"]),
    "rgba.fz": ("c53902c7d8a9186f", ["rgba.png"], []),
    "rgba-idf.fz": ("ff2a508074a7489e", ["rgba.png"], ["--model", "idf-rgb-v2"]),
    "deep16.fz": ("3633180925240392", ["deep16.png"], []),
    "palette.fz": ("8d436a313d0b2372", ["palette.png"], []),
    "meta.fz": ("cb1303e8df7a1db5", ["meta.png"], []),
}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _coding(data: bytes) -> tuple:
    """What a file codes, whatever its layout: per image its size, mode, depth, pixel CRC, metadata
    and plane groups (by their models' family and weights), and the coded bytes."""
    header, start = container.parse(data)
    images = [(e.height, e.width, e.mode, e.bit_depth, e.pixel_crc, e.metadata,
               [(header.models[m].family, header.models[m].weights, planes) for m, planes in e.groups])
              for e in header.entries]
    return images, data[start:]


def assert_written_again(new: bytes, old: bytes) -> None:
    """The same bytes, or the same coding: a small picture in one chunk is written sealed with its
    models numbered now (version 6), which named by their weights (version 5), or also unsealed
    (version 4), must be the old file byte for byte, or (written chunked before the compact layout)
    its coding; other chunks are written sealed now (version 7), which unsealed (version 3) must be
    the old file byte for byte."""
    if new != old and container.version_of(new) == container.NUMBERED != container.version_of(old):
        new = by_weights(new)
    sealed = (container.SEALED, container.SEALED_CHUNKS)
    if new != old and container.version_of(new) in sealed and container.version_of(old) not in sealed:
        new = unsealed(new)
    if new != old:
        assert (container.version_of(old), container.version_of(new)) == (container.CHUNKED, container.COMPACT)
        assert _coding(new) == _coding(old)


def _samples(path) -> np.ndarray:
    """An image's samples as flowzip keeps them (a palette PNG's indices, 16 bits at 16)."""
    return api.read_image(path).pixels


@pytest.mark.parametrize("fz", WRITTEN_BY_0_2)
def test_files_of_0_2_decode_exactly(fz):
    sha, images, _ = WRITTEN_BY_0_2[fz]
    data = (FIXTURES_0_2 / fz).read_bytes()
    assert _sha(data) == sha
    decoded = api.decode(data)
    assert len(decoded) == len(images)
    for (name, picture), image in zip(decoded, images):
        assert name == ("" if len(images) == 1 else image.split("/")[-1])
        np.testing.assert_array_equal(picture.pixels, _samples(FIXTURES_0_2 / image))


@pytest.mark.parametrize("fz", [fz for fz, (_, _, options) in WRITTEN_BY_0_2.items() if options is not None])
def test_0_2s_policy_writes_the_same_bytes_again(fz, tmp_path, monkeypatch):
    _, images, options = WRITTEN_BY_0_2[fz]
    set_policy(monkeypatch, local={}, local_photo={})  # 0.2's defaults: no local prior
    monkeypatch.chdir(FIXTURES_0_2)
    out = tmp_path / fz
    result = CliRunner().invoke(main, ["compress", *images, *options, "-o", str(out), "-q", "--no-png"])
    assert result.exit_code == 0, result.output
    assert_written_again(out.read_bytes(), (FIXTURES_0_2 / fz).read_bytes())


# --- flowzip 0.3: the local prior, the guided coder, the compact layouts -------------------------

FIXTURES_0_3 = DATA / "flowzip-0.3"
# file -> (SHA-256 (first 16 hex digits), its images (in tests/data/flowzip-0.2), compress's options)
WRITTEN_BY_0_3 = {
    "photo-local.fz": ("80d832cd69537f9f", ["photo.png"], ["--model", "local-photo-v1"]),
    "rgba-local.fz": ("ccb1200005711942", ["rgba.png"], ["--model", "local-photo-v1"]),
    "thumb-local.fz": ("fa0bc1e5bfb21e49", ["thumb.png"], ["--model", "local-rgb-v1"]),
    "archive-local.fz": ("d5cb08c74637ece3", CIFAR, ["--model", "local-rgb-v1"]),
    "archive-local-v2.fz": ("1a9d63ef73fb4c05", CIFAR, ["--model", "local-rgb-v2"]),
    # the guided coder's first streams (block method 0, the guide's weight 48): decoded only
    "photo-guided.fz": ("25f52052904ae431", ["photo.png"], None),
    "rgba-guided.fz": ("621a4452b5db3065", ["rgba.png"], None),
    # method 1 (the guide's weight 16, the first kind of mixer): decoded only since method 2
    "photo-guided-2.fz": ("1ded8999520d4b9e", ["photo.png"], None),
    "rgba-guided-2.fz": ("9409af2138163d08", ["rgba.png"], None),
    # method 2 (the second kind of mixer, ``entropy.mixing``): decoded only since method 3
    "photo-guided-3.fz": ("8d4c71a1b208b7dd", ["photo.png"], None),
    "rgba-guided-3.fz": ("eca933dc3a9c7bc6", ["rgba.png"], None),
    # method 3: every bit coded by five mixers (``residuals.mixer_rows``), the method in the block's first byte
    "photo-guided-4.fz": ("bfdc94872eeca9f5", ["photo.png"], ["--model", "guided-photo-v1"]),
    "rgba-guided-4.fz": ("b5806acddf25cff5", ["rgba.png"], ["--model", "guided-photo-v1"]),
    # the compact layout (version 4): small pictures in one chunk
    "thumb-compact.fz": ("7712bbbab17d4b66", ["thumb.png"], ["--model", "local-rgb-v2"]),
    "rgba-compact.fz": ("58528afd97ead8ee", ["rgba.png"], []),
    "rgba-guided-compact.fz": ("2afbd5dc66847a86", ["rgba.png"], None),  # method 1: decoded only
    "palette-compact.fz": ("33a1928cfc7ca9ee", ["palette.png"], []),  # with metadata: the palette
    # PNG chunks, interlaced; the default then (local-rgb-v4's file is smaller now)
    "meta-compact.fz": ("b4b68abd6e648471", ["meta.png"], ["--model", "classical-v1"]),
    # sealed compact files (version 5): the pixel CRC in the stack's start, the final state trimmed
    "thumb-sealed.fz": ("ae74285d4835f42f", ["thumb.png"], ["--model", "local-rgb-v12"]),
    "palette-sealed.fz": ("155bf327c94a359a", ["palette.png"], []),  # with metadata: the palette
    # numbered (version 6): shipped models named by their number
    "thumb-numbered.fz": ("58d16025e4bb6a47", ["thumb.png"], ["--model", "local-rgb-v12"]),
    "palette-numbered.fz": ("75b00950576829db", ["palette.png"], []),
    "rgba-guided-numbered.fz": ("3c8ab695137e908b", ["rgba.png"], None),  # two models; method 1: decoded only
    "rgba-guided-numbered-3.fz": ("dfbe6c65cf907b7d", ["rgba.png"], None),  # method 2: decoded only
    "rgba-guided-numbered-4.fz": ("3e20d86110188502", ["rgba.png"], ["--model", "guided-photo-v3"]),  # method 3
    # sealed chunks (version 7): no pixel CRCs in the table, each chunk's stack sealed with its tiles' CRC
    "archive-sealed.fz": ("93c550d4ef29e1ce", CIFAR, ["--model", "local-rgb-v13", "--chunk", "6144"]),  # 4 chunks
    "bitsback-sealed.fz": ("6bd393daac43f30f", CIFAR, ["--model", "glow-rgb-v2"]),  # seeded by idf-rgb-v2
    # a photo of 12 tiles cut across 3 chunks (units from mid-image), a 16-bit picture in a 4th
    "tiles-sealed.fz": ("0b4bafcefc07d0f3", ["photo.png", "deep16.png"],
                        ["--model", "idf-photo-v2", "--tile", "32", "--chunk", "7000"]),
    # the default then (decoded only): a photo, a 16-bit gray picture, an alpha plane apart
    "mixed-sealed.fz": ("c374bf7d76c72c05", ["photo.png", "deep16.png", "rgba.png"], None),
}


# the numbers by which version 6 files name models (NUMBERED_MODELS): once given, never changed
NUMBERS_0_3 = (29, "fee9a8f42828eff9")


def test_model_numbers_once_given_never_change():
    given, sha = NUMBERS_0_3
    assert _sha(repr(NUMBERED_MODELS[:given]).encode()) == sha


@pytest.mark.parametrize("fz", WRITTEN_BY_0_3)
def test_files_of_0_3_decode_exactly_and_are_written_again(fz, tmp_path, monkeypatch):
    sha, images, options = WRITTEN_BY_0_3[fz]
    data = (FIXTURES_0_3 / fz).read_bytes()
    assert _sha(data) == sha
    decoded = api.decode(data)
    for (_, picture), image in zip(decoded, images, strict=True):
        np.testing.assert_array_equal(picture.pixels, _samples(FIXTURES_0_2 / image))
    if options is None:
        return
    monkeypatch.chdir(FIXTURES_0_2)
    out = tmp_path / fz
    result = CliRunner().invoke(main, ["compress", *images, *options, "-o", str(out), "-q", "--no-png"])
    assert result.exit_code == 0, result.output
    assert_written_again(out.read_bytes(), data)
