"""Folders and many files on the command line: -r like gzip, trees mirrored, failures named and
the others go on, interruptions leave only whole files, restored names never leave the folder."""

from __future__ import annotations

import os

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from samples import damage_chunk, small_pictures, smooth

from flowzip import api
from flowzip.cli.main import main
from flowzip.images.image import Picture

from helpers import set_policy


def _pixels(path):
    return np.asarray(Image.open(path))


def _same_tree(a, b, suffix=None):
    for f in sorted(a.rglob("*")):
        if f.suffix in (".png", ".bmp"):
            other = b / f.relative_to(a)
            np.testing.assert_array_equal(_pixels(other), _pixels(f))


def test_one_large_image_uses_the_workers_from_the_command_line(glow_default, monkeypatch, tmp_path):
    set_policy(monkeypatch, job_chunk_tiles=4)
    set_policy(monkeypatch, stacked_tile=16)
    pixels = smooth(np.random.default_rng(5), 64, 70)
    Image.fromarray(pixels).save(tmp_path / "big.png")
    runner = CliRunner()
    result = runner.invoke(main, ["compress", str(tmp_path / "big.png"), "-j", "2", "--no-png"])
    assert result.exit_code == 0, result.output
    assert len(api.inspect((tmp_path / "big.fz").read_bytes()).chunks) == 2
    result = runner.invoke(main, ["decompress", str(tmp_path / "big.fz"), "-j", "2", "-o", str(tmp_path / "back.png")])
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(_pixels(tmp_path / "back.png"), pixels)


def test_a_folder_becomes_an_archive_and_its_tree_comes_back(small_chunks, tree, tmp_path):
    runner = CliRunner()
    out = tmp_path / "set.fz"
    result = runner.invoke(main, ["compress", str(tree), "-r", "-j", "2", "-o", str(out), "--no-png"])
    assert result.exit_code == 0, result.output
    assert [e.name for e in api.inspect(out.read_bytes()).entries] == ["a.png", "sub/b.png", "sub/deeper/c.bmp"]
    listing = runner.invoke(main, ["list", str(out)])
    assert listing.exit_code == 0 and "sub/deeper/c.bmp" in listing.output and "30x9" in listing.output
    back = tmp_path / "back"
    result = runner.invoke(main, ["decompress", str(out), "-o", str(back), "-j", "2"])
    assert result.exit_code == 0, result.output
    _same_tree(tree, back)
    only = tmp_path / "only"
    result = runner.invoke(main, ["decompress", str(out), "-o", str(only), "--only", "sub/b.png"])
    assert result.exit_code == 0, result.output
    assert [p.relative_to(only).as_posix() for p in only.rglob("*.png")] == ["sub/b.png"]


def test_folders_need_r_like_gzip(tiny_models, tree, tmp_path):
    result = CliRunner().invoke(main, ["compress", str(tree), "-o", str(tmp_path / "set.fz")])
    assert result.exit_code == 1 and "is a directory (use -r" in result.output and "Traceback" not in result.output


def test_single_files_from_folders_mirror_the_tree(tiny_models, tree, tmp_path):
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(main, ["compress", str(tree), "-r", "-j", "2", "-o", f"{out}/", "--no-png", "-q"])
    assert result.exit_code == 0 and result.output == ""
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.fz")) == ["a.fz", "sub/b.fz", "sub/deeper/c.fz"]
    back = tmp_path / "back"
    result = runner.invoke(main, ["decompress", str(out), "-r", "-j", "2", "-o", f"{back}/"])
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(_pixels(back / "sub" / "deeper" / "c.png"), _pixels(tree / "sub" / "deeper" / "c.bmp"))
    result = runner.invoke(main, ["compress", str(tree), "-r", "--no-png"])  # beside each input, as gzip -r
    assert result.exit_code == 0 and (tree / "sub" / "b.fz").exists()


def test_a_failing_file_is_named_and_the_others_go_on(tiny_models, tree, tmp_path):
    (tree / "sub" / "broken.png").write_bytes(b"not a png")
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(main, ["compress", str(tree), "-r", "-j", "2", "-o", f"{out}/", "--no-png"])
    assert result.exit_code == 1
    assert [line for line in result.output.splitlines() if "error" in line] == [
        f"flowzip: error: {tree / 'sub' / 'broken.png'}: cannot read image (not an image format flowzip reads)"]
    assert len(list(out.rglob("*.fz"))) == 3
    fast = tmp_path / "fast"
    result = runner.invoke(main, ["compress", str(tree / "sub" / "broken.png"), str(tree / "a.png"), "--fail-fast",
                                  "-o", f"{fast}/", "--no-png"])
    assert result.exit_code == 1 and not list(fast.rglob("*.fz"))


def test_an_interrupted_run_leaves_no_partial_files(tiny_models, tree, tmp_path, monkeypatch):
    from flowzip.cli import common as cli

    real = cli.atomic_write
    calls = []

    def interrupted(path, data, overwrite=False):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real(path, data, overwrite)

    monkeypatch.setattr(cli, "atomic_write", interrupted)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["compress", str(tree), "-r", "-j", "2", "-o", f"{out}/", "--no-png"])
    assert result.exit_code == 130
    written = list(out.rglob("*"))
    assert [p for p in written if p.is_file()] == [calls[0]]  # the one whole file, nothing partial
    assert not list(tmp_path.rglob("*.tmp"))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a named pipe")
def test_sigterm_ends_a_j_run_and_leaves_only_whole_files(tiny_models, tmp_path):
    """SIGTERM ends a -j run at once, every file written whole and nothing half-written. The last
    input is a named pipe nobody writes to: its worker waits on it, so the run is still going,
    whatever the machine's speed, when the others are written and the signal comes."""
    import shutil
    import signal
    import subprocess
    import sys
    import threading

    models, images, out = tmp_path / "models", tmp_path / "images", tmp_path / "out"
    shutil.copytree(tiny_models, models)
    images.mkdir()
    rng = np.random.default_rng(6)
    for name in ("a", "b", "c"):
        Image.fromarray(smooth(rng, 64, 64)).save(images / f"{name}.png")
    os.mkfifo(images / "z.png")
    inputs = [str(images / f"{name}.png") for name in ("a", "b", "c", "z")]
    command = [sys.executable, "-m", "flowzip.cli", "compress", *inputs, "-j", "2", "-m", "tiny-rgb",
               "-o", f"{out}/", "--no-png", "-q"]
    run = subprocess.Popen(command, env={**os.environ, "FLOWZIP_MODEL_DIR": str(models)}, stderr=subprocess.PIPE,
                           text=True)
    while len(list(out.glob("*.fz"))) < 3 and run.poll() is None:
        threading.Event().wait(0.01)
    assert run.poll() is None  # waiting on the pipe
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=120)
    assert run.returncode == 143 and err.strip() == "flowzip: interrupted"
    written = sorted(out.glob("*"))
    assert [p.name for p in written] == ["a.fz", "b.fz", "c.fz"]
    for path in written:  # every file there is whole
        np.testing.assert_array_equal(api.decompress(path.read_bytes()), _pixels(images / f"{path.stem}.png"))


def test_a_damaged_chunk_is_named_and_the_rest_written(small_chunks, tmp_path):
    pictures = small_pictures()
    data, _ = api.encode(pictures, "tiny-rgb")
    header = api.inspect(data)
    fz = tmp_path / "set.fz"
    fz.write_bytes(damage_chunk(data, 0))
    result = CliRunner().invoke(main, ["decompress", str(fz), "-o", str(tmp_path / "back")])
    lost = [pictures[i][0] for i, _, _ in header.chunks[0].units]
    assert result.exit_code == 1
    line = result.output.strip().splitlines()[-1]
    assert line.startswith(f"flowzip: error: {fz}: {len(lost)} of 12 images not restored (corrupt file: chunk checksum")
    assert all(name in line for name in lost)
    assert len(list((tmp_path / "back").rglob("*.png"))) == len(pictures) - len(lost)


def test_restored_names_never_leave_the_output_folder(tiny_models, tmp_path):
    rng = np.random.default_rng(3)
    names = ["../evil.png", "/abs/x.png", "a/../../b.png", "C:\\win\\c.png", ".."]
    pictures = [(n, Picture(smooth(rng, 8, 8), "RGB")) for n in names]
    fz = tmp_path / "set.fz"
    fz.write_bytes(api.encode(pictures, "tiny-rgb")[0])
    out = tmp_path / "box" / "out"
    result = CliRunner().invoke(main, ["decompress", str(fz), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == [
        "a/b.png", "abs/x.png", "evil.png", "image_00004.png", "win/c.png"]
    assert [p for p in (tmp_path / "box").iterdir()] == [out]
