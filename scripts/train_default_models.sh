#!/usr/bin/env bash
# The exact commands that produced the shipped models idf-rgb-v1 and idf-gray-v1 (2 CPU cores).
# Run from the repository root with ../shared/data present; run folders are git-ignored.
set -euo pipefail
flowzip train scripts/configs/idf-rgb.json --out runs/idf-rgb --device cpu
# idf-gray-v1 was stopped (Ctrl-C) after its step-1000 checkpoint for lack of session time:
flowzip train scripts/configs/idf-gray.json --out runs/idf-gray --device cpu
for m in rgb gray; do
  python scripts/make_card.py runs/idf-$m > runs/idf-$m/card.json
  flowzip export runs/idf-$m/checkpoint.pt --name idf-$m-v1 --card runs/idf-$m/card.json
done
# Measure with the exported models (actual .fz bytes) and record the figures in their cards.
python scripts/evaluate.py ../shared/data/cifar10/test.npy --limit 1000 > runs/cifar1000.json
python scripts/evaluate.py ../shared/data/kodak > runs/kodak.json
python scripts/record_measured.py pretrained/idf-rgb-v1.json cifar10_test_first1000=runs/cifar1000.json kodak=runs/kodak.json
python scripts/evaluate.py ../shared/data/kodak --gray > runs/kodak_gray.json
python scripts/record_measured.py pretrained/idf-gray-v1.json kodak_gray=runs/kodak_gray.json
