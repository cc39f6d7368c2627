import csv
import json
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from flowzip import bench, policy
from flowzip.cli.main import main
from helpers import set_policy

IMAGECODECS_NAMES = {"png", "webp", "jxl-e7", "jxl-e9", "jpeg2000", "jpegls", "qoi"}


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "tinyset"
    path.mkdir()
    for k in range(3):
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(path / f"im{k}.png")
    return path


def test_bench_reports_every_codec(tiny_models, folder, tmp_path):
    gray = tmp_path / "gray.npy"
    np.save(gray, np.random.default_rng(1).integers(0, 256, (2, 8, 8, 1), dtype=np.uint8))
    images = bench.load_images([folder, gray])
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


def test_cli_writes_json_and_csv(tiny_models, folder, tmp_path):
    out_json, out_csv = tmp_path / "b.json", tmp_path / "b.csv"
    result = CliRunner().invoke(main, ["bench", str(folder), "--codecs", "flowzip,png-pillow", "--limit", "2",
                                       "--json", str(out_json), "--csv", str(out_csv), "--per-image"])
    assert result.exit_code == 0, result.output
    assert "im1.png" in result.output and "im2.png" not in result.output
    doc = json.loads(out_json.read_text())
    assert doc["summary"]["all_verified"] and len(doc["rows"]) == 4
    assert {"date", "cpu", "cores", "torch_threads", "gpu", "flowzip", "imagecodecs"} <= set(doc["environment"])
    with open(out_csv) as f:
        table = list(csv.DictReader(f))
    assert len(table) == 4 and table[0]["codec"] == "flowzip" and table[0]["verified"] == "True"


def _broken() -> bench.Codec:
    def decode(data):
        pixels = np.frombuffer(data[:-3], np.uint8).reshape(8, 8, 3).copy()
        pixels[0, 0, 0] ^= 1
        return pixels

    return bench.Codec("broken", "raw bytes, one bit flipped on decode", lambda p: p.tobytes() + b"\x08\x08\x03",
                       decode)


def test_mismatch_is_loud(tiny_models, folder, tmp_path, monkeypatch):
    monkeypatch.setitem(bench.BASELINES, "broken", _broken)
    rows = bench.run_bench(bench.load_images([folder]), [_broken(), bench.BASELINES["png-pillow"]()])
    assert [r["verified"] for r in rows if r["codec"] == "broken"] == [False] * 3
    assert all(r["verified"] for r in rows if r["codec"] == "png-pillow")
    assert not bench.summarize(rows)["all_verified"]

    out_json = tmp_path / "b.json"
    result = CliRunner().invoke(main, ["bench", str(folder), "--codecs", "png-pillow,broken",
                                       "--json", str(out_json)])
    assert result.exit_code == 1
    assert "ROUND TRIP MISMATCH: codec broken on image im0.png" in result.output
    assert "png-pillow on image" not in result.output
    assert not json.loads(out_json.read_text())["summary"]["all_verified"]


def test_unknown_codec_and_missing_plotter(folder, monkeypatch):
    result = CliRunner().invoke(main, ["bench", str(folder), "--codecs", "nope"])
    assert result.exit_code == 1 and "unknown codec nope" in result.output
    def no_matplotlib():
        raise bench.FlowzipError("no plot")

    monkeypatch.setattr(bench, "require_matplotlib", no_matplotlib)
    result = CliRunner().invoke(main, ["bench", str(folder), "--plot", "x.png"])
    assert result.exit_code == 1 and result.output.strip().splitlines()[-1] == "flowzip: error: no plot"


def test_flowzip_codecs_follow_the_installed_models(tiny_models, folder, monkeypatch):
    (codec,), _ = bench.make_codecs(["flowzip"], ["tiny-gray"])
    assert codec.name == "flowzip:tiny-gray" and codec.channels == (1, 2, 4)
    notes = []
    assert bench.run_bench(bench.load_images([folder]), [codec], notes=notes) == []
    assert notes == ["flowzip:tiny-gray: skipped 3 image(s): codes 1/2/4 channels, not 3"]
    set_policy(monkeypatch, integer={3: "tiny-rgb", 1: "missing-gray"})
    (codec,), notes = bench.make_codecs(["flowzip"])
    assert codec.channels == (3,) and notes == ["flowzip: default model 'missing-gray' is not installed"]
    set_policy(monkeypatch, integer={3: "missing-rgb", 1: "missing-gray"})
    with pytest.raises(bench.ModelError, match="no flowzip model"):
        bench.make_codecs(["flowzip"])


def test_without_imagecodecs_only_flowzip_and_pillow(tiny_models, folder, monkeypatch):
    monkeypatch.setitem(sys.modules, "imagecodecs", None)  # import fails
    codecs, notes = bench.make_codecs()
    assert [c.name for c in codecs] == ["flowzip", "png-pillow"]
    assert len(notes) == len(IMAGECODECS_NAMES) and all("imagecodecs package is not installed" in n for n in notes)
    rows = bench.run_bench(bench.load_images([folder]), codecs)
    assert len(rows) == 6 and all(r["verified"] for r in rows)
    assert all(r["ratio_to_png"] == 1 for r in rows if r["codec"] == "png-pillow")
