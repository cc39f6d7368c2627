"""Colour pictures of 16 bits per sample, which Pillow reads only as 8: RGB and RGBA TIFF files
(the pixels read by ``tifffile``, the tags by Pillow) and binary PPM files of maximum value 65535
(read here). They are kept as 16-bit RGB or RGBA pictures, which a PNG holds.

A TIFF's orientation is applied to its pixels, as Pillow does with the TIFFs it reads itself
(``tifftags``). An LZW TIFF needs the ``imagecodecs`` package (tifffile's codec); without it, and
for premultiplied or unnamed extra samples, the picture is refused with a line that says so
(several pages are refused before, as for every format: ``image.read_image``).
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
from typing import NamedTuple

import numpy as np
from PIL import Image

from ..errors import ImageError
from .pngfile import MAX_PIXELS

MODES = {3: "RGB", 4: "RGBA"}
UNASSOCIATED_ALPHA = 2  # a TIFF's ExtraSamples value for straight alpha
# a TIFF's orientation (274) -> the numpy steps that show it upright, as Pillow's exif_transpose
_UPRIGHT = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
            5: lambda a: a.transpose(1, 0, 2), 6: lambda a: np.rot90(a, -1),
            7: lambda a: a[::-1, ::-1].transpose(1, 0, 2), 8: lambda a: np.rot90(a, 1)}


def tiff_pixels(data: bytes, im: Image.Image) -> np.ndarray:
    """The (H, W, 3 or 4) uint16 pixels of a 16-bit RGB or RGBA TIFF that Pillow opened as ``im``
    (its tags), upright."""
    if im.mode not in MODES.values():
        raise ImageError(f"16-bit TIFF images of mode {im.mode} are not supported (RGB and RGBA are)")
    extra = im.tag_v2.get(338, ())
    extra = extra if isinstance(extra, tuple) else (extra,)
    if im.mode == "RGBA" and tuple(extra) != (UNASSOCIATED_ALPHA,):
        raise ImageError("16-bit TIFF images with premultiplied or unnamed extra samples are not supported")
    import tifffile  # only here: most pictures never need it

    try:
        with _quiet(logging.getLogger("tifffile")), tifffile.TiffFile(io.BytesIO(data)) as tiff:
            page = tiff.pages[0]
            if math.prod(page.shape) > len(im.mode) * MAX_PIXELS:  # damaged tags: before the pixels' memory
                raise ImageError("cannot read the 16-bit TIFF (too many pixels)")
            pixels = page.asarray()
            axes = page.axes
    except ImageError:
        raise
    except Exception as e:  # noqa: BLE001 - tifffile's and its codecs' errors on a damaged file are of many kinds
        reason = e.args[0] if e.args else type(e).__name__
        if "imagecodecs" in str(reason):  # a codec tifffile has only with imagecodecs (LZW)
            raise ImageError(f"this 16-bit TIFF needs the imagecodecs package ({reason}): pip install imagecodecs") \
                from None
        raise ImageError(f"cannot read the 16-bit TIFF ({reason})") from None
    if axes == "SYX":  # planes stored apart
        pixels = pixels.transpose(1, 2, 0)
    if pixels.dtype != np.uint16 or pixels.ndim != 3 or pixels.shape[2] != len(im.mode):
        raise ImageError(f"cannot read the 16-bit TIFF (its samples are {pixels.dtype}, {pixels.shape})")
    upright = _UPRIGHT.get(im.tag_v2.get(274, 1))
    return np.ascontiguousarray(upright(pixels) if upright else pixels)


@contextlib.contextmanager
def _quiet(logger: logging.Logger):
    """``logger``'s records dropped for a while (a filter of this call's own, so that threads reading
    at once do not undo each other): tifffile logs what it skips of a damaged file, and what it
    cannot read raises (one line from flowzip, not several)."""
    drop = logging.Filter("none of them")  # passes only a logger of that name
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


class PpmHeader(NamedTuple):
    magic: bytes
    width: int
    height: int
    top: int  # the maximum value
    raster: int  # where the samples begin


def ppm_header(data: bytes) -> PpmHeader | None:
    """The header of a PBM-family file of gray or colour samples (P2, P3, P5, P6): its width,
    height and maximum value, each after white space or comments, then one white space byte; None
    for any other file."""
    magic, fields, at = data[:2], [], 2
    if magic not in (b"P2", b"P3", b"P5", b"P6"):
        return None
    while len(fields) < 3:
        while at < len(data) and (data[at : at + 1].isspace() or data[at : at + 1] == b"#"):
            if data[at : at + 1] == b"#":  # a comment, to the end of its line
                at = data.find(b"\n", at)
                at = len(data) if at < 0 else at
            at += 1
        start = at
        while at < len(data) and data[at : at + 1].isdigit():
            at += 1
        if at == start:
            return None
        fields.append(int(data[start:at]))
    if not data[at : at + 1].isspace():
        return None
    return PpmHeader(magic, *fields, at + 1)


def ppm_pixels(data: bytes) -> np.ndarray | None:
    """The (H, W, 3) uint16 pixels of a binary PPM (P6) of maximum value 65535; None for any other
    file."""
    header = ppm_header(data)
    if header is None or header.magic != b"P6" or header.top != 65535:
        return None
    width, height = header.width, header.height
    if width < 1 or height < 1:
        raise ImageError("the 16-bit PPM has no pixels")
    raster = data[header.raster : header.raster + 6 * width * height]
    if len(raster) < 6 * width * height:
        raise ImageError("the 16-bit PPM is truncated")
    return np.frombuffer(raster, ">u2").astype(np.uint16).reshape(height, width, 3)
