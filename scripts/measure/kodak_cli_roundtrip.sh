#!/usr/bin/env bash
# Compress all 24 Kodak images with the CLI, decompress them, and compare pixels with the originals.
# With RESULT_JSON=path set, the figures are also written there (for scripts/cards/record_measured.py).
#   bash scripts/measure/kodak_cli_roundtrip.sh [KODAK_DIR] [MODEL] [MORE COMPRESS OPTIONS, e.g. --effort 6]
set -euo pipefail
kodak=${1:-../shared/data/kodak}
model=${2:-}
m=(); [ -n "$model" ] && m=(-m "$model")
m+=("${@:3}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/fz" "$work/png"  # folders: a single image too goes into them
/usr/bin/time -v flowzip compress --no-png "${m[@]}" "$kodak"/kodim*.png -o "$work/fz" 2> "$work/compress.time" > "$work/compress.out"
cat "$work/compress.out"
grep -E "Elapsed|Maximum resident" "$work/compress.time"
/usr/bin/time -v flowzip decompress "$work"/fz/*.fz -o "$work/png" 2> "$work/decompress.time" | tail -1
grep -E "Elapsed|Maximum resident" "$work/decompress.time"
python - "$kodak" "$work" <<'PY'
import json, os, re, sys, numpy as np
from pathlib import Path
from PIL import Image
kodak, work = Path(sys.argv[1]), Path(sys.argv[2])
n, total_bits, total_sub = 0, 0, 0
for src in sorted(kodak.glob("kodim*.png")):
    a = np.asarray(Image.open(src)); b = np.asarray(Image.open(work / "png" / src.name))
    assert a.shape == b.shape and np.array_equal(a, b), f"MISMATCH {src.name}"
    fz = work / "fz" / (src.stem + ".fz")
    total_bits += 8 * fz.stat().st_size; total_sub += a.size; n += 1
estimates = [float(m) for m in re.findall(r"model estimate ([0-9.]+)", (work / "compress.out").read_text())]
mean_estimate = sum(estimates) / len(estimates) if estimates else None  # only with --estimate
print(f"{n} Kodak images: identical pixels after CLI round trip; pooled {total_bits / total_sub:.4f} bpd"
      + (f"; mean model estimate {mean_estimate:.4f} bpd" if estimates else ""))
if os.environ.get("RESULT_JSON"):  # all Kodak images have the same size: pooled = mean
    def seconds(name):  # wall time of the whole CLI run, from /usr/bin/time -v
        clock = re.search(r"Elapsed.*: (?:(\d+):)?(\d+):([\d.]+)", (work / name).read_text()).groups()
        return 3600 * int(clock[0] or 0) + 60 * int(clock[1]) + float(clock[2])
    def peak_mb(name):
        return int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", (work / name).read_text())[1]) / 1024
    Path(os.environ["RESULT_JSON"]).write_text(json.dumps({
        "via": "CLI", "images": n, "mean_bpd": total_bits / total_sub,
        "mean_estimated_bpd": mean_estimate,
        "encode_s_per_image": seconds("compress.time") / n, "decode_s_per_image": seconds("decompress.time") / n,
        "peak_rss_mb": max(peak_mb("compress.time"), peak_mb("decompress.time"))}))
PY
