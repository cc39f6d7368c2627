#!/usr/bin/env bash
# The exact coding path on a GPU: encode Kodak images with the networks on CUDA, decode them on the
# CPU (and the other way round), compare pixels and bytes, print times. Run from the repository
# root on a machine with a CUDA GPU:   bash scripts/gpu_check.sh [KODAK_DIR] [N_IMAGES]
# DEVICE=torch:cpu runs the same script with the GPU's code path on the CPU (a dry run).
# MODELS names the models whose networks run (the default photo path is the classical coder,
# which has none): the bits-back Glow and the integer flow for photos.
set -euo pipefail
kodak=${1:-../shared/data/kodak}
n=${2:-3}
export DEVICE=${DEVICE:-cuda} MODELS=${MODELS:-glow-photo-v3 idf-photo-v2}
python - "$kodak" "$n" <<'PY'
import os, sys, time
from pathlib import Path

import numpy as np
import torch

from flowzip import api
from flowzip.images.image import read_image

device = os.environ["DEVICE"]
if device.startswith("cuda"):
    assert torch.cuda.is_available(), "no CUDA GPU here"
    print("GPU:", torch.cuda.get_device_name(0), "| torch", torch.__version__, "| cuDNN off in the coding path")
ok = True
for model, path in ((m, p) for m in os.environ["MODELS"].split() for p in sorted(Path(sys.argv[1]).glob("kodim*.png"))[: int(sys.argv[2])]):
    picture = read_image(path)
    times = {}
    for where in (device, "cpu"):
        start = time.perf_counter()
        data, report = api.encode([("", picture)], model, device=where)
        times[f"encode {where}"] = time.perf_counter() - start
        for other in ("cpu", device):
            start = time.perf_counter()
            (_, back), = api.decode(data, device=other)
            times[f"decode {where}->{other}"] = time.perf_counter() - start
            same = np.array_equal(back.pixels, picture.pixels)
            ok &= same
            if not same:
                print(f"MISMATCH {path.name}: encoded on {where}, decoded on {other}")
        if where == device:
            gpu_bytes = data
    same_bytes = gpu_bytes == data
    ok &= same_bytes
    print(f"{path.name} {model}: {report.bpd:.4f} bpd, identical files from {device} and cpu: {same_bytes}; "
          + ", ".join(f"{k} {v:.2f} s" for k, v in times.items()), flush=True)
print("all identical" if ok else "DIFFERENCES FOUND")
sys.exit(0 if ok else 1)
PY
