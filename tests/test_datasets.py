"""Datasets at scale: worker processes, chunked archives by default with random access and damage
confined to a chunk, folders on the command line, the PyTorch dataset, and bench with -j."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from flowzip import api, bench, policy
from flowzip.pipelines import chunked
from flowzip.pipelines import workers as parallel
from flowzip.cli.main import main
from flowzip.datasets.data import FzDataset
from flowzip.errors import FlowzipError
from flowzip.fileformat import container
from flowzip.images.image import Picture
from helpers import set_policy


def _smooth(rng, h, w, c=3):
    base = rng.integers(60, 200, (1, 1, c))
    ramp = np.add.outer(np.arange(h), np.arange(w))[..., None] // 3
    return np.clip(base + ramp + rng.integers(-3, 4, (h, w, c)), 0, 255).astype(np.uint8)


def _pictures(n=12, seed=0):
    rng = np.random.default_rng(seed)
    return [(f"set/{i:02d}.png", Picture(_smooth(rng, 12 + i % 5, 16), "RGB")) for i in range(n)]


def _square(x):
    if x == 3:
        raise FlowzipError("three")
    return x * x


def _die(x):
    if x == 1:
        os._exit(1)
    return x


@pytest.fixture(autouse=True)
def torch_threads():
    """-j sets this process to one torch thread, as the CLI would: restored after each test."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def glow_default(tiny_models, monkeypatch):
    set_policy(monkeypatch, bits_back={3: "tiny-glow"})


@pytest.fixture
def small_chunks(tiny_models, monkeypatch):
    """Archives of the tests' small images cut into several chunks by default."""
    set_policy(monkeypatch, archive_chunk=3 * 16 * 16 * 3)


# --- worker processes --------------------------------------------------------------------------

@pytest.mark.parametrize("jobs", [1, 2])
def test_imap_gives_every_result_or_error_by_index(jobs):
    got = {i: (r, e) for i, r, e in parallel.imap(_square, [(x,) for x in range(6)], jobs)}
    assert {i: r for i, (r, e) in got.items() if e is None} == {0: 0, 1: 1, 2: 4, 4: 16, 5: 25}
    assert str(got[3][1]) == "three"
    stopped = list(parallel.imap(_square, [(x,) for x in range(3, 40)], jobs, fail_fast=True))
    assert len(stopped) < 37 and any(e is not None for _, _, e in stopped)


def test_a_dead_worker_fails_its_tasks_not_the_parent():
    results = list(parallel.imap(_die, [(x,) for x in range(8)], 2))
    assert sorted(i for i, _, _ in results) == list(range(8))
    assert any("worker process died" in str(e) for _, _, e in results)


def _big(i):
    return bytes(60_000_000 + i)


def test_stopping_while_workers_send_large_results_ends_at_once():
    """A worker killed halfway through sending its result must not leave the pool waiting for the
    rest of it (the pool's shutdown used to hang for ever)."""
    import threading
    import time

    for _ in range(3):
        results = parallel.imap(_big, [(i,) for i in range(6)], 2)
        next(results)
        time.sleep(0.01)  # the other worker is sending
        closing = threading.Thread(target=results.close, daemon=True)
        closing.start()
        closing.join(30)
        assert not closing.is_alive()


def test_jobs_zero_means_one_per_core():
    assert parallel.workers(0) == parallel.cpu_count() and parallel.workers(3) == 3


# --- chunked archives ---------------------------------------------------------------------------

def test_archives_are_chunked_by_default_and_chunk_zero_is_one_stream(small_chunks):
    pictures = _pictures()
    data, _ = api.encode(pictures, "tiny-rgb")
    header = api.inspect(data)
    assert header.version == container.CHUNKED and [len(c.units) for c in header.chunks] == [4, 4, 4]
    assert api.inspect(api.encode(pictures, "tiny-rgb", chunk=0)[0]).version == container.STACKED
    for (name, a), (got, b) in zip(pictures, api.decode(data)):
        assert name == got
        np.testing.assert_array_equal(a.pixels, b.pixels)


def test_workers_write_the_same_file_and_decode_it(glow_default, small_chunks):
    pictures = _pictures(14)
    one, _ = api.encode(pictures, archive=True, tile=16, jobs=1)
    stats = {}
    two, report = api.encode(pictures, archive=True, tile=16, jobs=2, stats=stats)
    assert one == two and report.compressed_bytes == len(two)
    assert sum(kind["subpixels"] for kind in stats.values()) > 0
    for (_, a), (_, b) in zip(pictures, api.decode(two, jobs=2)):
        np.testing.assert_array_equal(a.pixels, b.pixels)


def test_one_image_decodes_from_its_chunk_only(small_chunks, monkeypatch):
    pictures = _pictures()
    data, _ = api.encode(pictures, "tiny-rgb")
    header = api.inspect(data)
    decoded = []
    real = chunked._decode_task
    monkeypatch.setattr(chunked, "_decode_task", lambda h, c, *a: decoded.append(c) or real(h, c, *a))
    (name, pixels), = api.decompress_archive(data, only=["set/07.png"])
    assert name == "set/07.png" and len(decoded) == 1 and len(header.chunks) > 1
    np.testing.assert_array_equal(pixels, pictures[7][1].pixels)
    assert [n for n, _ in api.decompress_archive(data, only=["set/1*"])] == [f"set/{i}.png" for i in range(10, 12)]
    with pytest.raises(FlowzipError, match="no image named"):
        api.decompress_archive(data, only=["nope.png"])


def _damage(data: bytes, chunk: int) -> bytes:
    """Flip a byte inside one chunk's payload (the header stays valid)."""
    header, start = container.parse(data)
    at = start + sum(c.length for c in header.chunks[:chunk]) + 2
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


def test_a_damaged_chunk_loses_only_its_images(small_chunks):
    pictures = _pictures()
    data, _ = api.encode(pictures, "tiny-rgb")
    header = api.inspect(data)
    bad = _damage(data, 1)
    lost = {i for i, _, _ in header.chunks[1].units}
    results = {i: item for i, _, item in api.decode_each(bad, jobs=2)}
    assert sorted(results) == list(range(len(pictures)))
    for i, item in results.items():
        if i in lost:
            assert isinstance(item, FlowzipError) and "chunk 1" in str(item)
        else:
            np.testing.assert_array_equal(item.pixels, pictures[i][1].pixels)
    with pytest.raises(FlowzipError, match="chunk checksum"):
        api.decode(bad)


def test_one_large_image_is_cut_into_chunks_for_workers(glow_default, monkeypatch):
    set_policy(monkeypatch, job_chunk_tiles=4)
    picture = Picture(_smooth(np.random.default_rng(2), 64, 70), "RGB")
    one, _ = api.compress_picture(picture, tile=16)
    two, _ = api.compress_picture(picture, tile=16, jobs=2)
    assert api.inspect(one).version == container.CHUNKED and len(api.inspect(one).chunks) == 1
    header = api.inspect(two)
    assert header.version == container.CHUNKED and len(header.chunks) == 2
    assert header.chunks[0].seed is not None and header.chunks[1].seed is not None
    np.testing.assert_array_equal(api.decompress_picture(two, jobs=2).pixels, picture.pixels)


def test_one_large_image_uses_the_workers_from_the_command_line(glow_default, monkeypatch, tmp_path):
    set_policy(monkeypatch, job_chunk_tiles=4)
    set_policy(monkeypatch, stacked_tile=16)
    pixels = _smooth(np.random.default_rng(5), 64, 70)
    Image.fromarray(pixels).save(tmp_path / "big.png")
    runner = CliRunner()
    result = runner.invoke(main, ["compress", str(tmp_path / "big.png"), "-j", "2", "--no-png"])
    assert result.exit_code == 0, result.output
    assert len(api.inspect((tmp_path / "big.fz").read_bytes()).chunks) == 2
    result = runner.invoke(main, ["decompress", str(tmp_path / "big.fz"), "-j", "2", "-o", str(tmp_path / "back.png")])
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(_pixels(tmp_path / "back.png"), pixels)


# --- the command line ----------------------------------------------------------------------------

@pytest.fixture
def tree(tmp_path):
    """photos/a.png, photos/sub/b.png, photos/sub/deeper/c.bmp (and a text file, not an image)."""
    rng = np.random.default_rng(1)
    root = tmp_path / "photos"
    (root / "sub" / "deeper").mkdir(parents=True)
    for rel, shape in [("a.png", (20, 16, 3)), ("sub/b.png", (9, 30, 3)), ("sub/deeper/c.bmp", (16, 16, 3))]:
        Image.fromarray(_smooth(rng, *shape)).save(root / rel)
    (root / "notes.txt").write_text("not an image")
    return root


def _pixels(path):
    return np.asarray(Image.open(path))


def _same_tree(a, b, suffix=None):
    for f in sorted(a.rglob("*")):
        if f.suffix in (".png", ".bmp"):
            other = b / f.relative_to(a)
            np.testing.assert_array_equal(_pixels(other), _pixels(f))


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


def test_sigterm_ends_a_j_run_and_leaves_only_whole_files(tiny_models, tmp_path):
    import shutil
    import signal
    import subprocess
    import sys
    import time

    models, images, out = tmp_path / "models", tmp_path / "images", tmp_path / "out"
    shutil.copytree(tiny_models, models)
    images.mkdir()
    rng = np.random.default_rng(6)
    for i in range(150):
        Image.fromarray(_smooth(rng, 64, 64)).save(images / f"{i:03d}.png")
    command = [sys.executable, "-m", "flowzip.cli", "compress", str(images), "-r", "-j", "2", "-m", "tiny-rgb",
               "-o", f"{out}/", "--no-png", "-q"]
    run = subprocess.Popen(command, env={**os.environ, "FLOWZIP_MODEL_DIR": str(models)}, stderr=subprocess.PIPE,
                           text=True)
    deadline = time.monotonic() + 60
    while not list(out.glob("*.fz")) and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 143 and err.strip() == "flowzip: interrupted"
    written = sorted(out.glob("*"))
    assert 0 < len(written) < 150 and all(p.suffix == ".fz" for p in written)
    for path in written:  # every file there is whole
        np.testing.assert_array_equal(api.decompress(path.read_bytes()), _pixels(images / f"{path.stem}.png"))


def test_a_damaged_chunk_is_named_and_the_rest_written(small_chunks, tmp_path):
    pictures = _pictures()
    data, _ = api.encode(pictures, "tiny-rgb")
    header = api.inspect(data)
    fz = tmp_path / "set.fz"
    fz.write_bytes(_damage(data, 0))
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
    pictures = [(n, Picture(_smooth(rng, 8, 8), "RGB")) for n in names]
    fz = tmp_path / "set.fz"
    fz.write_bytes(api.encode(pictures, "tiny-rgb")[0])
    out = tmp_path / "box" / "out"
    result = CliRunner().invoke(main, ["decompress", str(fz), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == [
        "a/b.png", "abs/x.png", "evil.png", "image_00004.png", "win/c.png"]
    assert [p for p in (tmp_path / "box").iterdir()] == [out]


# --- the PyTorch dataset ------------------------------------------------------------------------

def test_fzdataset_gives_the_exact_images_of_several_archives(small_chunks, tmp_path):
    first, second = _pictures(10, seed=1), _pictures(5, seed=2)
    (tmp_path / "a.fz").write_bytes(api.encode(first, "tiny-rgb")[0])
    (tmp_path / "b.fz").write_bytes(api.encode(second, "tiny-rgb", chunk=0)[0])  # a one-stream archive too
    dataset = FzDataset(tmp_path, transform=lambda x: x.copy())
    assert len(dataset) == 15 and dataset.names[10] == "set/00.png"
    for i, (_, picture) in enumerate(first + second):
        np.testing.assert_array_equal(dataset[i], picture.pixels)
    assert dataset.decoded_chunks == len(api.inspect((tmp_path / "a.fz").read_bytes()).chunks) + 1  # once each
    np.testing.assert_array_equal(dataset[-1], second[-1][1].pixels)
    with pytest.raises(IndexError):
        dataset[15]


def test_fzdataset_joins_an_image_cut_across_chunks(tiny_models, tmp_path):
    rng = np.random.default_rng(8)
    pictures = [("small.png", Picture(_smooth(rng, 10, 12), "RGB")), ("big.png", Picture(_smooth(rng, 64, 70), "RGB")),
                ("last.png", Picture(_smooth(rng, 9, 9), "RGB"))]
    data, _ = api.encode(pictures, "tiny-rgb", tile=16, chunk=16 * 70 * 3)
    assert len(api.Archive(data).holders[1]) > 2
    (tmp_path / "set.fz").write_bytes(data)
    dataset = FzDataset(tmp_path / "set.fz", cache_chunks=1)
    for i in (2, 1, 0, 1):
        np.testing.assert_array_equal(dataset[i], pictures[i][1].pixels)


def test_a_dataloader_epoch_with_two_workers_is_exact(small_chunks, tmp_path):
    rng = np.random.default_rng(4)
    pictures = [(f"{i}.png", Picture(_smooth(rng, 12, 12), "RGB")) for i in range(20)]
    (tmp_path / "set.fz").write_bytes(api.encode(pictures, "tiny-rgb")[0])
    loader = torch.utils.data.DataLoader(FzDataset(tmp_path / "set.fz"), batch_size=3, num_workers=2)
    batches = list(loader)
    got = torch.cat(batches).numpy()
    np.testing.assert_array_equal(got, np.stack([p.pixels for _, p in pictures]))


# --- bench with workers -------------------------------------------------------------------------

def test_bench_with_workers_gives_the_same_rows(tiny_models, tree):
    images = bench.load_images([tree], recursive=True)
    assert [im.name for im in images] == ["a.png", "sub/b.png", "sub/deeper/c.bmp"]
    codecs = [bench.BASELINES["png-pillow"]()]
    one = bench.run_bench(images, codecs + bench.make_codecs(["flowzip"])[0])
    two = bench.run_bench(images, codecs + bench.make_codecs(["flowzip"])[0], jobs=2)
    assert [(r["image"], r["codec"], r["bytes"], r["verified"]) for r in one] == [
        (r["image"], r["codec"], r["bytes"], r["verified"]) for r in two]
    assert all(r["verified"] for r in two)
