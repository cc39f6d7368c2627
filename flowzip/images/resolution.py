"""A picture's pixel density (its resolution: dots per inch, per centimetre, per metre, or only the
pixels' aspect ratio), kept as its source file states it: read from a TIFF's resolution tags, a
JPEG's JFIF density and a BMP's pixels per metre, written back to a PNG's pHYs chunk (per metre, as
PNG holds it), a TIFF's tags and a BMP's header. A PNG's own pHYs chunk stays among its chunks
(``pngfile``) and goes to other formats from there.

In the metadata (key ``resolution``, 17 bytes): the unit (0 none: an aspect ratio only, 1 inch, 2
centimetre, 3 metre), then the horizontal and the vertical density, each a fraction of two
big-endian unsigned 32-bit integers (numerator, denominator), as a TIFF states them exactly.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import NamedTuple

from PIL import Image

KEY = "resolution"
NONE, INCH, CM, METRE = range(4)
_PER_METRE = {INCH: Fraction(10000, 254), CM: Fraction(100), METRE: Fraction(1)}  # units in a metre
_TIFF_UNITS = {1: NONE, 2: INCH, 3: CM}  # a TIFF's ResolutionUnit (296) -> ours
_TIFF_UNIT_OF = {ours: tiff for tiff, ours in _TIFF_UNITS.items()}
_JFIF_UNITS = {0: NONE, 1: INCH, 2: CM}
_LIMIT = 2**32 - 1
_PNG_LIMIT = 2**31 - 1  # a PNG's four-byte numbers


class Resolution(NamedTuple):
    unit: int
    x: Fraction
    y: Fraction

    def to_bytes(self) -> bytes:
        return bytes([self.unit]) + b"".join(
            v.to_bytes(4, "big") for f in (self.x, self.y) for v in (f.numerator, f.denominator))

    @classmethod
    def from_bytes(cls, data: bytes) -> Resolution | None:
        """The resolution of ``KEY``'s bytes; None where they are malformed (written by no flowzip)."""
        if len(data) != 17 or data[0] > METRE:
            return None
        n = [int.from_bytes(data[i : i + 4], "big") for i in range(1, 17, 4)]
        if 0 in n:
            return None
        return cls(data[0], Fraction(n[0], n[1]), Fraction(n[2], n[3]))

    def per_metre(self) -> tuple[Fraction, Fraction] | None:
        unit = _PER_METRE.get(self.unit)
        return None if unit is None else (self.x * unit, self.y * unit)

    def pixels_per_metre(self) -> tuple[int, int] | None:
        """The densities per metre rounded to the nearest integers (as PNG and BMP hold them)."""
        per_metre = self.per_metre()
        return None if per_metre is None else tuple(math.floor(v + Fraction(1, 2)) for v in per_metre)


def _made(unit: int, x, y) -> bytes | None:
    """``KEY``'s bytes of densities ``x`` and ``y`` (numbers or fractions), None unless both are
    positive and fit."""
    try:
        x, y = Fraction(x), Fraction(y)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    if x <= 0 or y <= 0 or max(x.numerator, x.denominator, y.numerator, y.denominator) > _LIMIT:
        return None
    return Resolution(unit, x, y).to_bytes()


def read(im: Image.Image) -> bytes | None:
    """``_read``, None where the file's fields are malformed (as a damaged file's may be)."""
    try:
        return _read(im)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, AttributeError):
        return None


def _read(im: Image.Image) -> bytes | None:
    """``KEY``'s bytes of a picture of another format than PNG, where its file states a density:
    a TIFF's XResolution and YResolution (282, 283) in its ResolutionUnit (296, inches where it is
    missing); a JPEG's JFIF density (none where it is 1:1 without a unit, the format's default, which
    says nothing); a BMP's pixels per metre (none where they are 0); and, of a PNG that Pillow
    opened, its pHYs."""
    if im.format == "TIFF":
        tags = im.tag_v2
        x, y = tags.get(282), tags.get(283)
        unit = _TIFF_UNITS.get(tags.get(296, 2))
        if x is None or y is None or unit is None:
            return None
        if tags.get(274) in (5, 6, 7, 8):  # turned a quarter: Pillow reads the pixels upright, so the axes swap
            x, y = y, x
        return _made(unit, _fraction(x), _fraction(y))
    if im.format == "JPEG" and "jfif_density" in im.info:
        unit = _JFIF_UNITS.get(im.info.get("jfif_unit", 0))
        density = im.info["jfif_density"]
        if unit is None or (unit == NONE and tuple(density) == (1, 1)):
            return None
        return _made(unit, *density)
    if im.format == "BMP" and "dpi" in im.info:  # Pillow gives the header's pixels per metre over 39.3701
        return _made(METRE, *(round(v * 39.3701) for v in im.info["dpi"]))
    if im.format == "PNG":  # a PNG opened by Pillow: its pHYs per metre times 0.0254, or an aspect ratio
        if "dpi" in im.info:
            return _made(METRE, *(round(v / 0.0254) for v in im.info["dpi"]))
        if "aspect" in im.info:
            return _made(NONE, *im.info["aspect"])
    return None


def _fraction(value) -> Fraction:
    """A TIFF tag's rational (Pillow's ``IFDRational``) or number, exactly."""
    if hasattr(value, "numerator") and hasattr(value, "denominator"):
        return Fraction(value.numerator, value.denominator)
    return Fraction(value).limit_denominator(_LIMIT)  # a FLOAT or DOUBLE tag: the nearest fraction that fits


def phys(data: bytes) -> bytes | None:
    """The data of a PNG's pHYs chunk holding ``KEY``'s bytes: pixels per metre, rounded (a PNG
    holds no other unit), or the aspect ratio in lowest terms; None where PNG cannot hold them."""
    res = Resolution.from_bytes(data)
    if res is None:
        return None
    per_metre = res.pixels_per_metre()
    if per_metre is None:
        ratio = res.x / res.y
        (x, y), unit = (ratio.numerator, ratio.denominator), 0
    else:
        (x, y), unit = per_metre, 1
    if not (0 < x <= _PNG_LIMIT and 0 < y <= _PNG_LIMIT):
        return None
    return x.to_bytes(4, "big") + y.to_bytes(4, "big") + bytes([unit])


def from_phys(data: bytes) -> bytes | None:
    """``KEY``'s bytes of a pHYs chunk's data (per metre, or an aspect ratio); None if malformed."""
    if len(data) != 9 or data[8] > 1:
        return None
    return _made(METRE if data[8] else NONE, int.from_bytes(data[:4], "big"), int.from_bytes(data[4:8], "big"))


def save_options(data: bytes | None, fmt: str) -> dict:
    """Pillow's options that write ``KEY``'s bytes (None: no resolution) to a file of format
    ``fmt``: a TIFF's tags (per centimetre for a density per metre, exactly), a BMP's pixels per
    metre (rounded; 0, "not given", where there is none or only an aspect ratio, rather than
    Pillow's 96 dpi); nothing for formats without one (WebP, PPM)."""
    res = None if data is None else Resolution.from_bytes(data)
    per_metre = None if res is None else res.pixels_per_metre()
    if fmt == "BMP":  # Pillow writes int(dpi * 39.3701 + 0.5) per metre
        return {"dpi": (0, 0) if per_metre is None else tuple(v / 39.3701 for v in per_metre)}
    if fmt == "TIFF" and res is not None:
        from PIL.TiffImagePlugin import IFDRational  # only here: importing it costs every start-up

        unit, x, y = (CM, res.x / 100, res.y / 100) if res.unit == METRE else res
        return {"resolution_unit": _TIFF_UNIT_OF[unit], "x_resolution": IFDRational(x.numerator, x.denominator),
                "y_resolution": IFDRational(y.numerator, y.denominator)}
    return {}
