"""Reading and writing images without losing anything, and cutting them into padded tiles."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import FlowzipError, ImageError

MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
LOSSLESS_FORMATS = {".png": "PNG", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF", ".ppm": "PPM",
                    ".pgm": "PPM", ".pnm": "PPM", ".webp": "WEBP"}
KEPT_METADATA = ("icc_profile", "exif")
UNSUPPORTED_MODES = {"P": "palette images", "PA": "palette images with alpha", "1": "1-bit images",
                     "I": "16- and 32-bit integer images", "F": "floating-point images",
                     "CMYK": "CMYK images", "YCbCr": "YCbCr images", "LAB": "Lab images", "HSV": "HSV images",
                     "La": "premultiplied gray+alpha images", "RGBa": "premultiplied RGBA images"}


@dataclass
class Picture:
    """Pixels as a (H, W, C) uint8 array, its mode, and metadata kept byte for byte."""

    pixels: np.ndarray
    mode: str
    metadata: dict[str, bytes] = field(default_factory=dict)

    def to_pil(self) -> Image.Image:
        arr = self.pixels[..., 0] if self.mode == "L" else self.pixels
        return Image.fromarray(np.ascontiguousarray(arr), self.mode)


def _declared_depth(head: bytes, im: Image.Image) -> str | None:
    """What the file itself declares when it is not plain 8 bits per sample, else None.
    Pillow reads 16-bit RGB PNG, TIFF and PPM files as 8-bit images, so ask the file."""
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR" and head[24] != 8:
        return f"{head[24]}-bit PNG"
    if im.format == "TIFF":
        bits = im.tag_v2.get(258, (8,))
        bits = bits if isinstance(bits, tuple) else (bits,)
        if any(b != 8 for b in bits):
            return f"{max(bits)}-bit TIFF"
    if im.format == "PPM" and head[:2] in (b"P2", b"P3", b"P5", b"P6"):
        tokens = b" ".join(line.split(b"#")[0] for line in head.splitlines()).split()
        if len(tokens) >= 4 and tokens[3].isdigit() and int(tokens[3]) != 255:
            return f"PPM/PGM with maximum value {int(tokens[3])}"
    return None


def picture_from_array(arr: np.ndarray) -> Picture:
    if arr.dtype != np.uint8:
        raise ImageError(f"only 8-bit (uint8) arrays are supported, not {arr.dtype}")
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[2] not in MODES or min(arr.shape[:2]) < 1:
        raise ImageError(f"an image array must be (H, W) or (H, W, C) with C in 1..4, not {arr.shape}")
    return Picture(np.ascontiguousarray(arr), MODES[arr.shape[2]])


def picture_from_pil(im: Image.Image) -> Picture:
    if getattr(im, "n_frames", 1) > 1:
        raise ImageError(f"the image has {im.n_frames} frames; flowzip keeps single images only")
    if im.mode not in MODES.values():
        what = UNSUPPORTED_MODES.get(im.mode.split(";")[0], f"images of mode {im.mode!r}")
        raise ImageError(f"{what} are not supported yet (only 8-bit L, LA, RGB and RGBA are kept exactly)")
    pixels = np.asarray(im)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    metadata = {k: im.info[k] for k in KEPT_METADATA if isinstance(im.info.get(k), bytes) and im.info[k]}
    return Picture(np.ascontiguousarray(pixels), im.mode, metadata)


def read_image(source) -> Picture:
    """A path, image file bytes, a PIL image or a numpy array -> Picture, refusing what would
    lose data."""
    if isinstance(source, np.ndarray):
        return picture_from_array(source)
    if isinstance(source, Image.Image):
        return picture_from_pil(source)
    name = "<bytes>" if isinstance(source, (bytes, bytearray)) else str(source)
    try:
        if isinstance(source, (bytes, bytearray)):
            data = bytes(source)
        else:
            with open(source, "rb") as f:
                data = f.read()
        with Image.open(io.BytesIO(data)) as im:
            depth = _declared_depth(data[:512], im)
            if depth is not None:
                raise ImageError(f"{depth} images are not supported yet (only 8 bits per sample)")
            im.load()
            return picture_from_pil(im)
    except ImageError as e:
        raise ImageError(f"{name}: {e}") from None
    except FileNotFoundError:
        raise ImageError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{name}: is a directory") from None
    except PermissionError:
        raise ImageError(f"{name}: permission denied") from None
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise ImageError(f"{name}: cannot read image ({e})") from None


def encode_image(picture: Picture, suffix: str) -> bytes:
    """Encode to a lossless format chosen by file suffix (``.png`` by default)."""
    fmt = LOSSLESS_FORMATS.get(suffix.lower())
    if fmt is None:
        raise ImageError(f"cannot write {suffix or 'files without a suffix'}: choose a lossless format "
                         f"({', '.join(sorted(LOSSLESS_FORMATS))})")
    options = {"lossless": True} if fmt == "WEBP" else {}
    if fmt == "PNG":
        options["compress_level"] = 6
    for key in KEPT_METADATA:
        if key in picture.metadata:
            options[key] = picture.metadata[key]
    buf = io.BytesIO()
    try:
        picture.to_pil().save(buf, fmt, **options)
    except (OSError, ValueError, KeyError) as e:
        raise ImageError(f"cannot write a {picture.mode} image as {fmt}: {e}") from None
    return buf.getvalue()


def png_size(picture: Picture) -> int:
    """Bytes of an optimized PNG of the same pixels (Pillow, optimize=True), for comparison."""
    buf = io.BytesIO()
    picture.to_pil().save(buf, "PNG", optimize=True)
    return buf.tell()


def tile_boxes(height: int, width: int, tile: int) -> list[tuple[int, int, int, int]]:
    """(y0, y1, x0, x1) of each tile, row-major."""
    return [(y, min(y + tile, height), x, min(x + tile, width))
            for y in range(0, height, tile) for x in range(0, width, tile)]


def padded_size(n: int, multiple: int) -> int:
    """n rounded up to a multiple of ``multiple``."""
    return -(-n // multiple) * multiple


def pad_to_multiple(block: np.ndarray, multiple: int) -> np.ndarray:
    """Pad a (C, h, w) block on the bottom and right by repeating edge pixels."""
    _, h, w = block.shape
    ph, pw = padded_size(h, multiple) - h, padded_size(w, multiple) - w
    if ph or pw:
        block = np.pad(block, ((0, 0), (0, ph), (0, pw)), mode="edge")
    return block


def atomic_write(path: str | os.PathLike, data: bytes, overwrite: bool = False) -> None:
    """Write through a temporary file in the same folder, then rename: an interrupted run leaves no
    partial file. Without ``overwrite`` an existing file is never replaced."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists (use -f to overwrite)")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FlowzipError(f"cannot write {path}: folder {folder} does not exist")
    tmp = folder / f".{path.name}.{os.getpid()}.tmp"
    try:
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise FlowzipError(f"cannot write {path}: {e.strerror or e}") from None
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # fails if the target appeared meanwhile: no silent overwrite
            except FileExistsError:
                raise FileExistsError(f"{path} already exists (use -f to overwrite)") from None
            except OSError:
                os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
