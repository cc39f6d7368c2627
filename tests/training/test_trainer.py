"""The training pipeline end to end on tiny data: logs, held-out bpd, checkpoints, resume, export,
and two processes through torchrun with the gloo backend."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import flowzip
from flowzip import api, zoo
from flowzip.cli.main import main
from flowzip.training.trainer import export_checkpoint, train


@pytest.fixture
def tiny_run(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "arr.npy", rng.integers(0, 256, (40, 16, 16, 3), dtype=np.uint8))
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (70, 90, 3), dtype=np.uint8)).save(photos / f"p{i}.jpg")
    config = {
        "family": "idf",
        "model": {"channels": 3, "levels": 2, "couplings": [1, 1], "hidden": 8, "prior_hidden": 8,
                  "factor_out": 0.75, "output_scale": 16},
        "train": {"steps": 4, "batch": 4, "warmup": 2, "crop": 16, "held_out": 8, "held_out_photos": 1,
                  "eval_every": 2, "checkpoint_every": 2, "seed": 1, "threads": 1},
        "data": {"arrays": [str(tmp_path / "arr.npy")], "folders": [str(photos)], "jpeg_downsample": 2},
    }
    return tmp_path, config


def _log(run_dir):
    return [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]


def test_train_resume_export_and_use(tiny_run):
    tmp, config = tiny_run
    run_dir = tmp / "run"
    train(config, run_dir, log=lambda line: None)
    records = _log(run_dir)
    assert records[-1]["step"] == 4 and records[-1]["images_seen"] == 16
    assert "held_out_array_bpd" in records[-1] and "held_out_photos_bpd" in records[-1]
    config["train"]["steps"] = 6
    messages = []
    train(config, run_dir, resume=True, log=messages.append)
    assert messages[0] == "resumed from step 4" and _log(run_dir)[-1]["step"] == 6

    result = CliRunner().invoke(main, ["export", str(run_dir / "checkpoint.pt"), "--name", "mine",
                                       "--out", str(tmp / "models")])
    assert result.exit_code == 0, result.output
    card = json.loads((tmp / "models" / "mine.json").read_text())
    assert card["training"]["steps"] == 6 and card["sha256"] == zoo.file_sha256(tmp / "models" / "mine.safetensors")
    mode = (tmp / "models" / "mine.safetensors").stat().st_mode & 0o777
    assert mode == (tmp / "models" / "mine.json").stat().st_mode & 0o777  # readable like the card
    image = np.random.default_rng(1).integers(0, 256, (10, 9, 3), dtype=np.uint8)
    data, _ = api.compress_picture(api.read_image(image), str(tmp / "models" / "mine.json"))
    picture = api.decompress_picture(data, model=str(tmp / "models" / "mine.json"))
    np.testing.assert_array_equal(picture.pixels, image)


def test_torchrun_two_processes_with_gloo(tiny_run):
    tmp, config = tiny_run
    cfg_path = tmp / "config.json"
    cfg_path.write_text(json.dumps(config))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "flowzip.cli", "train", str(cfg_path), "--out", str(tmp / "ddp"), "--device", "cpu"]
    for _ in range(2):  # torchrun picks a free port and binds it later: another process may take it between
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
        if "Address already in use" not in result.stderr and "EADDRINUSE" not in result.stderr:
            break
    assert result.returncode == 0, result.stderr[-2000:]
    records = _log(tmp / "ddp")
    assert records[-1]["processes"] == 2
    assert records[-1]["images_seen"] == 4 * 4 * 2
    assert (tmp / "ddp" / "checkpoint.pt").exists()


def test_glow_trains_with_actnorm_initialised_and_codes(tiny_run, tiny_models):
    tmp, config = tiny_run
    config["family"] = "glow"
    config["model"] = {"channels": 3, "levels": 2, "steps": [1, 1], "hidden": 8, "prior_hidden": 8}
    run_dir = tmp / "glow"
    train(config, run_dir, log=lambda line: None)
    assert np.isfinite(_log(run_dir)[-1]["held_out_array_bpd"])
    path = export_checkpoint(run_dir / "checkpoint.pt", "mine-glow", tmp / "models")
    loaded = zoo.load_model(str(path))
    actnorm = loaded.model.levels[0].steps[0].actnorm
    assert bool(loaded.model.initialized) and actnorm.log_scale.abs().sum() > 0
    images = [(f"{i}.png", api.read_image(np.random.default_rng(i).integers(0, 256, (16, 16, 3), dtype=np.uint8)))
              for i in range(5)]
    data, _ = api.encode(images, str(path), archive=True)
    decoded = api.decode(data, model=str(path))
    for (_, a), (_, b) in zip(images, decoded):
        np.testing.assert_array_equal(a.pixels, b.pixels)


def test_fine_tuning_starts_from_a_released_model(tiny_run):
    tmp, config = tiny_run
    train(config, tmp / "base", log=lambda line: None)
    base = export_checkpoint(tmp / "base" / "checkpoint.pt", "base", tmp / "models")
    config["train"].update(init=str(base), lr=0.0, steps=1)  # no update: the weights stay the release's
    train(config, tmp / "tuned", log=lambda line: None)
    tuned = export_checkpoint(tmp / "tuned" / "checkpoint.pt", "tuned", tmp / "models")
    assert zoo.load_model(str(tuned)).sha256 == zoo.load_model(str(base)).sha256

    config["model"]["hidden"] = 16
    with pytest.raises(flowzip.errors.ModelError, match="another family or architecture"):
        train(config, tmp / "other", log=lambda line: None)


def test_a_grown_model_starts_as_the_released_one(tiny_run):
    """``init`` with couplings added in pairs: the new couplings start as identities, so before any
    update the grown model gives every image the same likelihood and the same file size."""
    tmp, config = tiny_run
    train(config, tmp / "base", log=lambda line: None)
    base = export_checkpoint(tmp / "base" / "checkpoint.pt", "base", tmp / "models")
    config["model"]["couplings"] = [3, 1]
    config["train"].update(init=str(base), lr=0.0, steps=1)
    train(config, tmp / "grown", log=lambda line: None)
    grown = export_checkpoint(tmp / "grown" / "checkpoint.pt", "grow", tmp / "models")  # as long a name as "base"
    image = api.read_image(np.random.default_rng(2).integers(0, 256, (20, 24, 3), dtype=np.uint8))
    sizes = []
    for model in (base, grown):
        data, _ = api.compress_picture(image, str(model))
        np.testing.assert_array_equal(api.decompress_picture(data, model=str(model)).pixels, image.pixels)
        sizes.append(len(data))
    assert sizes[0] == sizes[1]

    for couplings in ([2, 1], [1, 0]):  # one coupling more flips the channels; fewer is no growth
        config["model"]["couplings"] = couplings
        with pytest.raises(flowzip.errors.ModelError, match="another family or architecture"):
            train(config, tmp / "odd", log=lambda line: None)


class _Payload:
    """An object whose unpickling would run code."""

    def __reduce__(self):
        return (os.system, ("echo pwned > pwned.txt",))


def test_checkpoints_load_without_pickle(tiny_run, monkeypatch):
    """Checkpoints hold weights and numbers only: one that holds other objects is refused, and the
    object's code never runs."""
    tmp, config = tiny_run
    train(config, tmp / "run", log=lambda line: None)
    import torch

    state = torch.load(tmp / "run" / "checkpoint.pt", weights_only=True)
    state["extra"] = _Payload()
    torch.save(state, tmp / "evil.pt")
    monkeypatch.chdir(tmp)
    with pytest.raises(flowzip.FlowzipError, match="refused"):
        export_checkpoint(tmp / "evil.pt", "evil", tmp / "models")
    assert not (tmp / "pwned.txt").exists()
    (tmp / "evil").mkdir()
    (tmp / "evil" / "checkpoint.pt").write_bytes((tmp / "evil.pt").read_bytes())
    with pytest.raises(flowzip.FlowzipError, match="refused"):
        train(config, tmp / "evil", resume=True, log=lambda line: None)
    assert not (tmp / "pwned.txt").exists()


def test_exported_models_are_found_by_name(tiny_run, tiny_models, user_model_folder):
    """`flowzip export` writes into the user model folder, where `flowzip models`, `--model NAME` and
    the decoder find the model; a file whose model is missing says how to install it."""
    tmp, config = tiny_run
    train(config, tmp / "mine", log=lambda line: None)
    runner = CliRunner()
    result = runner.invoke(main, ["export", str(tmp / "mine" / "checkpoint.pt"), "--name", "my-idf"])
    assert result.exit_code == 0 and str(user_model_folder) in result.output
    assert "my-idf" in runner.invoke(main, ["models"]).output
    image = tmp / "x.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (20, 24, 3), dtype=np.uint8)).save(image)
    result = runner.invoke(main, ["compress", str(image), "--model", "my-idf"])
    assert result.exit_code == 0, result.output
    data = (tmp / "x.fz").read_bytes()
    np.testing.assert_array_equal(flowzip.decompress(data), np.asarray(Image.open(image)))
    for f in user_model_folder.glob("my-idf.*"):
        f.unlink()
    zoo.load_model.cache_clear()
    with pytest.raises(flowzip.ModelError, match="needs model 'my-idf'.*FLOWZIP_MODEL_DIR"):
        flowzip.decompress(data)


def test_a_run_stops_with_a_checkpoint_when_its_time_is_up(tiny_run):
    tmp, config = tiny_run
    config["train"].update(steps=1000, max_wall_s=1e-6, checkpoint_every=1000)
    messages = []
    path = train(config, tmp / "timed", log=messages.append)
    import torch

    step = torch.load(path, weights_only=True)["step"]
    assert step == 10 and any("used up" in m for m in messages)  # the time is checked every 10 steps


def test_training_on_a_log_says_how_it_goes(tiny_run):
    """Where stderr is not a terminal, ``flowzip train`` says what it trains and each record of the
    run (every 50 steps, and its evaluations), not nothing until the end."""
    tmp, config = tiny_run
    (tmp / "config.json").write_text(json.dumps(config))
    result = CliRunner().invoke(main, ["train", str(tmp / "config.json"), "--out", str(tmp / "run"), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == f"flowzip: training idf for 4 steps into {tmp / 'run'}"
    assert any(line.startswith("flowzip: step=4 ") and "held_out_array_bpd" in line for line in lines)
