#!/usr/bin/env bash
# One device-tool call's worth of GPU work, prepared here and run there (15 minutes of device time
# a session, 10 a command, 64 MiB of working tree and carried files):
#   bash scripts/gpu/session.sh prepare        # here: fills gpu_carry/next (ignored by git)
#   bash scripts/gpu/session.sh run            # there, from the repository root; carry gpu_carry/next
# `run` first checks the exact coding path on the GPU against one CPU core (scripts/gpu_check.sh:
# kodim01 and 400 CIFAR-10 test images, identical bytes and pixels, MB/s), then continues the
# thumbnails' prior (run c3_w96l2k6_cont of scripts/gpu/train_local.py, from local-rgb-v2's run) on
# CIFAR-10 train images 13000-25999 for TRAIN_S seconds. Results land in $OUT (gpu_check.txt, the
# run's .pt, log.json). A CPU dry run: DEVICE=torch:cpu TRAIN_S=10 OUT=/tmp/out bash scripts/gpu/session.sh run
set -euo pipefail
carry=gpu_carry/next
case ${1:?prepare or run} in
prepare)
  data=${DATA:-../shared/data}
  mkdir -p "$carry/kodak"
  grep -qx '/gpu_carry/' .git/info/exclude || echo /gpu_carry/ >> .git/info/exclude
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_17_x86_64 -d "$carry" "constriction==$(python3 -c 'from importlib.metadata import version; print(version("constriction"))')"
  cp "$data/kodak/kodim01.png" "$carry/kodak/"
  cp "${INIT:-runs/gpu3/c3_w96l2k6.pt}" "$carry/c3_w96l2k6.pt"
  python3 - "$data" "$carry" <<'PY'
import io, lzma, sys
import numpy as np
data, carry = sys.argv[1:]
train = np.load(io.BytesIO(lzma.open(f"{data}/cifar10/train.npy.xz").read()))[13000:26000]
buf = io.BytesIO(); np.save(buf, np.ascontiguousarray(train))
open(f"{carry}/cifar_train.npy.xz", "wb").write(lzma.compress(buf.getvalue(), preset=6))
np.save(f"{carry}/cifar_test.npy", np.load(f"{data}/cifar10/test.npy", mmap_mode="r")[:400])
PY
  du -sh "$carry"; echo "carry $carry (with the repository: under 64 MiB)";;
run)
  if ! python3 -c 'import constriction' 2> /dev/null; then  # the device machine lacks it
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site "$carry"/*.whl
    export PYTHONPATH=/tmp/site:$PWD
  fi
  export PYTHONUNBUFFERED=1 XDG_CACHE_HOME=/tmp/flowzip-cache
  out=${OUT:?the folder that comes back}
  export DEVICE=${DEVICE:-cuda} MODELS=glow-photo-v3 ARCHIVE_MODELS="glow-rgb-v2 local-rgb-v2"
  timeout "${CHECK_S:-240}" bash scripts/gpu_check.sh "$carry/kodak" 1 "$carry/cifar_test.npy" 400 \
    > "$out/gpu_check.txt" 2>&1 || echo "gpu_check: exit $?" >> "$out/gpu_check.txt"
  mkdir -p /tmp/train && cp "$carry/c3_w96l2k6.pt" /tmp/train/
  python3 scripts/gpu/train_local.py --budget "${TRAIN_S:-240}" --out /tmp/train --device "${DEVICE/torch:/}" \
    --cifar "$carry/cifar_train.npy.xz" --runs c3_w96l2k6_cont > /tmp/train.txt 2>&1 || tail -20 /tmp/train.txt
  cp /tmp/train/c3_w96l2k6_cont.pt /tmp/train/log.json "$out/"
  cat "$out/gpu_check.txt";;
*) echo "usage: $0 prepare|run" >&2; exit 2;;
esac
