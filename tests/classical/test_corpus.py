"""A PNG never grows: a small corpus of what photos are not (drawings, text, gradients, flat
planes, noise, palettes, 1/2/4/16-bit, gray+alpha, wide-gamut ramps, a colourful chessboard, an
Exif block), each compressed with the defaults to at most its PNG file's bytes plus the difference
of the headers (``HEADROOM``), and restored exactly at its own depth (rough edge 9: a chessboard
came out 50 % larger, a 4-bit gray PNG 281 bytes, a PNG with Exif 699)."""

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

import flowzip
from flowzip import api
from flowzip.images import pngfile
from flowzip.images.image import encode_image

from helpers import shipped_model_available

pytestmark = pytest.mark.skipif(not shipped_model_available(), reason="shipped models not installed")
HEADROOM = 24  # a .fz file's header and stack state, beside a PNG's signature, IHDR, IDAT and IEND


def _drawing(mode: str = "RGB") -> Image.Image:
    big = Image.new(mode, (384, 288), (250, 248, 240, 255)[: len(mode)])
    draw = ImageDraw.Draw(big)
    rng = np.random.default_rng(0)
    for _ in range(12):
        x, y = rng.integers(0, 340), rng.integers(0, 250)
        colour = tuple(int(v) for v in rng.integers(0, 256, len(mode)))
        draw.ellipse((x, y, x + rng.integers(20, 90), y + rng.integers(20, 90)), outline=colour, width=6)
    return big.resize((96, 72), Image.LANCZOS)  # anti-aliased edges


def _text() -> Image.Image:
    image = Image.new("L", (200, 120), 255)
    draw = ImageDraw.Draw(image)
    for row in range(9):
        draw.text((4, 4 + 13 * row), "flowzip keeps every pixel exactly %d" % row, fill=0)
    return image


def _png(image: Image.Image, **options) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG", optimize=True, **options)
    return buf.getvalue()


def _corpus() -> dict[str, bytes]:
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:80, 0:120]
    gradient = np.stack([xx * 2, yy * 3, (xx + yy)], -1).astype(np.uint8)
    ramp16 = np.stack([xx * 546, yy * 800, 65535 - xx * 546], -1).astype(np.uint16)  # saturated, wide-gamut-like
    photo16 = (np.asarray(Image.fromarray(gradient).resize((120, 80))).astype(np.uint16) * 257
               + rng.integers(0, 64, (80, 120, 3))).astype(np.uint16)
    files = {
        "drawing.png": _png(_drawing()),
        "drawing-rgba.png": _png(_drawing("RGBA")),
        "text.png": _png(_text()),
        "text-1bit.png": _png(_text().convert("1")),
        "gradient.png": _png(Image.fromarray(gradient)),
        "constant.png": _png(Image.new("RGB", (90, 70), (12, 200, 99))),
        "opaque-rgba.png": _png(Image.fromarray(np.dstack([gradient, np.full((80, 120), 255, np.uint8)]))),
        "noise.png": _png(Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8))),
        "palette.png": _png(_drawing().quantize(12)),
        "gray-alpha.png": _png(Image.fromarray(np.dstack([gradient[..., 0], gradient[..., 1]]), "LA")),
        "thumbnail.png": _png(Image.fromarray(gradient[:32, :32])),
    }
    for bits in (1, 2, 4):
        samples = ((xx // 8 + yy // 8) % (1 << bits)).astype(np.uint8)[..., None]
        files[f"gray-{bits}bit.png"] = pngfile.write_png(pngfile.PngImage(samples, pngfile.GRAY, bits))
    for name, samples in (("ramp-16bit.png", ramp16), ("photo-16bit.png", photo16)):
        files[name] = pngfile.write_png(pngfile.PngImage(samples, pngfile.RGB, 16))
    board = rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)  # a colourful chessboard of 1-pixel squares
    board[np.add.outer(np.arange(128), np.arange(128)) % 2 == 1] = 255
    files["chessboard.png"] = _png(Image.fromarray(board))
    files["gray-4bit-noise.png"] = pngfile.write_png(pngfile.PngImage(rng.integers(0, 16, (16, 16, 1), dtype=np.uint8),
                                                                     pngfile.GRAY, 4))
    exif = Image.Exif()
    exif[0x010E] = rng.integers(0, 256, 450, dtype=np.uint8).tobytes().hex()  # a description of 900 characters
    files["exif.png"] = _png(Image.fromarray(board[:40, :40]), exif=exif.tobytes())
    return files


CORPUS = _corpus()


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_a_png_never_grows_and_is_exact_at_its_own_depth(name, tmp_path):
    png = CORPUS[name]
    path = tmp_path / name
    path.write_bytes(png)
    data = flowzip.compress(path)
    assert len(data) <= len(png) + HEADROOM, (name, len(data), len(png))
    picture = api.decompress_picture(data)
    original = pngfile.read_png(png)
    again = pngfile.read_png(encode_image(picture, ".png"))
    assert (again.colour_type, again.bit_depth, again.palette, again.chunks) == \
        (original.colour_type, original.bit_depth, original.palette, original.chunks)
    np.testing.assert_array_equal(again.samples, original.samples)


@pytest.mark.parametrize("interlaced", [False, True])
def test_pngsuite_style_files_are_kept_with_their_chunks(interlaced, tmp_path):
    """Every colour type and bit depth, interlaced or not, with every kind of chunk: compressed with
    the defaults and written back, the same samples, palette, chunks and interlacing."""
    from pngsuite import CASES, suite_image

    for k, (colour_type, depth) in enumerate(CASES):
        original = suite_image(colour_type, depth, (9, 17), interlaced, seed=k)
        path = tmp_path / f"case{k}.png"
        path.write_bytes(pngfile.write_png(original))
        again = pngfile.read_png(encode_image(api.decompress_picture(flowzip.compress(path)), ".png"))
        assert (again.colour_type, again.bit_depth, again.interlaced, again.palette, again.chunks) == \
            (original.colour_type, original.bit_depth, original.interlaced, original.palette, original.chunks)
        np.testing.assert_array_equal(again.samples, original.samples)


def test_animated_and_corrupt_pngs_are_refused_in_one_line(tmp_path):
    from click.testing import CliRunner

    from flowzip.cli.main import main

    frames = [Image.new("RGB", (4, 4), c) for c in ((0, 0, 0), (255, 0, 0))]
    frames[0].save(tmp_path / "anim.png", save_all=True, append_images=frames[1:])
    good = CORPUS["gradient.png"]
    (tmp_path / "bad.png").write_bytes(good[:60] + bytes([good[60] ^ 1]) + good[61:])
    for name, message in (("anim.png", "animated PNG"), ("bad.png", "CRC")):
        result = CliRunner().invoke(main, ["compress", str(tmp_path / name)])
        lines = result.output.strip().splitlines()
        assert result.exit_code == 1 and len(lines) == 1 and message in lines[0] and str(tmp_path / name) in lines[0]
