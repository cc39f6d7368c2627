"""``flowzip.bench``: flowzip against other codecs, every round trip checked, with workers too."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from click.testing import CliRunner

from flowzip import bench
from flowzip.cli.main import main

from helpers import set_policy


def test_bench_with_workers_gives_the_same_rows(tiny_models, tree):
    images = bench.load_images([tree], recursive=True)
    assert [im.name for im in images] == ["a.png", "sub/b.png", "sub/deeper/c.bmp"]
    codecs = [bench.BASELINES["png-pillow"]()]
    one = bench.run_bench(images, codecs + bench.make_codecs(["flowzip"])[0])
    two = bench.run_bench(images, codecs + bench.make_codecs(["flowzip"])[0], jobs=2)
    assert [(r["image"], r["codec"], r["bytes"], r["verified"]) for r in one] == [
        (r["image"], r["codec"], r["bytes"], r["verified"]) for r in two]
    assert all(r["verified"] for r in two)


IMAGECODECS_NAMES = {"png", "webp", "jxl-e7", "jxl-e9", "jpeg2000", "jpegls", "qoi"}


def test_bench_reports_every_codec(tiny_models, tinyset, tmp_path):
    gray = tmp_path / "gray.npy"
    np.save(gray, np.random.default_rng(1).integers(0, 256, (2, 8, 8, 1), dtype=np.uint8))
    images = bench.load_images([tinyset, gray])
    assert [(i.set, i.name) for i in images][:3] == [("tinyset", f"im{k}.png") for k in range(3)]
    assert len(images) == 5 and images[3].pixels.shape == (8, 8, 1)
    codecs, notes = bench.make_codecs(estimate=True)
    notes_before = list(notes)
    rows = bench.run_bench(images, codecs, notes=notes)
    by_codec = {}
    for row in rows:
        by_codec.setdefault(row["codec"], []).append(row)
        assert row["verified"] and row["bpd"] > 0 and row["ratio_to_png"] > 0
        assert row["encode_mbps"] > 0 and row["decode_mbps"] > 0
    assert len(by_codec["flowzip"]) == 5 and len(by_codec["png-pillow"]) == 5
    assert all(r["estimated_bpd"] > 0 for r in by_codec["flowzip"])
    assert all(r["estimated_bpd"] is None for r in by_codec["png-pillow"])
    summary = bench.summarize(rows)
    assert summary["all_verified"]
    assert {(s["set"], s["codec"]) for s in summary["per_set"]} >= {("tinyset", "flowzip"), ("gray.npy", "flowzip")}

    pytest.importorskip("imagecodecs")
    assert not notes_before  # every baseline could be made
    assert IMAGECODECS_NAMES <= set(by_codec)
    for name in IMAGECODECS_NAMES:
        assert len([r for r in by_codec[name] if r["set"] == "tinyset"]) == 3
    assert all(r["ratio_to_png"] == 1 for r in by_codec["png"])
    assert any(n.startswith("qoi: skipped 2 image(s)") for n in notes)  # QOI cannot code gray


def test_unknown_codec_and_missing_plotter(tinyset, monkeypatch):
    result = CliRunner().invoke(main, ["bench", str(tinyset), "--codecs", "nope"])
    assert result.exit_code == 1 and "unknown codec nope" in result.output
    def no_matplotlib():
        raise bench.FlowzipError("no plot")

    monkeypatch.setattr(bench, "require_matplotlib", no_matplotlib)
    result = CliRunner().invoke(main, ["bench", str(tinyset), "--plot", "x.png"])
    assert result.exit_code == 1 and result.output.strip().splitlines()[-1] == "flowzip: error: no plot"


def test_flowzip_codecs_follow_the_installed_models(tiny_models, tinyset, monkeypatch):
    (codec,), _ = bench.make_codecs(["flowzip"], ["tiny-gray"])
    assert codec.name == "flowzip:tiny-gray" and codec.channels == (1, 2, 4)
    notes = []
    assert bench.run_bench(bench.load_images([tinyset]), [codec], notes=notes) == []
    assert notes == ["flowzip:tiny-gray: skipped 3 image(s): codes 1/2/4 channels, not 3"]
    set_policy(monkeypatch, integer={3: "tiny-rgb", 1: "missing-gray"})
    (codec,), notes = bench.make_codecs(["flowzip"])
    assert codec.channels == (3,) and notes == ["flowzip: default model 'missing-gray' is not installed"]
    set_policy(monkeypatch, integer={3: "missing-rgb", 1: "missing-gray"})
    with pytest.raises(bench.ModelError, match="no flowzip model"):
        bench.make_codecs(["flowzip"])


def test_without_imagecodecs_only_flowzip_and_pillow(tiny_models, tinyset, monkeypatch):
    monkeypatch.setitem(sys.modules, "imagecodecs", None)  # import fails
    codecs, notes = bench.make_codecs()
    assert [c.name for c in codecs] == ["flowzip", "png-pillow"]
    assert len(notes) == len(IMAGECODECS_NAMES) and all("imagecodecs package is not installed" in n for n in notes)
    rows = bench.run_bench(bench.load_images([tinyset]), codecs)
    assert len(rows) == 6 and all(r["verified"] for r in rows)
    assert all(r["ratio_to_png"] == 1 for r in rows if r["codec"] == "png-pillow")
