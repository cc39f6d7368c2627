#!/usr/bin/env bash
# The README results table, Kodak rows: flowzip and every baseline on the 24 Kodak images, every
# round trip checked. Needs `pip install -e '.[bench]'`. Run from the repository root.
set -euo pipefail
kodak=${1:-../shared/data/kodak}
mkdir -p runs
flowzip bench "$kodak" --json runs/bench_kodak.json --csv runs/bench_kodak.csv --plot runs/bench_kodak.png \
  | tee runs/bench_kodak.txt
