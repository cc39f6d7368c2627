"""``FzDataset`` (``flowzip.datasets.data``): the exact images of archives, in a DataLoader too."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from samples import small_pictures, smooth

from flowzip import api
from flowzip.datasets.data import FzDataset
from flowzip.images.image import Picture



def test_fzdataset_gives_the_exact_images_of_several_archives(small_chunks, tmp_path):
    first, second = small_pictures(10, seed=1), small_pictures(5, seed=2)
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
    pictures = [("small.png", Picture(smooth(rng, 10, 12), "RGB")), ("big.png", Picture(smooth(rng, 64, 70), "RGB")),
                ("last.png", Picture(smooth(rng, 9, 9), "RGB"))]
    data, _ = api.encode(pictures, "tiny-rgb", tile=16, chunk=16 * 70 * 3)
    assert len(api.Archive(data).holders[1]) > 2
    (tmp_path / "set.fz").write_bytes(data)
    dataset = FzDataset(tmp_path / "set.fz", cache_chunks=1)
    for i in (2, 1, 0, 1):
        np.testing.assert_array_equal(dataset[i], pictures[i][1].pixels)


def test_a_dataloader_epoch_with_two_workers_is_exact(small_chunks, tmp_path):
    rng = np.random.default_rng(4)
    pictures = [(f"{i}.png", Picture(smooth(rng, 12, 12), "RGB")) for i in range(20)]
    (tmp_path / "set.fz").write_bytes(api.encode(pictures, "tiny-rgb")[0])
    loader = torch.utils.data.DataLoader(FzDataset(tmp_path / "set.fz"), batch_size=3, num_workers=2)
    batches = list(loader)
    got = torch.cat(batches).numpy()
    np.testing.assert_array_equal(got, np.stack([p.pixels for _, p in pictures]))


def _blas_threads(_pixels) -> int:
    from threadpoolctl import threadpool_info

    return max((pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"), default=1)


def test_dataloader_workers_decode_on_one_blas_thread_each(small_chunks, tmp_path):
    """Each DataLoader worker decodes with one BLAS thread (workers already use the cores: two of
    two threads each made an epoch 3.7 times slower on two cores); the main process keeps its own."""
    from threadpoolctl import threadpool_limits

    (tmp_path / "a.fz").write_bytes(api.encode(small_pictures(6), "tiny-rgb")[0])
    with threadpool_limits(limits=2):
        dataset = FzDataset(tmp_path / "a.fz", transform=_blas_threads)
        main_threads = dataset[0]
        loader = torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=2)
        assert set(loader) == {1}
        assert dataset[1] == main_threads
