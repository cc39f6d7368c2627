"""The compact layout (versions 4 to 6): a small picture coded whole in one chunk has a header of
about 9 to 16 bytes, names its models by their weights (version 6: a shipped model by its number),
and is checked by its pixel CRC alone (in the header, or in versions 5 and 6 sealed in the coder's
stack): any damage is refused, never decoded to other pixels. flowzip writes version 6; versions 4
and 5 keep decoding."""

import dataclasses
import json
import zlib

import numpy as np
import pytest

from flowzip import api, families, zoo
from flowzip.errors import FlowzipError, FormatError, ModelError
from flowzip.fileformat import container
from flowzip.fileformat.container import Chunk, Entry, Header, ModelRef
from flowzip.fileformat.header import NUMBERED_MODELS, metadata_bytes
from flowzip.images.image import Picture

from helpers import by_weights, smooth_image, tiny_prior, unsealed

PAYLOAD = b"\1\0\0\0\2\0\0\0"


def _header(**entry_changes) -> Header:
    """A chunked header of one 32x32 RGBA picture that fits the compact layout."""
    models = [ModelRef(4, "local-x", b"\1\2\3\4"), ModelRef(3, "classical-v1", b"\5\6\7\10")]
    entry = Entry("", 32, 32, "RGBA", 0xDEADBEEF, [(0, [0, 1, 2]), (1, [3])], tile=container.MAX_IMAGE_TILE)
    entry = dataclasses.replace(entry, **entry_changes)
    chunk = Chunk([(0, 0, 1)], None, len(PAYLOAD), zlib.crc32(PAYLOAD))
    return Header(container.CHUNKED, 64, models, [entry], 16, chunks=[chunk], coder=2)


def test_a_sealed_header_is_packed_without_the_pixel_crc_and_parsed_back():
    header = dataclasses.replace(_header(), version=container.SEALED)
    data = container.pack(header, PAYLOAD + b"\3")
    assert container.version_of(data) == container.SEALED
    parsed, start = container.parse(data)
    assert start == 4 + 1 + 2 + 2 * 5 and data[start:] == PAYLOAD + b"\3"
    assert parsed.entries[0].pixel_crc is None and parsed.entries[0].groups == header.entries[0].groups
    assert container.pack(parsed, PAYLOAD + b"\3") == data
    with pytest.raises(FormatError, match="coded stream"):
        container.parse(data[: start + 4])  # a sealed stack has at least its state's 5 bytes


def test_a_numbered_header_names_a_shipped_model_by_its_number_and_others_by_their_weights():
    header = dataclasses.replace(_header(), version=container.NUMBERED)
    classical = NUMBERED_MODELS.index((3, zoo.load_model(zoo.CLASSICAL).weights_id.hex()))
    header.models[1].weights = bytes.fromhex(NUMBERED_MODELS[classical][1])
    data = container.pack(header, PAYLOAD + b"\3")
    parsed, start = container.parse(data)
    assert start == 4 + 1 + 2 + (1 + 1 + 4) + (1 + 1) and data[start - 2:start] == bytes([3 << 4 | 8, classical])
    assert [(m.family, m.weights) for m in parsed.models] == [(m.family, m.weights) for m in header.models]
    assert parsed.entries[0].pixel_crc is None and container.pack(parsed, PAYLOAD + b"\3") == data
    as_5 = container.pack(dataclasses.replace(parsed, version=container.SEALED), PAYLOAD + b"\3")
    # version 5 names the numbered model by its 4 bytes of weights id, not 1 byte of number, and the
    # other without the 0 that says its weights id follows
    assert container.version_of(as_5) == container.SEALED and len(as_5) == len(data) + 3 - 1


def test_a_number_this_flowzip_does_not_know_or_of_another_family_is_refused():
    head = container.MAGIC + bytes([container.NUMBERED, 2 | 7 << 2, 4, 4, 4 << 4 | 7])
    with pytest.raises(FormatError, match=f"model number 300, which this flowzip does not know .*1 to "
                                          f"{len(NUMBERED_MODELS) - 1}.*newer flowzip"):
        container.parse(head + container.varint(300) + b"\0" * 8)
    classical = [n for n, m in enumerate(NUMBERED_MODELS) if m and m[0] == 3][0]
    with pytest.raises(FormatError, match="corrupt file: model number"):
        container.parse(head + bytes([classical]) + b"\0" * 8)


def test_every_shipped_model_of_a_compact_family_has_its_number():
    """Numbers are given once, in order of release: a newly shipped model needs one appended (a
    retired model keeps its number; test_format_stability pins the numbers given)."""
    cards = [json.loads(path.read_text()) for path in zoo.pretrained_dir().glob("*.json")]
    shipped = {(families.by_name(card["family"]).id, card["sha256"][:8]) for card in cards}
    classical = (families.by_name("classical").id, zoo.load_model(zoo.CLASSICAL).weights_id.hex())
    numbered = NUMBERED_MODELS[1:]
    assert len(set(numbered)) == len(numbered)
    assert {m for m in shipped if m[0] in container.COMPACT_FAMILIES} | {classical} <= set(numbered)


def test_a_fitting_chunked_header_is_packed_compactly_and_parsed_back():
    data = container.pack(_header(), PAYLOAD)
    assert container.version_of(data) == container.COMPACT
    header, start = container.parse(data)
    assert start == 4 + 1 + 2 + 2 * 5 + 4 and data[start:] == PAYLOAD
    (e,) = header.entries
    assert (e.height, e.width, e.mode, e.bit_depth, e.pixel_crc) == (32, 32, "RGBA", 8, 0xDEADBEEF)
    assert e.groups == [(0, [0, 1, 2]), (1, [3])] and e.tile == container.MAX_IMAGE_TILE
    assert [(m.family, m.name, m.weights) for m in header.models] == [(4, "", b"\1\2\3\4"), (3, "", b"\5\6\7\10")]
    assert header.chunked and [c.units for c in header.chunks] == [[(0, 0, 1)]]
    assert container.pack(header, PAYLOAD) == data  # what it parses to packs to the same bytes


@pytest.mark.parametrize("change", [
    dict(name="a.png"), dict(height=257, width=256), dict(tile=0), dict(groups=[(0, [2, 1, 0]), (1, [3])]),
])
def test_what_the_compact_layout_cannot_say_stays_chunked(change):
    data = container.pack(_header(**change), PAYLOAD)
    assert container.version_of(data) == container.CHUNKED


def test_three_plane_groups_stay_chunked():
    header = _header(groups=[(0, [0, 1]), (1, [2]), (2, [3])])
    header.models.append(ModelRef(3, "classical-v1", b"\5\6\7\10"))
    assert container.version_of(container.pack(header, PAYLOAD)) == container.CHUNKED


def test_metadata_are_kept_and_checked_by_a_crc_of_their_own():
    metadata = {"png:palette": bytes(range(48)), "icc_profile": b"x" * 300}
    data = container.pack(_header(metadata=metadata), PAYLOAD)
    assert container.version_of(data) == container.COMPACT
    header, start = container.parse(data)
    assert header.entries[0].metadata == metadata and data[start:] == PAYLOAD
    for pos in range(start - 4 - len(metadata_bytes(metadata)), start):
        raw = bytearray(data)
        raw[pos] ^= 4
        with pytest.raises(FormatError):
            container.parse(bytes(raw))


@pytest.mark.parametrize("header_change", [dict(tile=32), dict(batch=8), dict(coder=1)])
def test_other_tiles_batches_and_coders_stay_chunked(header_change):
    data = container.pack(dataclasses.replace(_header(), **header_change), PAYLOAD)
    assert container.version_of(data) == container.CHUNKED


def test_adapted_or_flow_models_and_seeds_stay_chunked():
    for change in (lambda h: setattr(h.models[0], "adapter", b"\7"), lambda h: setattr(h.models[0], "family", 1),
                   lambda h: setattr(h.chunks[0], "seed", 1)):
        header = _header()
        change(header)
        assert container.version_of(container.pack(header, PAYLOAD)) == container.CHUNKED


@pytest.mark.parametrize("tail, message", [
    (b"", "coded stream"), (b"\1\0\0", "coded stream"), (b"\1\0\0\0\2\0\0\0\3", "coded stream"),
])
def test_a_payload_that_cannot_be_a_stack_is_refused(tail, message):
    data = container.pack(_header(), PAYLOAD)
    start = container.parse(data)[1]
    with pytest.raises(FormatError, match=message):
        container.parse(data[:start] + tail)


@pytest.mark.parametrize("size", [(0, 5), (5, 0), (300, 300), (5000, 1)])
def test_declared_sizes_out_of_range_are_refused(size):
    head = container.MAGIC + bytes([container.COMPACT, 2 | 7 << 2]) + container.varint(size[0])
    data = head + container.varint(size[1]) + bytes([4 << 4 | 7]) + b"\0" * 4 + b"\0" * 12
    with pytest.raises(FormatError):
        container.parse(data)


def test_groups_must_cover_the_planes_once():
    head = container.MAGIC + bytes([container.COMPACT, 3 | 7 << 2 | 1 << 6, 4, 4])
    data = head + bytes([4 << 4 | 7]) + b"\1\2\3\4" + bytes([3 << 4 | 3]) + b"\5\6\7\10" + b"\0" * 12
    with pytest.raises(FormatError, match="cover"):
        container.parse(data)


def test_a_flow_family_is_refused():
    data = container.MAGIC + bytes([container.COMPACT, 2 | 7 << 2, 4, 4, 1 << 4 | 7]) + b"\0" * 16
    with pytest.raises(FormatError, match="codec"):
        container.parse(data)


PICTURES = {
    "1x1 gray": Picture(np.array([[[7]]], np.uint8), "L"),
    "odd RGB": Picture(np.random.default_rng(0).integers(0, 256, (7, 13, 3), dtype=np.uint8), "RGB"),
    "RGBA": Picture(np.random.default_rng(1).integers(0, 256, (9, 5, 4), dtype=np.uint8), "RGBA"),
    "16-bit gray": Picture(np.random.default_rng(2).integers(0, 65536, (6, 4, 1), dtype=np.uint16), "L",
                           bit_depth=16),
    "256x256 RGB": Picture(smooth_image(3, 256, 256).transpose(1, 2, 0).copy(), "RGB"),
}


@pytest.mark.parametrize("which", PICTURES)
def test_small_pictures_of_the_classical_coder_are_compact_and_exact(classical, which):
    picture = PICTURES[which]
    data, _ = api.encode([("", picture)])
    assert container.version_of(data) == container.NUMBERED
    (_, back), = api.decode(data)
    np.testing.assert_array_equal(back.pixels, picture.pixels)
    assert (back.mode, back.bit_depth) == (picture.mode, picture.bit_depth)


def test_a_png_with_a_palette_and_chunks_is_compact_and_written_back(classical, tmp_path):
    from PIL import Image

    from flowzip.cli.main import main
    from click.testing import CliRunner

    image = Image.fromarray(np.random.default_rng(4).integers(0, 7, (12, 9), dtype=np.uint8), "P")
    image.putpalette(list(range(0, 21 * 4))[:21])
    image.save(tmp_path / "icon.png", dpi=(72, 72))
    runner = CliRunner()
    assert runner.invoke(main, ["compress", str(tmp_path / "icon.png"), "-q"]).exit_code == 0
    data = (tmp_path / "icon.fz").read_bytes()
    assert container.version_of(data) == container.NUMBERED
    assert "png:palette" in container.parse(data)[0].entries[0].metadata
    result = runner.invoke(main, ["decompress", str(tmp_path / "icon.fz"), "-o", str(tmp_path / "back.png")])
    assert result.exit_code == 0, result.output
    back = Image.open(tmp_path / "back.png")
    assert back.mode == "P" and back.getpalette() == image.getpalette() and back.info["dpi"] == Image.open(tmp_path / "icon.png").info["dpi"]
    np.testing.assert_array_equal(np.asarray(back), np.asarray(image))


def test_a_larger_picture_stays_chunked(classical):
    data, _ = api.encode([("", Picture(smooth_image(3, 257, 256).transpose(1, 2, 0).copy(), "RGB"))])
    assert container.version_of(data) == container.SEALED_CHUNKS


def test_a_local_prior_file_is_compact_and_decodes_with_its_model_given():
    _, prior = tiny_prior(3)
    pixels = smooth_image(3, 11, 9).transpose(1, 2, 0).copy()
    data, _ = api.encode([("", Picture(pixels, "RGB"))], prior)
    assert container.version_of(data) == container.NUMBERED
    (_, back), = api.decode(data, model=prior)
    np.testing.assert_array_equal(back.pixels, pixels)
    with pytest.raises(ModelError, match="local family with weights 00000000, which is not installed"):
        api.decode(data)


@pytest.mark.parametrize("which", ["odd RGB", "RGBA"])
def test_version_4_and_5_files_keep_decoding(classical, which):
    """The same picture in version 5 (its models named by their weights) and 4 (its chunk on a
    plain stack, the pixel CRC in the header)."""
    picture = PICTURES[which]
    numbered, _ = api.encode([("", picture)])
    for data, version in ((by_weights(numbered), container.SEALED), (unsealed(numbered), container.COMPACT)):
        assert container.version_of(data) == version and len(data) > len(numbered)
        (_, back), = api.decode(data)
        np.testing.assert_array_equal(back.pixels, picture.pixels)
        raw = bytearray(data)
        raw[-9] ^= 1
        with pytest.raises(FlowzipError):
            api.decode(bytes(raw))


def test_models_are_found_by_their_weights(classical):
    data, _ = api.encode([("", PICTURES["odd RGB"])])
    ref = container.parse(data)[0].models[0]
    assert zoo.name_of(ref.family, ref.weights) == zoo.CLASSICAL
    assert zoo.name_of(ref.family, b"\0\0\0\0") is None and zoo.name_of(4, ref.weights) is None


def test_every_bit_flip_and_truncation_is_refused_or_changes_nothing(classical):
    """No header CRC: the pixel CRC (and the stack's own checks) must catch every change that
    matters; a flip of a bit that carries nothing (the slack at the end of the classical coder's
    range-coded bytes) decodes to the true pixels."""
    picture = Picture(np.random.default_rng(3).integers(0, 256, (4, 5, 3), dtype=np.uint8), "RGB")
    data, _ = api.encode([("", picture)])
    start = container.parse(data)[1]
    assert container.version_of(data) == container.NUMBERED
    harmless = []
    for pos in range(len(data)):
        for bit in range(8):
            raw = bytearray(data)
            raw[pos] ^= 1 << bit
            try:
                (_, back), = api.decode(bytes(raw))
            except FlowzipError:
                continue
            np.testing.assert_array_equal(back.pixels, picture.pixels)
            harmless.append(pos)
    assert all(pos >= start for pos in harmless) and len(harmless) < 8
    for n in range(len(data)):
        with pytest.raises(FlowzipError):
            api.decode(data[:n])
    with pytest.raises(FlowzipError):
        api.decode(data + b"\0\0\0\0")
