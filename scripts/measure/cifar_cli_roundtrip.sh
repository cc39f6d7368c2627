#!/usr/bin/env bash
# CIFAR-10 test images through the CLI: one .fz per image, and all of them as one archive.
# Writes the images as PNGs, compresses, decompresses, compares every pixel, sums real file sizes.
#   bash scripts/measure/cifar_cli_roundtrip.sh [NPY] [LIMIT] [MODEL]
# With RESULT_JSON=path set, the figures are also written there (for scripts/cards/record_measured.py).
set -euo pipefail
npy=${1:-../shared/data/cifar10/test.npy}
limit=${2:-10000}
model=${3:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python - "$npy" "$limit" "$work" <<'PY'
import sys, numpy as np
from pathlib import Path
from PIL import Image
a = np.load(sys.argv[1], mmap_mode="r")[: int(sys.argv[2])]
out = Path(sys.argv[3]) / "png"
out.mkdir()
for i, x in enumerate(a):
    Image.fromarray(np.asarray(x)).save(out / f"{i:05d}.png")
PY
m=(); [ -n "$model" ] && m=(-m "$model")
mkdir -p "$work/fz" "$work/back" "$work/all"  # folders: several inputs go into them
/usr/bin/time -f "per-file compress: %e s wall, %M KB peak" flowzip compress --no-png "${m[@]}" "$work"/png/*.png -o "$work/fz" > "$work/compress.out"
/usr/bin/time -f "per-file decompress: %e s wall, %M KB peak" flowzip decompress "$work"/fz/*.fz -o "$work/back" > /dev/null
/usr/bin/time -f "archive compress: %e s wall, %M KB peak" flowzip compress --no-png "${m[@]}" "$work"/png/*.png -o "$work/all.fz"
/usr/bin/time -f "archive decompress: %e s wall, %M KB peak" flowzip decompress "$work/all.fz" -o "$work/all"
python - "$work" <<'PY'
import json, os, re, sys, numpy as np
from pathlib import Path
from PIL import Image
work = Path(sys.argv[1])
n, bits, sub = 0, 0, 0
for src in sorted((work / "png").glob("*.png")):
    a = np.asarray(Image.open(src))
    for folder in ("back", "all"):
        assert np.array_equal(a, np.asarray(Image.open(work / folder / src.name))), f"MISMATCH {folder}/{src.name}"
    bits += 8 * (work / "fz" / (src.stem + ".fz")).stat().st_size
    sub += a.size
    n += 1
print(f"{n} images: identical pixels after both CLI round trips")
estimates = [float(m) for m in re.findall(r"model estimate ([0-9.]+)", (work / "compress.out").read_text())]
mean_estimate = sum(estimates) / len(estimates) if estimates else None  # only with --estimate
print(f"one .fz per image: {bits / sub:.4f} bpd (mean over images; all are 32x32x3)"
      + (f"; mean model estimate {mean_estimate:.4f} bpd" if estimates else ""))
archive = 8 * (work / 'all.fz').stat().st_size / sub
print(f"one archive: {archive:.4f} bpd")
if os.environ.get("RESULT_JSON"):
    Path(os.environ["RESULT_JSON"]).write_text(json.dumps({
        "via": "CLI", "images": n, "mean_bpd": bits / sub, "mean_estimated_bpd": mean_estimate,
        "archive_bpd": archive}))
PY
