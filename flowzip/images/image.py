"""Reading and writing images without losing anything: files, bytes, PIL images, arrays, folders
and .npy datasets all become ``Picture``s here, and only here."""

from __future__ import annotations

import io
import lzma
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import ImageError, a_or_an, plural
from . import deep, pngfile, resolution, tifftags

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".pgm", ".pnm", ".webp", ".gif"}
ARRAY_SUFFIXES = (".npy", ".npy.xz")
MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
LOSSLESS_FORMATS = {".png": "PNG", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF", ".ppm": "PPM",
                    ".pgm": "PPM", ".pnm": "PPM", ".webp": "WEBP"}
# The modes each format other than PNG holds exactly (8 bits per sample): Pillow writes BMP and PPM
# without alpha, and WebP has no gray; a WebP keeps the colour under transparent pixels only when
# asked to (``exact``). PNG holds every picture flowzip keeps.
EXACT_MODES = {"TIFF": ("L", "LA", "RGB", "RGBA"), "BMP": ("L", "RGB"), "PPM": ("L", "RGB"), "WEBP": ("RGB", "RGBA")}
KEPT_METADATA = ("icc_profile", "exif", "xmp", "comment")  # as Pillow names them
PNG_LEVEL = 3  # zlib level of written PNGs: on Kodak 2.2x faster than 6 for 1.0 % more bytes (docs/RESULTS.md)
GRAY_16_MODES = ("I;16", "I;16L", "I;16B")  # Pillow's 16-bit gray
# what else Pillow raises on a damaged file (a TIFF's missing or malformed tags, e.g. "Missing
# dimensions"), caught around its steps only (``_parsed``)
DAMAGED_FILE_ERRORS = (TypeError, KeyError, IndexError, ZeroDivisionError, struct.error)
UNSUPPORTED_MODES = {"PA": "palette images with alpha", "I": "32-bit integer images", "F": "floating-point images",
                     "CMYK": "CMYK images", "YCbCr": "YCbCr images", "LAB": "Lab images", "HSV": "HSV images",
                     "La": "premultiplied gray+alpha images", "RGBa": "premultiplied RGBA images"}


@dataclass
class Picture:
    """Pixels as a (H, W, C) uint8 array, its mode, and metadata kept byte for byte."""

    pixels: np.ndarray
    mode: str
    metadata: dict[str, bytes] = field(default_factory=dict)
    bit_depth: int = 8  # bits per sample: uint8 pixels up to 8, uint16 above
    # what the picture was read from, not stored: the size of its file, and a non-interlaced PNG's
    # image data (its IDAT stream: PNG filters and zlib over these very samples)
    source_bytes: int | None = field(default=None, compare=False, repr=False)
    deflated: bytes | None = field(default=None, compare=False, repr=False)
    # what reading it noticed of a damaged file that it could still read (Pillow's warnings, such
    # as a tag skipped), for the command line to say in one line
    damage: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @property
    def is_palette(self) -> bool:
        """Whether the samples are palette indices (the palette is in the metadata)."""
        return "png:palette" in self.metadata

    @property
    def plain(self) -> bool:
        """8 bits per sample, no palette: what every format (and Pillow) can hold."""
        return self.bit_depth == 8 and not self.is_palette

    def describe(self) -> str:
        """What it is, in words: ``30x20 RGBA``, ``24x20 L, 16 bits``, ``24x20 palette of 5 colours``."""
        h, w = self.pixels.shape[:2]
        if self.is_palette:
            colours = len(self.metadata[pngfile.PALETTE_KEY]) // 3
            return f"{w}x{h} palette of {plural(colours, 'colour')}" + (
                f", {self.bit_depth}-bit indices" if self.bit_depth != 8 else "")
        return f"{w}x{h} {self.mode}" + (f", {plural(self.bit_depth, 'bit')}" if self.bit_depth != 8 else "")

    def to_pil(self) -> Image.Image:
        if not self.plain:
            what = f"{self.bit_depth}-bit{' palette' if self.is_palette else ''}"
            raise ImageError(f"{a_or_an(what)} {what} image can only be written as PNG")
        arr = self.pixels[..., 0] if self.mode == "L" else self.pixels
        return Image.fromarray(np.ascontiguousarray(arr), self.mode)


def _declared_depth(data: bytes, im: Image.Image) -> tuple[int | None, str] | None:
    """What the file itself declares when it is not plain 8 bits per sample: (its bits per sample,
    None for a PPM/PGM maximum value that is not a power of two less one; the words for it).
    Pillow reads 16-bit TIFF and PPM files as 8-bit images, so ask the file."""
    if im.format == "TIFF":
        bits = im.tag_v2.get(258, (8,))
        bits = bits if isinstance(bits, tuple) else (bits,)
        if any(b != 8 for b in bits):
            return max(bits), f"{max(bits)}-bit TIFF"
    if im.format == "PPM" and (header := deep.ppm_header(data)) is not None and header.top != 255:
        top = header.top
        return top.bit_length() if top & (top + 1) == 0 else None, f"PPM/PGM with maximum value {top}"
    return None


def _kept_at_depth(bits: int | None, mode: str) -> bool:
    """Whether Pillow's ``mode`` holds samples of ``bits`` bits exactly: 1-bit images, palette
    indices, 16-bit gray."""
    return (bits == 1 and mode == "1") or (bits is not None and bits <= 8 and mode == "P") or (
        bits == 16 and mode in GRAY_16_MODES + ("I",))


def picture_from_array(arr: np.ndarray) -> Picture:
    """A uint8 (8 bits per sample) or uint16 (16) array (H, W) or (H, W, C), C in 1..4."""
    if arr.dtype not in (np.uint8, np.uint16):
        raise ImageError(f"only uint8 and uint16 arrays are supported, not {arr.dtype}")
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[2] not in MODES or min(arr.shape[:2]) < 1:
        raise ImageError(f"an image array must be (H, W) or (H, W, C) with C in 1..4, not {arr.shape}")
    return Picture(np.ascontiguousarray(arr), MODES[arr.shape[2]], bit_depth=8 * arr.dtype.itemsize)


def picture_from_png(data: bytes) -> Picture:
    """Every PNG, kept exactly (``pngfile``): its samples at their own depth, palette indices with
    their palette, and every chunk."""
    png = pngfile.read_png(data)
    planes, mode, bit_depth, metadata = pngfile.to_planes(png)
    return Picture(planes, mode, metadata, bit_depth, len(data), None if png.interlaced else png.idat)


def picture_from_pil(im: Image.Image, gray_16: bool = False, metadata: dict[str, bytes] | None = None) -> Picture:
    """A PIL image's picture: 8-bit L, LA, RGB and RGBA as they are; palette images (their indices,
    palette, transparency and background), 1-bit and 16-bit gray images (``gray_16``: also a
    mode ``I`` image, a 16-bit PGM) as the PNG that holds them; ``metadata`` as ``_metadata``
    read it before the pixels were loaded (by default read now)."""
    _single_frame(im)
    metadata = _metadata(im) if metadata is None else metadata
    png = _as_png(im, metadata, im.mode in GRAY_16_MODES or (gray_16 and im.mode == "I"))
    if png is not None:
        planes, mode, bit_depth, metadata = pngfile.to_planes(png)
        return Picture(planes, mode, metadata, bit_depth)
    if im.mode not in MODES.values():
        what = UNSUPPORTED_MODES.get(im.mode.split(";")[0], f"images of mode {im.mode!r}")
        raise ImageError(f"{what} are not supported yet (flowzip keeps 8-bit L, LA, RGB and RGBA, palette, "
                         "1-bit and 16-bit gray images exactly)")
    pixels = np.asarray(im)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    return Picture(np.ascontiguousarray(pixels), im.mode, metadata)


def _metadata(im: Image.Image) -> dict[str, bytes]:
    """What a PIL image's file holds beside its pixels that flowzip keeps: ``KEPT_METADATA``, its
    resolution (``images.resolution``) and a TIFF's descriptive tags (``images.tifftags``)."""
    metadata = {k: im.info[k] for k in KEPT_METADATA if isinstance(im.info.get(k), bytes) and im.info[k]}
    if (density := resolution.read(im)) is not None:
        metadata[resolution.KEY] = density
    if im.format == "TIFF" and "exif" not in metadata and (tags := tifftags.exif_block(im)) is not None:
        metadata["exif"] = tags
    return metadata


def _as_png(im: Image.Image, metadata: dict[str, bytes], gray_16: bool) -> pngfile.PngImage | None:
    """The PNG that holds a palette, 1-bit or (``gray_16``) 16-bit gray image, or an L or RGB one
    with a transparent colour, of another format exactly (tRNS, bKGD and the chunks of
    ``pngfile.plain_chunks``); None for the others."""
    if im.mode == "P":
        return _palette_png(im, metadata)
    if im.mode == "1" or gray_16:
        depth = 1 if im.mode == "1" else 16
        samples = np.asarray(im)
        if samples.dtype.kind == "i" and (samples.min() < 0 or samples.max() > 65535):
            raise ImageError("a 16-bit gray image holds samples outside 0..65535")
        samples = samples.astype(np.uint8 if depth == 1 else np.uint16)[..., None]
        return pngfile.PngImage(samples, pngfile.GRAY, depth, chunks=pngfile.plain_chunks(metadata, False))
    transparent = im.info.get("transparency")
    if im.mode in ("L", "RGB") and transparent is not None and not isinstance(transparent, bytes):
        values = np.atleast_1d(np.asarray(transparent, np.uint16))
        colour_type = pngfile.GRAY if im.mode == "L" else pngfile.RGB
        trns = [(b"tRNS", values.astype(">u2").tobytes())]
        return pngfile.PngImage(np.asarray(im).reshape(im.height, im.width, -1), colour_type, 8,
                                chunks=pngfile.plain_chunks(metadata, False, trns))
    return None


def _palette_png(im: Image.Image, metadata: dict[str, bytes]) -> pngfile.PngImage:
    """A palette image as a PNG of the fewest bits per index: its palette (PLTE), the alpha of its
    entries or its transparent index (tRNS), its background index (bKGD)."""
    indices = np.asarray(im)
    rgba = np.array(im.getpalette("RGBA") or [], np.uint8).reshape(-1, 4)
    if not len(rgba):
        raise ImageError("a palette image without a palette")
    transparent = im.info.get("transparency")
    if isinstance(transparent, int):
        if transparent >= len(rgba):  # a transparent index beyond the palette: the palette grows to it
            grown = np.tile(np.array([0, 0, 0, 255], np.uint8), (transparent + 1 - len(rgba), 1))
            rgba = np.concatenate([rgba, grown])
        rgba[transparent, 3] = 0
    elif isinstance(transparent, bytes):
        rgba[: len(transparent), 3] = np.frombuffer(transparent[: len(rgba)], np.uint8)
    alpha = rgba[:, 3]
    after = []
    if (alpha < 255).any():
        after.append((b"tRNS", alpha[: np.flatnonzero(alpha < 255)[-1] + 1].tobytes()))
    background = im.info.get("background")
    if isinstance(background, int) and background < len(rgba):
        after.append((b"bKGD", bytes([background])))
    top = max(len(rgba), int(indices.max()) + 1 if indices.size else 1)
    depth = next(d for d in (1, 2, 4, 8) if top <= 1 << d)
    return pngfile.PngImage(np.ascontiguousarray(indices[..., None]), pngfile.PALETTE, depth,
                            palette=rgba[:, :3].tobytes(), chunks=pngfile.plain_chunks(metadata, True, after))


def read_image(source, name: str | None = None) -> Picture:
    """A path, image file bytes, a PIL image, a numpy array or a Picture -> Picture, refusing what
    would lose data. Errors name ``name`` (by default the path; nothing for bytes)."""
    if isinstance(source, Picture):
        return source
    if isinstance(source, np.ndarray):
        return picture_from_array(source)
    if isinstance(source, Image.Image):
        return picture_from_pil(source)
    from_bytes = isinstance(source, (bytes, bytearray, memoryview))
    name = name if name is not None else ("" if from_bytes else str(source))
    prefix = f"{name}: " if name else ""
    try:
        data = bytes(source) if from_bytes else Path(source).read_bytes()
        if data[:8] == pngfile.SIGNATURE:
            return picture_from_png(data)
        with warnings.catch_warnings(record=True) as noticed, _parsed(Image.open, io.BytesIO(data)) as im:
            warnings.simplefilter("always", UserWarning)  # Pillow's word on a damaged file, kept for the picture
            picture = _read_opened(data, im)
            picture.damage = tuple(dict.fromkeys(str(w.message) for w in noticed if issubclass(w.category, UserWarning)))
            return picture
    except ImageError as e:
        raise ImageError(f"{prefix}{e}") from None
    except FileNotFoundError:
        raise ImageError(f"{prefix}no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{prefix}is a directory") from None
    except PermissionError:
        raise ImageError(f"{prefix}permission denied") from None
    except UnidentifiedImageError:
        raise ImageError(f"{prefix}cannot read image (not an image format flowzip reads)") from None
    except Image.DecompressionBombError:
        raise ImageError(f"{prefix}cannot read image (too many pixels)") from None
    except (OSError, ValueError, SyntaxError, EOFError) as e:
        raise ImageError(f"{prefix}cannot read image ({e.strerror if isinstance(e, OSError) and e.strerror else e})") from None


def _read_opened(data: bytes, im: Image.Image) -> Picture:
    """The picture of a file of ``data`` that Pillow opened as ``im``."""
    declared = _parsed(_declared_depth, data, im)
    _single_frame(im)
    metadata = _metadata(im)  # before the pixels: Pillow turns a TIFF upright as it loads it
    if declared is not None and not _kept_at_depth(declared[0], im.mode):
        if declared[0] == 16 and (deep_picture := _sixteen_bit_colour(data, im, metadata)) is not None:
            return deep_picture
        raise ImageError(f"{declared[1]} images are not supported yet (only 8 bits per sample, "
                         "palette indices, 1-bit and 16-bit gray, 16-bit RGB and RGBA TIFF, 16-bit PPM)")
    _parsed(im.load)
    return picture_from_pil(im, gray_16=declared is not None and declared[0] == 16, metadata=metadata)


def _single_frame(im: Image.Image) -> None:
    """An ``ImageError`` unless ``im`` has one frame (page)."""
    if (frames := _parsed(getattr, im, "n_frames", 1)) > 1:
        raise ImageError(f"the image has {frames} frames; flowzip keeps single images only")


def _parsed(step, *args):
    """``step(*args)``, a step of Pillow's reading of a file; what else it raises on a damaged file
    (``DAMAGED_FILE_ERRORS``) as an ``ImageError``."""
    try:
        return step(*args)
    except DAMAGED_FILE_ERRORS as e:
        raise ImageError(f"cannot read image (damaged: {type(e).__name__} {e})") from None


def _sixteen_bit_colour(data: bytes, im: Image.Image, metadata: dict[str, bytes]) -> Picture | None:
    """A 16-bit colour TIFF or PPM that Pillow opened as ``im`` (at 8 bits), read whole
    (``images.deep``), with ``metadata``; None for other files."""
    if im.format == "TIFF":
        pixels = deep.tiff_pixels(data, im)
    elif im.format == "PPM":
        pixels = deep.ppm_pixels(data)
    else:
        pixels = None
    return None if pixels is None else Picture(pixels, deep.MODES[pixels.shape[2]], metadata, 16)


def check_writable(suffix: str, mode: str, bit_depth: int = 8, palette: bool = False) -> None:
    """An ``ImageError`` unless a picture of ``mode`` (``bit_depth`` bits per sample, ``palette``
    indices) can be written exactly to a file with ``suffix``: checked before any decoding."""
    fmt = LOSSLESS_FORMATS.get(suffix.lower())
    if fmt is None:
        raise ImageError(f"cannot write {suffix or 'files without a suffix'}: choose a lossless format "
                         f"({', '.join(sorted(LOSSLESS_FORMATS))})")
    if fmt == "PNG":
        return
    if bit_depth != 8 or palette:
        what = f"{bit_depth}-bit{' palette' if palette else ''}"
        raise ImageError(f"{a_or_an(what)} {what} image can only be written as PNG")
    if mode not in EXACT_MODES[fmt]:
        holds = ", ".join(EXACT_MODES[fmt])
        raise ImageError(f"{fmt} cannot hold {a_or_an(mode)} {mode} image exactly (it holds {holds}); "
                         "write it as PNG or TIFF")


def writable_suffix(suffix: str, mode: str, bit_depth: int = 8, palette: bool = False) -> str:
    """``suffix`` when a picture of that kind can be written to it exactly, else ``.png``."""
    try:
        check_writable(suffix, mode, bit_depth, palette)
        return suffix.lower()
    except ImageError:
        return ".png"


def encode_image(picture: Picture, suffix: str, threads: int = 1) -> bytes:
    """Encode to a lossless format chosen by file suffix (``.png`` by default). A PNG, written by
    flowzip's own writer (its zlib stream deflated on ``threads`` threads), gets back what its
    source PNG held (depth, palette, chunks), or else a picture's ICC profile, Exif, XMP and
    comment; other formats get plain 8-bit pictures and what of those their writer takes (ICC
    profile and Exif; TIFF and WebP also XMP; TIFF and BMP the resolution)."""
    check_writable(suffix, picture.mode, picture.bit_depth, picture.is_palette)
    fmt = LOSSLESS_FORMATS[suffix.lower()]
    if fmt == "PNG":
        return pngfile.write_png(pngfile.from_planes(picture.pixels, picture.mode, picture.bit_depth, picture.metadata),
                                 compress_level=PNG_LEVEL, threads=threads)
    metadata = pngfile.portable_metadata(picture.metadata)
    options = {"lossless": True, "exact": True} if fmt == "WEBP" else {}
    for key in ("icc_profile", "exif", "xmp") if fmt == "WEBP" else ("icc_profile", "exif"):
        if key in metadata:
            options[key] = metadata[key]
    options.update(resolution.save_options(metadata.get(resolution.KEY), fmt))
    buf = io.BytesIO()
    try:
        if fmt == "TIFF" and metadata.get("xmp"):  # XMP's TIFF tag (700), among the Exif's tags
            options["exif"] = Image.Exif()
            options["exif"].load(metadata.get("exif", b""))
            options["exif"][700] = metadata["xmp"]
        picture.to_pil().save(buf, fmt, **options)
    except (OSError, ValueError, KeyError) as e:
        raise ImageError(f"cannot write {a_or_an(picture.mode)} {picture.mode} image as {fmt}: {e}") from None
    return buf.getvalue()


def png_size(picture: Picture) -> int:
    """Bytes of an optimized PNG of the same pixels (Pillow, optimize=True; flowzip's own writer
    at level 9 where Pillow cannot hold them), for comparison."""
    if not picture.plain:
        return len(pngfile.write_png(pngfile.from_planes(picture.pixels, picture.mode, picture.bit_depth, {})))
    buf = io.BytesIO()
    picture.to_pil().save(buf, "PNG", optimize=True)
    return buf.tell()


def read_array(path: str | Path) -> np.ndarray:
    """A uint8 array of shape (N, H, W[, C]) from .npy or .npy.xz."""
    path = Path(path)
    try:
        if path.name.endswith(".xz"):
            with lzma.open(path) as f:
                return np.load(io.BytesIO(f.read()))
        return np.load(path)
    except (OSError, ValueError, lzma.LZMAError) as e:
        raise ImageError(f"{path}: cannot read array ({e.strerror if isinstance(e, OSError) and e.strerror else e})") from None


def image_files(folder: str | Path, recursive: bool = False, suffixes=IMAGE_SUFFIXES) -> list[Path]:
    """The image files (files with one of ``suffixes``) in a folder, and below it with
    ``recursive``, sorted."""
    files = Path(folder).rglob("*") if recursive else Path(folder).iterdir()
    return sorted(f for f in files if f.suffix.lower() in suffixes and f.is_file())


class NamedPicture(NamedTuple):
    set: str  # the folder's or array file's name
    name: str
    picture: Picture


def load_pictures(paths, limit: int | None = None, start: int = 0, recursive: bool = False) -> list[NamedPicture]:
    """Pictures from folders (their image files; with ``recursive`` also those below, named by
    their relative paths), image files, and .npy / .npy.xz arrays of shape (N, H, W[, C]); per path
    at most ``limit``, from the ``start``-th on. The set is the folder's name, the array file's
    name, or for a single image file the name of its folder."""
    out = []
    stop = None if limit is None else start + limit
    for path in map(Path, paths):
        if path.is_dir():
            out += [NamedPicture(path.name, f.relative_to(path).as_posix(), read_image(f))
                    for f in image_files(path, recursive)[start:stop]]
        elif path.name.endswith(ARRAY_SUFFIXES):
            if not path.is_file():
                raise ImageError(f"{path}: no such file")
            array = read_array(path)
            if array.ndim not in (3, 4):
                raise ImageError(f"{path}: expected an array of shape (N, H, W[, C]), not {array.shape}")
            out += [NamedPicture(path.name, f"{path.name}[{i}]", picture_from_array(np.asarray(array[i])))
                    for i in range(start, min(len(array), stop or len(array)))]
        else:
            out.append(NamedPicture(path.resolve().parent.name, path.name, read_image(path)))
    if not out:
        raise ImageError("no images found in " + ", ".join(map(str, paths)))
    return out
