"""Images in and out (``flowzip.images.image``): a picture is written to a format only where that
format holds it exactly, or refused before any work (rough edge 2: RGBA and gray+alpha written to
PPM, BMP or WebP lost their alpha or the colour of transparent pixels, with exit 0)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from flowzip.errors import ImageError
from flowzip.images.image import (EXACT_MODES, LOSSLESS_FORMATS, Picture, check_writable, encode_image,
                                  picture_from_pil, writable_suffix)

MODES = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}


def _picture(mode: str) -> Picture:
    """Random samples, and where there is alpha, transparent pixels of every colour."""
    pixels = np.random.default_rng(MODES[mode]).integers(0, 256, (9, 13, MODES[mode]), dtype=np.uint8)
    if mode in ("LA", "RGBA"):
        pixels[::2, :, -1] = 0
    return Picture(pixels, mode)


@pytest.mark.parametrize("suffix", sorted(LOSSLESS_FORMATS))
@pytest.mark.parametrize("mode", sorted(MODES))
def test_every_format_holds_a_picture_exactly_or_refuses_it(suffix, mode):
    picture = _picture(mode)
    fmt = LOSSLESS_FORMATS[suffix]
    if fmt != "PNG" and mode not in EXACT_MODES[fmt]:
        with pytest.raises(ImageError, match="cannot hold"):
            check_writable(suffix, mode)
        with pytest.raises(ImageError):
            encode_image(picture, suffix)
        assert writable_suffix(suffix, mode) == ".png"
        return
    check_writable(suffix, mode)
    with Image.open(io.BytesIO(encode_image(picture, suffix))) as im:
        back = picture_from_pil(im) if fmt != "PNG" else None
    if back is not None:
        assert back.mode == mode
        np.testing.assert_array_equal(back.pixels, picture.pixels)  # the transparent pixels' colour too


def test_deep_and_palette_pictures_go_to_png_only():
    for suffix in (".tif", ".bmp", ".webp"):
        with pytest.raises(ImageError, match="^a 16-bit image"):
            check_writable(suffix, "L", 16)
        with pytest.raises(ImageError, match="^an 8-bit palette image"):
            check_writable(suffix, "L", 8, palette=True)
    check_writable(".png", "L", 16)
    with pytest.raises(ImageError, match="lossless format"):
        check_writable(".jpg", "RGB")


def test_pictures_say_what_they_are():
    assert Picture(np.zeros((2, 3, 4), np.uint8), "RGBA").describe() == "3x2 RGBA"
    assert Picture(np.zeros((2, 3, 1), np.uint16), "L", bit_depth=16).describe() == "3x2 L, 16 bits"
    assert Picture(np.zeros((2, 3, 1), np.uint8), "L", bit_depth=1).describe() == "3x2 L, 1 bit"
    palette = Picture(np.zeros((2, 3, 1), np.uint8), "L", {"png:palette": bytes(15)}, bit_depth=4)
    assert palette.describe() == "3x2 palette of 5 colours, 4-bit indices"
