"""Files written by flowzip 0.1 (tests/data/flowzip-0.1, a copy of ../shared/fixtures/flowzip-0.1)
decode to exactly their images, and the same inputs and models still give byte for byte the same
files in their layout (version 1, or version 2 with ``chunk=0``): the legacy coder cannot drift
(slow: the shipped models)."""

import hashlib

import numpy as np
import pytest
from PIL import Image

import flowzip
from flowzip import api, policy
from flowzip.fileformat import container

from conftest import DATA, shipped_model_available

FIXTURES = DATA / "flowzip-0.1"
SINGLE = [("k23-default.fz", "k23.png", None), ("k23-idf.fz", "k23.png", "idf-photo-v2"),
          ("gray.fz", "gray.png", None), ("rgba.fz", "rgba.png", None)]
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not shipped_model_available(), reason="shipped models not installed")]


@pytest.fixture
def policy_of_0_1(monkeypatch):
    """0.1's choices: its models, no classical coder, integer flows in the tiled layout."""
    monkeypatch.setattr(policy, "ACTIVE", policy.Policy(classical=None, integer_photo_chunk=False))


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
