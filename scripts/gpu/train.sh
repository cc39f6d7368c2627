#!/usr/bin/env bash
# A larger training of the CIFAR and photo models on one GPU within a 10-minute window: each run
# trains for max_wall_s seconds (about 4 minutes), checkpoints into OUT, and resumes from there
# when the script is run again with the same OUT (bring OUT back between windows).
#
#   bash scripts/gpu/train.sh DATA OUT [STEPS]
#
# DATA holds cifar10/ and train_photos/ as in ../shared/data (copy it into the repository, in a
# folder git ignores, and name it in the device tool's `carry`); OUT is where checkpoints and logs
# go ($OUT on the device machine). STEPS caps every run's steps (a CPU dry run: STEPS=2
# DEVICE=cpu). Export afterwards: flowzip export OUT/glow-photo/checkpoint.pt --name glow-photo-v4
set -euo pipefail
data=${1:?DATA folder}; out=${2:?OUT folder}; steps=${3:-}
device=${DEVICE:-cuda}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
for run in glow-rgb glow-photo; do
  config="$out/$run.config.json"
  python - "$here/$run.json" "$data" "$config" "$steps" <<'PY'
import json, sys
recipe, data, target, steps = sys.argv[1:]
text = open(recipe).read().replace("DATA", data)
config = json.loads(text)
if steps:
    config["train"].update(steps=int(steps), eval_every=int(steps), checkpoint_every=int(steps), warmup=1)
json.dump(config, open(target, "w"), indent=2)
PY
  resume=(); [ -f "$out/$run/checkpoint.pt" ] && resume=(--resume)
  echo "== $run on $device ${resume[*]}"
  python -m flowzip.cli train "$config" --out "$out/$run" --device "$device" "${resume[@]}"
  tail -n 2 "$out/$run/log.jsonl"
done
