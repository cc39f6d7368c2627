"""``FzDataset``: the images of .fz archives as a PyTorch dataset, each chunk decoded once.

    from torch.utils.data import DataLoader
    from flowzip.datasets import FzDataset

    dataset = FzDataset("cifar-fz/")            # a .fz file, a folder of them, or a list
    loader = DataLoader(dataset, batch_size=64, num_workers=2)

An item is the image's exact pixels, a (H, W, C) uint8 array (``transform`` is applied to it).
Reading an image decodes the chunks that hold it and keeps every image of those chunks, for the
next few chunks' time (``cache_chunks``), so reading in file order decodes each chunk once per
worker process. Files are memory-mapped in each process: only the chunks decoded are read. In a
DataLoader's worker process, decoding runs on one BLAS thread (the workers are the parallelism:
two workers of two threads each on two cores made an epoch 3.7 times slower).
"""

from __future__ import annotations

import bisect
import mmap
import os
from collections import OrderedDict
from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

from .. import api
from ..errors import FlowzipError
from ..pipelines import chunked, workers


def fz_files(path_or_paths) -> list[Path]:
    """.fz files from a path or a list of them; a folder gives the .fz files below it, sorted."""
    paths = [path_or_paths] if isinstance(path_or_paths, (str, os.PathLike)) else list(path_or_paths)
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(f for f in path.rglob("*.fz") if f.is_file())
            if not found:
                raise FlowzipError(f"{path}: no .fz files in this folder")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise FlowzipError(f"{path}: no such file")
    if not files:
        raise FlowzipError("no .fz files given")
    return files


class FzDataset(Dataset):
    """The images of one or many .fz files, in file order; ``names[i]`` is image i's stored name."""

    def __init__(self, path_or_paths, transform=None, *, cache_chunks: int = 4, model=None):
        self.files = fz_files(path_or_paths)
        self.transform, self.cache_chunks, self.model = transform, max(1, cache_chunks), model
        self.starts, self.names = [], []
        self._archives: dict[int, api.Archive] = {}  # opened once per process
        for k, path in enumerate(self.files):
            self._archives[k] = archive = self._open(path)
            self.starts.append(len(self.names))
            self.names += [e.name for e in archive.header.entries]
        self.decoded_chunks = 0  # chunks this process decoded (a stream counts as one)
        self._cache: OrderedDict[tuple, dict[int, np.ndarray]] = OrderedDict()
        self._pid = os.getpid()

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index: int):
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"image {index} of a dataset of {len(self)}")
        k = bisect.bisect_right(self.starts, index) - 1
        pixels = self._image(k, index - self.starts[k])
        return self.transform(pixels) if self.transform is not None else pixels

    def __getstate__(self):  # for worker processes that are not forked: reopen the files there
        return {**self.__dict__, "_archives": {}, "_cache": OrderedDict()}

    def _open(self, path: Path) -> api.Archive:
        try:
            with open(path, "rb") as f:
                data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            return api.Archive(data, model=self.model, device="cpu")
        except (FlowzipError, OSError, ValueError) as e:
            raise FlowzipError(f"{path}: {e}") from None

    def _archive(self, k: int) -> api.Archive:
        if self._pid != os.getpid():  # a worker process: its own maps and cache, one thread
            self._archives, self._cache, self._pid = {}, OrderedDict(), os.getpid()
            workers.one_thread()
        if k not in self._archives:
            self._archives[k] = self._open(self.files[k])
        return self._archives[k]

    def _image(self, k: int, image: int) -> np.ndarray:
        archive = self._archive(k)
        for key, images in self._cache.items():
            if key[0] == k and image in images:
                self._cache.move_to_end(key)
                return images[image]
        chunks = archive.holders[image]
        inside = set(chunks)
        members = [m for m in (chunked.images_of(archive.header, chunks) if chunks else range(len(archive.holders)))
                   if set(archive.holders[m]) <= inside]
        images = {}
        for m, name, item in archive.decode_each(members):
            if isinstance(item, Exception):
                if m == image:
                    raise FlowzipError(f"{self.files[k]}: {name or f'image {m}'}: {item}")
                continue
            images[m] = item.pixels
        self.decoded_chunks += max(1, len(chunks))
        self._cache[(k, tuple(chunks))] = images
        while len(self._cache) > self.cache_chunks:
            self._cache.popitem(last=False)
        return images[image]
