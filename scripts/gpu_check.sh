#!/usr/bin/env bash
# The exact coding path on a GPU: encode Kodak images and a CIFAR-10 test archive with the networks
# on CUDA and on one CPU core, decode each file both ways, compare pixels and bytes, print times and
# MB/s (raw pixel megabytes per second). Run from the repository root on a machine with a GPU:
#   bash scripts/gpu_check.sh [KODAK_DIR] [N_KODAK] [CIFAR_NPY] [N_CIFAR]
# DEVICE=torch:cpu runs the same script with the GPU's code path on the CPU (a dry run).
# MODELS: the photo models whose networks run (the bits-back Glow and the integer flow);
# ARCHIVE_MODELS: those of the archive (the local prior runs on the CPU whatever the device).
set -euo pipefail
kodak=${1:-../shared/data/kodak}
n=${2:-3}
cifar=${3:-../shared/data/cifar10/test.npy}
n_cifar=${4:-10000}
export DEVICE=${DEVICE:-cuda} MODELS=${MODELS:-glow-photo-v3 idf-photo-v2}
export ARCHIVE_MODELS=${ARCHIVE_MODELS:-glow-rgb-v2 idf-rgb-v2 local-rgb-v1}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1  # one CPU core
python - "$kodak" "$n" "$cifar" "$n_cifar" <<'PY'
import os, sys, time
from pathlib import Path

import numpy as np
import torch

from flowzip import api
from flowzip.images.image import read_image

torch.set_num_threads(1)
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
    mb = picture.pixels.nbytes / 1e6
    print(f"{path.name} {model}: {report.bpd:.4f} bpd, identical files from {device} and cpu: {same_bytes}; "
          + ", ".join(f"{k} {v:.2f} s ({mb / v:.3f} MB/s)" for k, v in times.items()), flush=True)

images = np.load(sys.argv[3], mmap_mode="r")[: int(sys.argv[4])]
named = [(f"{i:05d}.png", read_image(np.ascontiguousarray(x))) for i, x in enumerate(images)]
mb = sum(p.pixels.nbytes for _, p in named) / 1e6
for model in os.environ["ARCHIVE_MODELS"].split():
    files, times = {}, {}
    for where in (device, "cpu"):
        start = time.perf_counter()
        files[where], report = api.encode(named, model, archive=True, device=where)
        times[f"encode {where}"] = time.perf_counter() - start
    for where in (device, "cpu"):
        start = time.perf_counter()
        back = api.decode(files[device], device=where)
        times[f"decode on {where}"] = time.perf_counter() - start
        same = all(np.array_equal(b.pixels, p.pixels) for (_, b), (_, p) in zip(back, named, strict=True))
        ok &= same
        if not same:
            print(f"MISMATCH: the {model} archive decoded on {where}")
    same_bytes = files[device] == files["cpu"]
    ok &= same_bytes
    speed = {k: mb / v for k, v in times.items()}
    print(f"CIFAR-10 test, {len(named)} images as one archive, {model}: {report.bpd:.4f} bpd, identical files from "
          f"{device} and cpu: {same_bytes}; " + ", ".join(f"{k} {v:.1f} s ({speed[k]:.3f} MB/s)"
                                                          for k, v in times.items())
          + f"; {device} / one core: encode {speed[f'encode {device}'] / speed['encode cpu']:.1f}x, decode "
          f"{speed[f'decode on {device}'] / speed['decode on cpu']:.1f}x", flush=True)
print("all identical" if ok else "DIFFERENCES FOUND")
sys.exit(0 if ok else 1)
PY
