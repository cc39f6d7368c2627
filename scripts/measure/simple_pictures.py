"""Where the guide pays: the guided coder's bytes against the classical coder's on held-out photos
(the first N JPEGs of ``train_photos/bsds500/test``, full size and reduced 2x, never Kodak), by
the classical coder's bpd; then two drawings (boxes and text; a gradient on white, 1280x800)
through the CLI at the default effort and at ``-4`` (the classical coder alone), one process per
file, side by side, with the coder each file kept. What ``api.SIMPLE_BPD`` was chosen from.

    python scripts/measure/simple_pictures.py [--photos 40]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def drawings() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    ui = Image.new("RGB", (1280, 800), (245, 245, 248))
    draw = ImageDraw.Draw(ui)
    for _ in range(40):
        x, y = rng.integers(0, 1200), rng.integers(0, 760)
        draw.rectangle([x, y, x + rng.integers(20, 300), y + rng.integers(10, 100)],
                       fill=tuple(int(v) for v in rng.integers(0, 256, 3)), outline=(0, 0, 0))
    for _ in range(300):
        draw.text((int(rng.integers(0, 1200)), int(rng.integers(0, 790))), "flowzip lossless " * 2, fill=(20, 20, 20))
    for _ in range(20):
        draw.line([tuple(int(v) for v in rng.integers(0, 1280, 2)), tuple(int(v) for v in rng.integers(0, 800, 2))],
                  fill=(200, 30, 30), width=2)
    plot = np.full((800, 1280, 3), 255, np.uint8)
    yy, xx = np.mgrid[:400, :640]
    plot[:400, :640] = np.stack([xx * 255 // 639, yy * 255 // 399, np.full_like(xx, 128)], -1)
    return {"boxes-and-text": np.asarray(ui), "gradient-on-white": plot}


def photos(count: int) -> None:
    import flowzip

    files = sorted((DATA / "train_photos" / "bsds500" / "test").glob("*.jpg"))[:count]
    rows = []
    for f in files:
        full = Image.open(f).convert("RGB")
        for size, im in (("full", full), ("half", full.resize((full.width // 2, full.height // 2), Image.LANCZOS))):
            a = np.asarray(im)
            classical = len(flowzip.compress(a, effort=4))
            guided = len(flowzip.compress(a, model="guided-photo-v1"))
            rows.append((size, 8 * classical / a.size, guided / classical))
    for size in ("full", "half"):
        r = sorted((bpd, ratio) for s, bpd, ratio in rows if s == size)
        print(f"{size}: {len(r)} photos, classical {r[0][0]:.3f}-{r[-1][0]:.3f} bpd, guided/classical "
              f"{min(x for _, x in r):.4f}-{max(x for _, x in r):.4f} (mean {np.mean([x for _, x in r]):.4f}), "
              f"guided smaller on {sum(x < 1 for _, x in r)}; the three lowest: "
              + ", ".join(f"{b:.3f} bpd {x:.4f}" for b, x in r[:3]), flush=True)


def cli(name: str, pixels: np.ndarray, folder: Path) -> None:
    png = folder / f"{name}.png"
    Image.fromarray(pixels).save(png)
    for options in ([], ["-4"]):
        start = time.perf_counter()
        out = subprocess.run(["flowzip", "compress", "-f", *options, str(png), "-o", str(folder / "x.fz")],
                             capture_output=True, text=True, check=True).stdout.strip()
        print(f"{name} {' '.join(options) or 'default'}: {time.perf_counter() - start:.2f} s, {out.split(': ', 1)[1]}",
              flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=40)
    args = ap.parse_args()
    if args.photos:
        photos(args.photos)
    with tempfile.TemporaryDirectory() as tmp:
        for name, pixels in drawings().items():
            cli(name, pixels, Path(tmp))


if __name__ == "__main__":
    main()
