"""The cluster engine on a local Dask cluster of two worker processes: a collection becomes shard
archives and a manifest, a killed worker's shard is done elsewhere, and a restarted job skips the
shards already written."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys

import numpy as np
import pytest
from PIL import Image

from flowzip import api, zoo
from flowzip.errors import FlowzipError

distributed = pytest.importorskip("distributed")
from flowzip.datasets import cluster  # noqa: E402


@pytest.fixture(scope="module")
def client(tiny_zoo_dir, tmp_path_factory):
    """Two worker processes (one thread each) that find the tiny models in their user model folder."""
    folder = tmp_path_factory.mktemp("cluster-models")
    for f in tiny_zoo_dir.iterdir():
        shutil.copy(f, folder)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(zoo.MODEL_DIR_VARIABLE, str(folder))
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                      silence_logs=50) as local, distributed.Client(local) as c:
            yield c


@pytest.fixture
def collection(tmp_path):
    """data/{cats,dogs}/NN.png: 12 small images in two folders."""
    rng = np.random.default_rng(0)
    for i in range(12):
        folder = tmp_path / "data" / ("cats" if i < 6 else "dogs")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(folder / f"{i:02d}.png")
    return tmp_path / "data"


def _check(out, collection):
    manifest = json.loads((out / cluster.MANIFEST).read_text())
    assert manifest["complete"] and manifest["images"] == 12 and len(manifest["shards"]) == 4
    for shard in manifest["shards"]:
        items = api.decompress_archive((out / shard["file"]).read_bytes())
        assert [name for name, _ in items] == shard["names"]
        for name, pixels in items:
            np.testing.assert_array_equal(pixels, np.asarray(Image.open(collection / name)))
    return manifest


def test_globs_are_named_below_their_fixed_part(collection):
    files = cluster.expand([f"{collection}/**/*.png"])
    assert [name for _, name in files][:2] == ["cats/00.png", "cats/01.png"] and len(files) == 12
    assert [name for _, name in cluster.expand([str(collection / "dogs")])][0] == "06.png"
    with pytest.raises(FlowzipError, match="both be named"):
        cluster.expand([str(collection / "cats"), str(collection / "cats" / "00.png")])


class _DieOnce(distributed.WorkerPlugin):
    """Kills the worker that starts a task first (once in the cluster: the marker file decides)."""

    def __init__(self, marker: str):
        self.marker = marker

    def transition(self, key, start, finish, **kwargs):
        if finish == "executing":
            try:
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return
            os.kill(os.getpid(), signal.SIGKILL)


def test_a_killed_worker_does_not_stop_the_job(tiny_models, client, collection, tmp_path):
    """A worker killed as it starts a shard (a plugin kills the first worker to start a task, once):
    Dask runs the shard again elsewhere and the job ends whole."""
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this module
    marker = tmp_path / "killed"
    client.register_plugin(_DieOnce(str(marker)), name="die-once")
    try:
        result = cluster.compress_collection([f"{collection}/**/*.png"], tmp_path / "out", client=client,
                                             shard_images=3, model="tiny-rgb")
    finally:
        client.unregister_worker_plugin("die-once")
    assert marker.exists()
    assert result["failed"] == {} and result["skipped"] == 0
    _check(tmp_path / "out", collection)


class _DriverDied(Exception):
    pass


def test_a_restarted_job_skips_finished_shards(tiny_models, client, collection, tmp_path):
    out = tmp_path / "out"
    seen = []

    def die_after_two(summary):
        seen.append(summary["file"])
        if len(seen) == 2:
            raise _DriverDied

    with pytest.raises(_DriverDied):
        cluster.compress_collection([str(collection)], out, client=client, shard_images=3, model="tiny-rgb",
                                    progress=die_after_two)
    stamps = {name: (out / name).stat().st_mtime_ns for name in seen}
    partial = json.loads((out / cluster.MANIFEST).read_text())
    assert not partial["complete"] and len(partial["shards"]) >= 1
    result = cluster.compress_collection([str(collection)], out, client=client, shard_images=3, model="tiny-rgb")
    assert result["skipped"] >= 2 and result["failed"] == {}
    assert {name: (out / name).stat().st_mtime_ns for name in seen} == stamps
    _check(out, collection)
    with pytest.raises(FlowzipError, match="another job"):
        cluster.compress_collection([str(collection)], out, client=client, shard_images=4, model="tiny-rgb")


def test_the_command_line_on_a_running_scheduler(tiny_models, client, collection, tmp_path):
    from click.testing import CliRunner

    from flowzip.cli.main import main

    out = tmp_path / "out"
    args = ["cluster", f"{collection}/**/*.png", "-o", str(out), "--scheduler", client.scheduler.address,
            "--shard-images", "5", "-m", "tiny-rgb"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "12 images in 3 of 3 shards (0 already done)" in result.output
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0 and "(3 already done)" in again.output


def test_a_finished_job_run_again_starts_no_cluster(tiny_models, client, collection, tmp_path, monkeypatch):
    """Run again on a finished job (here without a scheduler), the command says every shard is
    done and exits 0, without starting a cluster (it used to fail: "No clients found")."""
    from click.testing import CliRunner

    from flowzip.cli.main import main

    out = tmp_path / "out"
    cluster.compress_collection([str(collection)], out, client=client, shard_images=6, model="tiny-rgb")

    def no_cluster(*args, **kwargs):
        raise AssertionError("a cluster was started for a finished job")

    monkeypatch.setattr(distributed, "LocalCluster", no_cluster)
    monkeypatch.setattr(distributed, "Client", no_cluster)
    again = CliRunner().invoke(main, ["cluster", str(collection), "-o", str(out), "--shard-images", "6", "-m",
                                      "tiny-rgb"])
    assert again.exit_code == 0, again.output
    assert "12 images in 2 of 2 shards (2 already done)" in again.output
