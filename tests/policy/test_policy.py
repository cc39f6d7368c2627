"""The policy (``flowzip.policy``): a value that plans by model names, with no I/O, once per file;
its defaults per picture; higher efforts never make larger files."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image

from flowzip import api, policy
from flowzip.fileformat import container
from flowzip.images.image import Picture

from helpers import set_policy


@pytest.fixture
def glow_default(tiny_models, monkeypatch):
    """The tiny Glow as the bits-back default for colour planes."""
    set_policy(monkeypatch, bits_back={3: "tiny-glow"})


def _models_in(data: bytes) -> list[str]:
    """The models a tiled file's plane groups name, or every model a stacked file names."""
    header = api.inspect(data)
    if header.version == container.TILED:
        return [header.models[m].name for m, _ in header.entries[0].groups]
    return [m.name for m in header.models]


def test_default_is_bits_back_for_images_larger_than_the_seed(glow_default):
    rng = np.random.default_rng(5)
    big = Picture(rng.integers(0, 256, (150, 200, 4), dtype=np.uint8), "RGBA")  # 12 tiles of 64
    small = Picture(rng.integers(0, 256, (100, 100, 3), dtype=np.uint8), "RGB")  # 4 tiles
    data, _ = api.compress_picture(big)
    assert sorted(_models_in(data)) == ["tiny-glow", "tiny-gray", "tiny-rgb"]  # rgb: the seed
    np.testing.assert_array_equal(api.decompress_picture(data).pixels, big.pixels)
    data, _ = api.compress_picture(small)  # a photo of integer flows: one chunk, no seed
    assert container.version_of(data) == container.SEALED_CHUNKS and _models_in(data) == ["tiny-rgb"]
    np.testing.assert_array_equal(api.decompress_picture(data).pixels, small.pixels)


def test_default_for_an_archive_counts_all_its_tiles(glow_default):
    rng = np.random.default_rng(6)
    crops = [(f"{i}.png", Picture(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), "RGB")) for i in range(7)]
    assert "tiny-glow" in _models_in(api.encode(crops, archive=True)[0])
    assert _models_in(api.encode(crops[:6], archive=True)[0]) == ["tiny-rgb"]


def test_default_gives_pictures_a_tile_wide_and_high_the_photo_model(glow_default, monkeypatch):
    set_policy(monkeypatch, bits_back_photo={3: "tiny-glow-photo"})
    rng = np.random.default_rng(7)
    photo = ("photo.png", Picture(rng.integers(0, 256, (64, 70, 3), dtype=np.uint8), "RGB"))
    strip = ("strip.png", Picture(rng.integers(0, 256, (40, 400, 3), dtype=np.uint8), "RGB"))  # 7 tiles
    thumbs = [(f"{i}.png", Picture(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), "RGB")) for i in range(7)]
    assert _models_in(api.compress_picture(strip[1])[0]) == ["tiny-glow", "tiny-rgb"]
    data, _ = api.encode([photo, *thumbs], archive=True)
    header, _ = container.parse(data)
    names = [m.name for m in header.models]
    assert [names[m] for m, _ in header.entries[0].groups] == ["tiny-glow-photo"]
    assert all([names[m] for m, _ in e.groups] == ["tiny-glow"] for e in header.entries[1:])
    for (_, a), (_, b) in zip([photo, *thumbs], api.decode(data)):
        np.testing.assert_array_equal(a.pixels, b.pixels)
    big = Picture(rng.integers(0, 256, (150, 200, 3), dtype=np.uint8), "RGB")
    assert _models_in(api.compress_picture(big)[0]) == ["tiny-glow-photo", "tiny-rgb"]
    set_policy(monkeypatch, bits_back_photo={3: "not-installed"})  # falls back to the general one
    assert _models_in(api.compress_picture(big)[0]) == ["tiny-glow", "tiny-rgb"]


def test_default_falls_back_to_the_integer_flow_without_the_bits_back_model(tiny_models, monkeypatch):
    set_policy(monkeypatch, bits_back={3: "not-installed"})
    picture = Picture(np.zeros((150, 200, 3), np.uint8), "RGB")
    assert _models_in(api.compress_picture(picture)[0]) == ["tiny-rgb"]


def test_default_gives_photos_the_integer_flow_tuned_on_photos(glow_default, monkeypatch):
    """Pictures a tile high and wide: coded by the photo IDF where no bits-back model codes them,
    and it seeds a stream whose first bits-back picture is one; thumbnails keep the general IDF."""
    set_policy(monkeypatch, integer_photo={3: "tiny-rgb-photo", 1: "tiny-gray-photo"})
    rng = np.random.default_rng(8)
    photo = Picture(rng.integers(0, 256, (64, 70, 3), dtype=np.uint8), "RGB")  # 2 tiles: no bits-back
    strip = Picture(rng.integers(0, 256, (40, 150, 3), dtype=np.uint8), "RGB")
    gray = Picture(rng.integers(0, 256, (64, 64, 2), dtype=np.uint8), "LA")
    big = Picture(rng.integers(0, 256, (150, 200, 4), dtype=np.uint8), "RGBA")
    thumbs = [(f"{i}.png", Picture(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), "RGB")) for i in range(7)]
    for picture, models in [(photo, ["tiny-rgb-photo"]), (strip, ["tiny-rgb"]), (gray, ["tiny-gray-photo"]),
                            (big, ["tiny-glow", "tiny-gray-photo", "tiny-rgb-photo"])]:
        data, _ = api.compress_picture(picture)
        assert sorted(_models_in(data)) == models
        np.testing.assert_array_equal(api.decompress_picture(data).pixels, picture.pixels)
    data, _ = api.encode([*thumbs, ("big.png", big)], archive=True, chunk=0)  # a thumbnail comes first: general seed
    header, _ = container.parse(data)
    assert header.models[header.seed].name == "tiny-rgb"
    for (_, a), (_, b) in zip([*thumbs, ("big.png", big)], api.decode(data)):
        np.testing.assert_array_equal(a.pixels, b.pixels)
    set_policy(monkeypatch, integer_photo={3: "not-installed", 1: "tiny-gray-photo"})  # falls back
    assert _models_in(api.compress_picture(photo)[0]) == ["tiny-rgb"]
    assert _models_in(api.compress_picture(gray)[0]) == ["tiny-gray-photo"]


# --- a value, by names, no I/O, once per file -----------------------------------------------------

def _thumb(seed=0, size=32):
    return Picture(np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8), "RGB")


def test_a_policy_is_a_value_that_plans_by_names_without_io(monkeypatch):
    """Planning reads no file, loads and hashes no model: it is told which names are installed."""
    import builtins

    from flowzip import zoo

    def no_io(*args, **kwargs):
        raise AssertionError("planning touched a file or a model")

    monkeypatch.setattr(builtins, "open", no_io)
    monkeypatch.setattr(zoo, "load_model", no_io)
    monkeypatch.setattr(zoo, "installed_names", no_io)
    chosen = policy.Policy()
    installed = frozenset(chosen.names())
    thumbs = chosen.local[3]  # the thumbnails' local prior, whichever version
    pictures = [_thumb(i) for i in range(8)]
    (plan,) = chosen.candidates(pictures, installed=installed)
    assert plan.models == [thumbs] and plan.coders == [thumbs]
    single = chosen.candidates([_thumb()], installed=installed)
    assert [p.models for p in single] == [[thumbs], ["classical-v1"]]  # a thumbnail both ways
    # a default not installed falls back to the next
    (plan,) = chosen.candidates(pictures, installed=installed - {thumbs})
    assert plan.models == ["glow-rgb-v2", "idf-rgb-v2"] and plan.coders == ["glow-rgb-v2"]
    (plan,) = chosen.candidates(pictures, installed=installed - {thumbs, "glow-rgb-v2"})
    assert plan.models == ["idf-rgb-v2"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        chosen.classical = None


def test_the_default_effort_gives_the_local_prior_photos_up_to_its_size():
    chosen = dataclasses.replace(policy.Policy(), local_default_pixels=96 * 96)
    installed = frozenset(chosen.names())
    guides = chosen.more_local_photo[3]  # the other guides, whichever versions
    assert guides
    for size, default in ((96, "guided-photo-v1"), (100, "classical-v1")):
        plans = chosen.candidates([_thumb(size=size)], installed=installed)
        assert plans[0].models == [default]  # the classical coder's plan follows (one picture)
        at_6 = [p.models for p in chosen.candidates([_thumb(size=size)], effort=6, installed=installed)]
        assert ["guided-photo-v1"] in at_6
        for guide in guides:
            assert [guide] in at_6  # each other guide, tried at effort 6-9 only
            assert [guide] not in [p.models for p in plans]
            fewer = [p.models for p in chosen.candidates([_thumb(size=size)], effort=6, installed=installed - {guide})]
            assert [[g] in fewer for g in guides] == [g != guide for g in guides]  # only that one gone
    at_6 = [p.models for p in chosen.candidates([_thumb()], effort=6, installed=installed)]
    assert not any([guide] in at_6 for guide in guides)


def test_the_policy_given_is_the_one_used(tiny_models):
    """A policy passed in plans the file; the default is not touched."""
    before = policy.DEFAULT
    flows_only = dataclasses.replace(policy.DEFAULT, classical=None)
    with_classical = dataclasses.replace(policy.DEFAULT, classical="classical-v1")
    photo = Picture(np.random.default_rng(1).integers(0, 256, (70, 70, 3), dtype=np.uint8), "RGB")
    assert _models_in(api.compress_picture(photo, policy=flows_only)[0]) == ["tiny-rgb"]
    assert _models_in(api.compress_picture(photo, policy=with_classical)[0]) == ["classical-v1"]
    assert policy.DEFAULT is before


def test_the_cluster_sends_its_policy_and_swaps_no_global(tiny_models, tmp_path):
    from flowzip.datasets import cluster

    before = policy.DEFAULT
    image = tmp_path / "a.png"
    Image.fromarray(np.random.default_rng(2).integers(0, 256, (70, 70, 3), dtype=np.uint8)).save(image)
    chosen = dataclasses.replace(policy.DEFAULT, classical="classical-v1")
    seen = []
    real = policy.Policy.candidates
    policy.Policy.candidates = lambda self, *a, **k: seen.append(self) or real(self, *a, **k)
    try:
        cluster.compress_shard(str(tmp_path / "shard.fz"), [[str(image), "a.png"]], {}, chosen)
    finally:
        policy.Policy.candidates = real
    assert seen == [chosen] and policy.DEFAULT is before
    assert _models_in((tmp_path / "shard.fz").read_bytes()) == ["classical-v1"]


def test_the_command_line_plans_each_file_once(classical, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from flowzip.cli.main import main

    paths = []
    for i in range(2):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(_thumb(i).pixels).save(paths[-1])
    calls = []
    real = policy.Policy.candidates
    monkeypatch.setattr(policy.Policy, "candidates", lambda self, *a, **k: calls.append(1) or real(self, *a, **k))
    result = CliRunner().invoke(main, ["compress", str(paths[0]), "--verify"])
    assert result.exit_code == 0, result.output
    assert len(calls) == 1
    calls.clear()
    result = CliRunner().invoke(main, ["compress", *map(str, paths), "-o", str(tmp_path / "set.fz")])
    assert result.exit_code == 0 and len(calls) == 1


# --- a higher effort never makes a larger file (rough edge 5) --------------------------------------

def test_higher_efforts_have_the_default_efforts_plans_among_theirs(classical):
    chosen = policy.DEFAULT
    for pictures in ([_thumb()], [_thumb(i) for i in range(3)],
                     [Picture(np.random.default_rng(3).integers(0, 256, (80, 90, 3), dtype=np.uint8), "RGB"),
                      _thumb(4)]):
        default = chosen.candidates(pictures)
        for effort in range(6, 10):
            plans = chosen.candidates(pictures, effort=effort)
            assert all(plan in plans for plan in default), (len(pictures), effort)


def test_efforts_that_adapt_have_each_adapted_plans_unadapted_twin():
    photo = Picture(np.random.default_rng(3).integers(0, 256, (80, 90, 3), dtype=np.uint8), "RGB")
    for pictures in ([photo], [_thumb(i) for i in range(3)]):
        for effort in (7, 9):
            plans = policy.DEFAULT.candidates(pictures, effort=effort)
            adapted = [p for p in plans if p.adapt is not None]
            assert adapted and all(dataclasses.replace(p, adapt=None) in plans for p in adapted)
            assert len(plans) == len({repr(p) for p in plans})  # no plan twice


def test_effort_7_on_a_single_thumbnail_is_no_larger_than_the_default(classical, monkeypatch):
    """Effort 7-9 made a single 32x32 image larger than effort 5 (an adapted chunk's header beside
    a tiled file's); the default's plans are now candidates too."""
    monkeypatch.setitem(policy.EFFORTS, 7, dataclasses.replace(policy.EFFORTS[7], adapt=("norms", 3, 1e-3)))
    thumb = _thumb(5)
    default, _ = api.compress_picture(thumb)
    higher, report = api.compress_picture(thumb, effort=7)
    assert len(higher) <= len(default) and report.plans == 3
    np.testing.assert_array_equal(api.decompress_picture(higher).pixels, thumb.pixels)


def test_the_stored_plan_codes_pictures_whole_with_the_classical_coder():
    chosen = policy.Policy()
    plan = chosen.stored([_thumb(), _thumb(1, 80)])
    assert plan.layout == container.CHUNKED and plan.models == ["classical-v1"]
    assert plan.tiles == [chosen.classical_tile] * 2
    assert dataclasses.replace(chosen, classical=None).stored([_thumb()]) is None
