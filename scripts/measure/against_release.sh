#!/usr/bin/env bash
# This checkout's CLI against an earlier release's, side by side in one run, one thread, one
# process per file (start-up included); every round trip compared pixel for pixel.
#   git worktree add ../flowzip-0.1 9fe8f2c
#   bash scripts/measure/against_release.sh ../flowzip-0.1 "-m idf-photo-v2" ../shared/data/kodak/kodim0{1,2}.png
# The release runs from its tree with this checkout's Python environment (same dependencies).
set -euo pipefail
old=$(cd "$1" && pwd); options=$2; shift 2
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
run() {  # run WHICH ARGS...: the CLI of the release (old) or of this checkout (new)
    local which=$1; shift
    if [ "$which" = old ]; then PYTHONPATH="$old" python -P -c "from flowzip.cli import main; main()" "$@"
    else flowzip "$@"; fi
}
seconds() { local t0=$(date +%s.%N); "$@" > /dev/null; echo "$(date +%s.%N) - $t0" | bc; }
printf "| image | flowzip | compress s | decompress s | bytes |\n|---|---|---|---|---|\n"
for image in "$@"; do
    for which in old new; do
        # shellcheck disable=SC2086
        c=$(seconds run $which compress -f $options "$image" -o "$work/$which.fz")
        d=$(seconds run $which decompress -f "$work/$which.fz" -o "$work/$which.png")
        python -c "import sys, numpy as np; from PIL import Image; a, b = (np.asarray(Image.open(p)) for p in sys.argv[1:]);
assert a.shape == b.shape and (a == b).all(), 'MISMATCH'" "$image" "$work/$which.png"
        printf "| %s | %s | %.2f | %.2f | %d |\n" "$(basename "$image")" "$which" "$c" "$d" "$(stat -c %s "$work/$which.fz")"
    done
done
