"""The command line as a whole (``flowzip.cli.main``): bad input is one line naming the file and a
non-zero exit, --debug shows the traceback, a closed pipe exits quietly."""

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from flowzip.cli import main as cli
from flowzip.cli.main import main


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def image_path(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)).save(path)
    return path


def _one_error_line(result):
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert lines and lines[-1].startswith("flowzip: error:"), result.output
    assert "Traceback" not in result.output
    return lines[-1]


def _png(path, shape=(20, 30, 3), seed=0):
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)).save(path)
    return path


def _archive(runner, tmp_path, n=3):
    paths = [_png(tmp_path / f"im{i}.png", seed=i) for i in range(n)]
    archive = tmp_path / "set.fz"
    assert runner.invoke(main, ["compress", *map(str, paths), "-o", str(archive)]).exit_code == 0
    return archive, paths


@pytest.mark.parametrize("args, expected", [
    (["compress", "missing.png"], "No such file"),
    (["decompress", "missing.fz"], "missing.fz"),
    (["compress", "-f", "--model", "nope", "IMAGE"], "unknown model"),
    (["decompress", "NOTFZ"], "not a flowzip file"),
    (["decompress", "FZ", "-o", "out.jpg"], "lossless format"),
    (["info", "NOTFZ"], "not a flowzip file"),
])
def test_bad_input_gives_one_line(runner, tiny_models, image_path, tmp_path, args, expected):
    fz = tmp_path / "photo.fz"
    runner.invoke(main, ["compress", str(image_path)])
    subs = {"IMAGE": str(image_path), "NOTFZ": str(image_path), "FZ": str(fz),
            "out.jpg": str(tmp_path / "out.jpg"), "missing.png": str(tmp_path / "missing.png"),
            "missing.fz": str(tmp_path / "missing.fz")}
    line = _one_error_line(runner.invoke(main, [subs.get(a, a) for a in args]))
    assert expected in line
    assert not (tmp_path / "out.jpg").exists()


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback(runner, tiny_models, tmp_path, where):
    """--debug lets the error itself out (its traceback), before or after the subcommand; without it
    the command exits with one line."""
    args = ["info", str(tmp_path / "nothing.fz")]
    result = runner.invoke(main, ["--debug", *args] if where == "before" else [*args, "--debug"])
    assert isinstance(result.exception, FileNotFoundError)
    assert isinstance(runner.invoke(main, args).exception, SystemExit)


def test_errors_name_the_file_and_show_no_object(runner, tiny_models, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"this is not an image")
    line = _one_error_line(runner.invoke(main, ["compress", str(bad)]))
    assert str(bad) in line and "<_io" not in line and " at 0x" not in line and "<bytes>" not in line
    fz = tmp_path / "bad.fz"
    fz.write_bytes(b"FLZ\x01" + bytes(40))
    line = _one_error_line(runner.invoke(main, ["decompress", str(fz)]))
    assert line.startswith(f"flowzip: error: {fz}: ")
    archive, _ = _archive(runner, tmp_path)
    archive.write_bytes(archive.read_bytes()[:-3])
    line = _one_error_line(runner.invoke(main, ["decompress", str(archive), "-o", str(tmp_path / "out")]))
    assert line.startswith(f"flowzip: error: {archive}: ") and "truncated" in line


def test_a_closed_pipe_exits_quietly(tiny_models, image_path, tmp_path):
    import subprocess
    import sys

    assert CliRunner().invoke(main, ["compress", str(image_path)]).exit_code == 0
    fz = str(tmp_path / "photo.fz")
    proc = subprocess.Popen([sys.executable, "-m", "flowzip.cli", "info", *[fz] * 2000],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.read(10)
    proc.stdout.close()  # like `| head -c 10`
    stderr = proc.stderr.read().decode()
    assert proc.wait() == cli.SIGPIPE_EXIT and stderr == ""
