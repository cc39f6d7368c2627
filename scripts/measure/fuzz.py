"""Long fuzz run of the decoder: mutate valid .fz files, check that every case ends in the library's
error (or, for changes the file's meaning does not depend on, in the true pixels), in bounded time and memory,
both through the API and (a sample) through the CLI. Prints a JSON summary.

    python scripts/measure/fuzz.py --cases 5000 [--cli-every 50]
"""

from __future__ import annotations

import argparse
import collections
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import flowzip
from flowzip.errors import FlowzipError
from flowzip.fileformat.mutate import KINDS, mutate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--cli-every", type=int, default=100, help="also run every Nth case through the CLI")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    images = [rng.integers(0, 256, (23, 41, 4), dtype=np.uint8), np.full((1, 1), 9, np.uint8),
              rng.integers(90, 110, (40, 70, 3), dtype=np.uint8),
              rng.integers(0, 256, (35, 18, 2), dtype=np.uint8)]
    samples = [(flowzip.compress(im, tile=16), flowzip.decompress(flowzip.compress(im, tile=16))) for im in images]
    # the learned local priors' files too: a smooth picture by the guided coder and by the local prior alone
    y, x = np.mgrid[:70, :90]
    smooth = np.stack([(x * 2 + y) % 256, (y * 3) % 256, (x + 40) % 256], -1).astype(np.uint8)
    smooth = np.clip(smooth.astype(np.int64) + rng.integers(-3, 4, smooth.shape), 0, 255).astype(np.uint8)
    samples += [(flowzip.compress(smooth, model=name), smooth) for name in ("guided-photo-v1", "local-rgb-v2")]
    outcomes = collections.Counter()
    worst = 0.0
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in range(args.cases):
            kind = KINDS[case % len(KINDS)]
            which = int(rng.integers(len(samples)))
            valid, pixels = samples[which]
            data = mutate(valid, kind, rng)
            start = time.perf_counter()
            try:
                out = flowzip.decompress(data)
                # a change the file's meaning does not depend on (padding, a field the decoder does not
                # need, such as the batch of a file without bits-back) may decode: to the true pixels only
                outcome = "decoded_true_pixels" if out.shape == pixels.shape and np.array_equal(out, pixels) else "BAD_DECODE"
            except FlowzipError as e:
                outcome = type(e).__name__
            except Exception as e:  # noqa: BLE001 - this is what the fuzzer looks for
                outcome = f"CRASH {type(e).__name__}"
                failures.append({"case": case, "kind": kind, "error": repr(e)[:200]})
            worst = max(worst, time.perf_counter() - start)
            outcomes[(kind, outcome)] += 1
            if args.cli_every and case % args.cli_every == 0:
                path = Path(tmp) / "case.fz"
                path.write_bytes(data)
                res = subprocess.run([sys.executable, "-m", "flowzip.cli", "decompress", "-f", str(path), "-o",
                                      str(Path(tmp) / "out.png")], capture_output=True, text=True, timeout=120)
                lines = res.stderr.strip().splitlines()
                ok = res.returncode != 0 and len(lines) == 1 and "Traceback" not in res.stderr
                ok = ok or (res.returncode == 0 and outcome == "decoded_true_pixels")
                outcomes[("cli", "one_line_error" if ok else "CLI_BAD")] += 1
                if not ok:
                    failures.append({"case": case, "kind": kind, "cli": res.stderr[-300:]})
    summary = {
        "cases": args.cases, "outcomes": {f"{k}: {o}": n for (k, o), n in sorted(outcomes.items())},
        "failures": failures, "worst_seconds": round(worst, 3),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(json.dumps(summary, indent=2))
    sys.exit(1 if failures or any(o == "BAD_DECODE" for _, o in outcomes) else 0)


if __name__ == "__main__":
    main()
