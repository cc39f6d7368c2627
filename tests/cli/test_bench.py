"""``flowzip bench`` on the command line: JSON and CSV written, a mismatch loud."""

import csv
import json

import numpy as np
from click.testing import CliRunner

from flowzip import bench
from flowzip.cli.main import main


def _broken() -> bench.Codec:
    def decode(data):
        pixels = np.frombuffer(data[:-3], np.uint8).reshape(8, 8, 3).copy()
        pixels[0, 0, 0] ^= 1
        return pixels

    return bench.Codec("broken", "raw bytes, one bit flipped on decode", lambda p: p.tobytes() + b"\x08\x08\x03",
                       decode)


def test_cli_writes_json_and_csv(tiny_models, tinyset, tmp_path):
    out_json, out_csv = tmp_path / "b.json", tmp_path / "b.csv"
    result = CliRunner().invoke(main, ["bench", str(tinyset), "--codecs", "flowzip,png-pillow", "--limit", "2",
                                       "--json", str(out_json), "--csv", str(out_csv), "--per-image"])
    assert result.exit_code == 0, result.output
    assert "im1.png" in result.output and "im2.png" not in result.output
    doc = json.loads(out_json.read_text())
    assert doc["summary"]["all_verified"] and len(doc["rows"]) == 4
    assert {"date", "cpu", "cores", "torch_threads", "gpu", "flowzip", "imagecodecs"} <= set(doc["environment"])
    with open(out_csv) as f:
        table = list(csv.DictReader(f))
    assert len(table) == 4 and table[0]["codec"] == "flowzip" and table[0]["verified"] == "True"


def test_mismatch_is_loud(tiny_models, tinyset, tmp_path, monkeypatch):
    monkeypatch.setitem(bench.BASELINES, "broken", _broken)
    rows = bench.run_bench(bench.load_images([tinyset]), [_broken(), bench.BASELINES["png-pillow"]()])
    assert [r["verified"] for r in rows if r["codec"] == "broken"] == [False] * 3
    assert all(r["verified"] for r in rows if r["codec"] == "png-pillow")
    assert not bench.summarize(rows)["all_verified"]

    out_json = tmp_path / "b.json"
    result = CliRunner().invoke(main, ["bench", str(tinyset), "--codecs", "png-pillow,broken",
                                       "--json", str(out_json)])
    assert result.exit_code == 1
    assert "ROUND TRIP MISMATCH: codec broken on image im0.png" in result.output
    assert "png-pillow on image" not in result.output
    assert not json.loads(out_json.read_text())["summary"]["all_verified"]


def test_bench_on_a_log_says_how_it_goes(tiny_models, tinyset, monkeypatch):
    """Where stderr is not a terminal, the benchmark says how far it is (a line each quarter)."""
    from flowzip.cli import common

    monkeypatch.setattr(common.Progress, "LONG", 1)
    result = CliRunner().invoke(main, ["bench", str(tinyset), "--codecs", "flowzip,png-pillow"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("flowzip: benchmarking: ")]
    assert lines[0] == "flowzip: benchmarking: 6 codings to go" and lines[-1] == "flowzip: benchmarking: 100 % of 6 codings"
