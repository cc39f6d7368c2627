"""Training data: photo folders at one or several scales, and held-out photos split by file."""

import numpy as np
from PIL import Image

from flowzip.training.data import load_folder
from flowzip.training.trainer import TrainConfig, _held_out


def _folder(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(5):
        Image.fromarray(rng.integers(0, 256, (60, 90, 3), dtype=np.uint8)).save(tmp_path / f"p{i}.jpg")
    Image.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(tmp_path / "lossless.png")
    return tmp_path


def test_jpeg_photos_come_at_each_scale_and_lossless_ones_as_they_are(tmp_path):
    files = load_folder(_folder(tmp_path), [1, 1.5, 2])
    assert [[im.shape for im in versions] for versions in files] == (
        [[(30, 40, 3)]] + [[(60, 90, 3), (40, 60, 3), (30, 45, 3)]] * 5)
    assert [len(v) for v in load_folder(tmp_path, 2)] == [1] * 6


def test_held_out_photos_are_whole_files_at_their_first_scale(tmp_path):
    files = load_folder(_folder(tmp_path), [2, 1])
    _, train, held = _held_out([], files, TrainConfig(held_out_photos=2), multiple=16)
    assert len(held["photos"]) == 2 and len(train) == 2 * 3 + 1
    assert all(p.shape == (16, 32, 3) for p in held["photos"])  # 30x45 (or the 30x40 PNG), cropped to 16s
    trained = {im.tobytes() for im in train}
    for versions in files:
        held_here = any(np.array_equal(h, versions[0][: h.shape[0], : h.shape[1]]) for h in held["photos"])
        assert held_here != any(v.tobytes() in trained for v in versions)  # a file is held out or trained on
