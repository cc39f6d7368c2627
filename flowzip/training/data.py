"""Training data: image arrays and folders of photos, served as random crops with flips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ..images.image import image_files

JPEG_SUFFIXES = {".jpg", ".jpeg"}


def downsample_factors(jpeg_downsample: float | list[float]) -> list[float]:
    """The factors a ``jpeg_downsample`` setting (one factor or a list) shrinks JPEG photos by."""
    return list(jpeg_downsample) if isinstance(jpeg_downsample, list) else [jpeg_downsample]


def load_folder(path: str | Path, jpeg_downsample: float | list[float] = 2) -> list[list[np.ndarray]]:
    """All images below ``path`` as RGB uint8 arrays, one list per file. A JPEG-origin image comes
    once per factor of ``jpeg_downsample``, shrunk by it with an area (box) filter so that JPEG
    block and chroma artefacts fade (several factors: the same photo at several scales); other
    images come once, as they are."""
    factors = downsample_factors(jpeg_downsample)
    images = []
    for file in image_files(path, recursive=True):
        with Image.open(file) as im:
            im = im.convert("RGB")
            if file.suffix.lower() in JPEG_SUFFIXES:
                images.append([np.asarray(_shrink(im, f)) for f in factors])
            else:
                images.append([np.asarray(im)])
    return images


def _shrink(im: Image.Image, factor: float) -> Image.Image:
    if factor <= 1:
        return im
    if factor == int(factor):
        return im.reduce(int(factor))
    size = (max(1, round(im.width / factor)), max(1, round(im.height / factor)))
    return im.resize(size, Image.BOX)


def to_gray(x: np.ndarray) -> np.ndarray:
    """RGB -> 8-bit luma (ITU-R 601, as Pillow's "L" conversion), keeping a channel axis."""
    x = x.astype(np.uint32)
    y = (x[..., 0] * 19595 + x[..., 1] * 38470 + x[..., 2] * 7471 + 0x8000) >> 16
    return y.astype(np.uint8)[..., None]


class CropSampler:
    """Random ``crop`` x ``crop`` patches with random horizontal flips, from an array of equally
    sized images and a list of photos, drawn from the photos with probability ``photo_fraction``."""

    def __init__(self, arrays: list[np.ndarray], photos: list[np.ndarray], crop: int,
                 photo_fraction: float, channels: int, seed):
        self.arrays = [a for a in arrays if a.shape[1] >= crop and a.shape[2] >= crop]
        self.photos = [p for p in photos if p.shape[0] >= crop and p.shape[1] >= crop]
        if not self.arrays and not self.photos:
            raise ValueError(f"no training image is at least {crop}x{crop}")
        self.crop = crop
        self.photo_fraction = photo_fraction if self.arrays and self.photos else float(bool(self.photos))
        self.channels = channels
        self.rng = np.random.default_rng(seed)

    def _from_arrays(self, n: int) -> np.ndarray:
        sizes = np.array([len(a) for a in self.arrays])
        which = self.rng.choice(len(self.arrays), n, p=sizes / sizes.sum())
        out = []
        for k, a in enumerate(self.arrays):
            idx = self.rng.integers(0, len(a), int((which == k).sum()))
            out.extend(self._crop(a[i]) for i in idx)
        return out

    def _crop(self, img: np.ndarray) -> np.ndarray:
        h, w = img.shape[:2]
        y = self.rng.integers(0, h - self.crop + 1)
        x = self.rng.integers(0, w - self.crop + 1)
        return img[y : y + self.crop, x : x + self.crop]

    def batch(self, n: int) -> np.ndarray:
        """(n, C, crop, crop) uint8."""
        n_photos = int(self.rng.binomial(n, self.photo_fraction))
        crops = self._from_arrays(n - n_photos) if n > n_photos else []
        crops += [self._crop(self.photos[i]) for i in self.rng.integers(0, len(self.photos), n_photos)]
        x = np.stack(crops)
        flip = self.rng.random(n) < 0.5
        x[flip] = x[flip, :, ::-1]
        if self.channels == 1 and x.shape[-1] == 3:
            x = to_gray(x)
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))
