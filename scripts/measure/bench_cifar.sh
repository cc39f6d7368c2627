#!/usr/bin/env bash
# The README results table, CIFAR-10 rows: the first 1000 test images (32x32), every round trip
# checked. Needs `pip install -e '.[bench]'`. Run from the repository root.
set -euo pipefail
cifar=${1:-../shared/data/cifar10/test.npy}
mkdir -p runs
flowzip bench "$cifar" --limit 1000 --json runs/bench_cifar.json --csv runs/bench_cifar.csv \
  --plot runs/bench_cifar.png | tee runs/bench_cifar.txt
