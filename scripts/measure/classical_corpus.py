"""Bytes and speed of the classical coders (``flowzip.classical.classical``, ``deflate`` and their
best-of in ``planes``) against PNG, JPEG-LS and JPEG XL, on a synthetic corpus this script draws
(graphics, text, gradients, noise, palettes, low and high bit depths, alpha) and on Kodak.

    OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python scripts/measure/classical_corpus.py ../shared/data/kodak

PNG is Pillow's with ``optimize=True`` where Pillow writes the mode (8-bit L/LA/RGB/RGBA, 1-bit),
else imagecodecs' at level 9 (16-bit, and 2/4-bit as 8-bit). JPEG-LS and JPEG XL (lossless,
effort 7) come from imagecodecs; "-" where a codec refuses the image. Speeds are single-thread
wall clock, the fastest of ``--repeat`` calls after a warm-up, in millions of samples per second
(MB/s of 8-bit samples); on a shared machine the fastest call is the least disturbed one.
"""

from __future__ import annotations

import argparse
import io
import os
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from flowzip.classical import classical, deflate, planes


# ----------------------------------------------------------------------------- synthetic corpus

def _aa_drawing(rng, h, w, channels=3):
    """Anti-aliased shapes and lines (drawn at 4x, box-filtered down)."""
    big = Image.new("RGB", (w * 4, h * 4), (245, 245, 240))
    d = ImageDraw.Draw(big)
    for _ in range(25):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        x0, y0 = rng.integers(0, w * 4, 2)
        x1, y1 = x0 + rng.integers(20, w), y0 + rng.integers(20, h)
        kind = rng.integers(3)
        if kind == 0:
            d.ellipse([x0, y0, x1, y1], fill=colour)
        elif kind == 1:
            d.rectangle([x0, y0, x1, y1], outline=colour, width=int(rng.integers(4, 16)))
        else:
            d.line([x0, y0, x1, y1], fill=colour, width=int(rng.integers(4, 24)))
    small = np.asarray(big.resize((w, h), Image.BOX))
    return small[..., :channels] if channels < 3 else small


def _text(h, w, antialias=True):
    font = ImageFont.load_default(size=15)
    page = Image.new("L", (w, h), 255)
    d = ImageDraw.Draw(page)
    if not antialias:
        d.fontmode = "1"
    words = "lossless image compression with normalizing flows and a classical coder beside them ".split()
    rng = np.random.default_rng(1)
    for y in range(4, h - 16, 18):
        line = " ".join(rng.choice(words, 12))
        d.text((6, y), line, fill=0, font=font)
    return np.asarray(page)


def _gradient(h, w):
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    rgb = np.stack([xx, yy, 0.5 + 0.5 * np.sin(6 * xx * yy)], axis=-1)
    return np.round(rgb * 255).astype(np.uint8)


def _palette_map(rng, h, w, colours=12):
    """A chart-like image: flat regions in a few colours with hard edges."""
    lut = rng.integers(0, 256, (colours, 3)).astype(np.uint8)
    idx = np.zeros((h, w), np.int64)
    for _ in range(40):
        y0, x0 = rng.integers(0, h), rng.integers(0, w)
        idx[y0:y0 + rng.integers(8, h // 2), x0:x0 + rng.integers(8, w // 2)] = rng.integers(colours)
    return lut[idx]


def _kodak16(kodak_dir, rng, smooth):
    x = np.asarray(Image.open(sorted(Path(kodak_dir).glob("*.png"))[2]).convert("RGB")).astype(np.float64)
    if smooth:  # a blurred-and-rescaled photo: real 16-bit gradations
        x = np.asarray(Image.fromarray(x.astype(np.uint8)).resize((384, 256), Image.LANCZOS)).astype(np.float64)
        x = np.asarray(Image.fromarray(np.uint8(x)).resize((768, 512), Image.BICUBIC)).astype(np.float64)
    x16 = x * 257 + rng.normal(0, 24, x.shape)
    return np.clip(np.round(x16), 0, 65535).astype(np.uint16)


def _saturated_ramps(h, w):
    """Fully saturated hue sweeps, darkening downwards, in 16 bits."""
    hue = np.linspace(0, 6, w, endpoint=False)[None, :].repeat(h, 0)
    value = np.linspace(1, 0.2, h)[:, None]
    k = lambda n: np.clip(np.abs((hue + n) % 6 - 3) - 1, 0, 1)  # noqa: E731
    rgb = np.stack([k(0), k(4), k(2)], axis=-1) * value[..., None]
    return np.round(rgb * 65535).astype(np.uint16)


def synthetic_corpus(kodak_dir):
    """(name, (H, W, C) or (H, W) array, bits)."""
    rng = np.random.default_rng(0)
    text = _text(256, 512)
    drawing = _aa_drawing(rng, 384, 512)
    alpha = np.where(_aa_drawing(rng, 384, 512, 1)[..., 0] > 128, 255, 0).astype(np.uint8)
    gray_alpha = np.stack([_aa_drawing(rng, 384, 512, 1)[..., 0], alpha], axis=-1)
    corpus = [
        ("drawing, anti-aliased RGB", drawing, 8),
        ("drawing + alpha RGBA", np.concatenate([drawing, alpha[..., None]], axis=-1), 8),
        ("gray + alpha", gray_alpha, 8),
        ("text, anti-aliased gray", text, 8),
        ("text, 1-bit", (_text(256, 512, antialias=False) > 127).astype(np.uint8), 1),
        ("gradient RGB", _gradient(256, 384), 8),
        ("constant RGB", np.full((128, 128, 3), 200, np.uint8), 8),
        ("noise RGB", rng.integers(0, 256, (128, 128, 3), dtype=np.uint8), 8),
        ("palette map, 12 colours", _palette_map(rng, 384, 512), 8),
        ("2-bit gray", (_aa_drawing(rng, 256, 256, 1)[..., 0] >> 6).astype(np.uint8), 2),
        ("4-bit gray", (_aa_drawing(rng, 256, 256, 1)[..., 0] >> 4).astype(np.uint8), 4),
        ("16-bit photo (kodim03 x257 + noise)", _kodak16(kodak_dir, rng, False), 16),
        ("16-bit smooth photo (upscaled + noise)", _kodak16(kodak_dir, rng, True), 16),
        ("16-bit saturated ramps", _saturated_ramps(256, 512), 16),
    ]
    return corpus


# ----------------------------------------------------------------------------- baselines

def png_bytes(x, bits):
    pil_modes = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
    channels = 1 if x.ndim == 2 else x.shape[2]
    buf = io.BytesIO()
    if bits == 8:
        Image.fromarray(x, pil_modes[channels]).save(buf, "PNG", optimize=True)
        return len(buf.getvalue())
    if bits == 1 and channels == 1:
        Image.fromarray(x.astype(bool)).save(buf, "PNG", optimize=True)
        return len(buf.getvalue())
    import imagecodecs
    return len(imagecodecs.png_encode(x, level=9))


def jpegls_bytes(x, bits):
    import imagecodecs
    try:
        return len(imagecodecs.jpegls_encode(x if bits > 1 else x * 255))
    except Exception:
        return None


def jpegxl_bytes(x, bits):
    import imagecodecs
    try:
        return len(imagecodecs.jpegxl_encode(x, lossless=True, effort=7, bitspersample=bits))
    except Exception:
        return None


# ----------------------------------------------------------------------------- measuring

def timed(repeat, fn, *args):
    """``fn(*args)`` and its fastest time of ``repeat`` calls, after a warm-up (and numba compile)."""
    out = fn(*args)
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - t)
    return out, best


def measure(x_hwc, bits, repeat):
    x = np.ascontiguousarray(x_hwc[None] if x_hwc.ndim == 2 else x_hwc.transpose(2, 0, 1))
    row = {"samples": x.size}
    for name, coder in (("classical", classical), ("deflate", deflate)):
        data, t_enc = timed(repeat, coder.encode_planes, x, bits)
        back, t_dec = timed(repeat, coder.decode_planes, data, *x.shape, bits)
        assert np.array_equal(back, x), name
        row[name] = len(data)
        row[name + "_speed"] = (x.size / t_enc / 1e6, x.size / t_dec / 1e6)
    method, data = planes.best_encoding(x, bits)
    assert np.array_equal(planes.decode_method(method, data, *x.shape, bits), x)
    row["best"], row["best_method"] = len(data), planes.METHOD_NAMES[method]
    row["png"] = png_bytes(x_hwc, bits)
    row["jpegls"] = jpegls_bytes(x_hwc, bits)
    row["jpegxl"] = jpegxl_bytes(x_hwc, bits)
    return row


def fmt_bytes(v):
    return "-" if v is None else str(v)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kodak", type=Path, help="folder of the 24 Kodak PNGs")
    ap.add_argument("--limit", type=int, default=24, help="Kodak images to measure")
    ap.add_argument("--repeat", type=int, default=3, help="timed calls per coding (the fastest counts)")
    ap.add_argument("--cifar", type=Path, help="CIFAR-10 test.npy (uint8 N x 32 x 32 x 3): bpd of small images")
    ap.add_argument("--cifar-limit", type=int, default=10_000)
    args = ap.parse_args()
    print(f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')} "
          f"NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS')}; load average at start: "
          f"{open('/proc/loadavg').read().split()[:3]}")

    print("\n## Synthetic corpus (bytes; best = smallest of constant/classical/deflate)\n")
    print("| image | bits | samples | classical | deflate | best (method) | PNG | JPEG-LS | JPEG XL "
          "| classical bps | classical enc/dec Ms/s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, x, bits in synthetic_corpus(args.kodak):
        r = measure(x, bits, args.repeat)
        enc, dec = r["classical_speed"]
        print(f"| {name} | {bits} | {r['samples']} | {r['classical']} | {r['deflate']} | "
              f"{r['best']} ({r['best_method']}) | {r['png']} | {fmt_bytes(r['jpegls'])} | {fmt_bytes(r['jpegxl'])} | "
              f"{8 * r['classical'] / r['samples']:.3f} | {enc:.1f} / {dec:.1f} |", flush=True)

    print("\n## Kodak (bits per sub-pixel)\n")
    files = sorted(args.kodak.glob("*.png"))[:args.limit]
    totals: dict[str, float] = {}
    speeds = {"classical": np.zeros(2), "deflate": np.zeros(2)}
    samples = 0
    for f in files:
        x = np.asarray(Image.open(f).convert("RGB"))
        r = measure(x, 8, args.repeat)
        samples += r["samples"]
        for k in ("classical", "deflate", "best", "png", "jpegls", "jpegxl"):
            totals[k] = totals.get(k, 0) + (r[k] or 0)
        for k in speeds:
            speeds[k] += r["samples"] / np.array(r[k + "_speed"]) / 1e6  # seconds
        print(f"  {f.name}: classical {8 * r['classical'] / r['samples']:.3f} bpd", flush=True)
    print("\n| codec | bpd | encode Ms/s | decode Ms/s |")
    print("| --- | --- | --- | --- |")
    for k, label in (("classical", "classical"), ("deflate", "deflate (PNG filters + zlib 9)"),
                     ("best", "best of the two"), ("png", "PNG (Pillow, optimize)"),
                     ("jpegls", "JPEG-LS (imagecodecs)"), ("jpegxl", "JPEG XL lossless, effort 7")):
        speed = ""
        if k in speeds:
            enc, dec = samples / speeds[k] / 1e6
            speed = f" {enc:.2f} | {dec:.2f}"
        print(f"| {label} | {8 * totals[k] / samples:.3f} |{speed or ' | '} |")
    if args.cifar:
        cifar(np.load(args.cifar)[:args.cifar_limit])
    print(f"\nload average at end: {open('/proc/loadavg').read().split()[:3]}")


def cifar(images: np.ndarray) -> None:
    """bpd of each 32x32 image coded on its own (stream bytes only, no container)."""
    totals = dict.fromkeys(("classical", "deflate", "best", "png", "jpegxl"), 0)
    seconds = 0.0
    for im in images:
        x = np.ascontiguousarray(im.transpose(2, 0, 1))
        t = time.perf_counter()
        data = classical.encode_planes(x, 8)
        seconds += time.perf_counter() - t
        totals["classical"] += len(data)
        totals["deflate"] += len(deflate.encode_planes(x, 8))
        totals["best"] += len(planes.best_encoding(x, 8)[1])
        totals["png"] += png_bytes(im, 8)
        totals["jpegxl"] += jpegxl_bytes(im, 8) or 0
    print(f"\n## CIFAR-10 test, first {len(images)} images, each on its own (bits per sub-pixel)\n")
    print("| classical | deflate | best of the two | PNG (Pillow, optimize) | JPEG XL lossless, effort 7 |")
    print("| --- | --- | --- | --- | --- |")
    print("| " + " | ".join(f"{8 * totals[k] / images.size:.3f}" for k in totals) + " |")
    print(f"\nclassical encode: {1e3 * seconds / len(images):.2f} ms per image")


if __name__ == "__main__":
    main()
