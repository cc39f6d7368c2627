"""Combine results of scripts/measure/evaluate_archive.py on disjoint parts of a data set (for example the
two halves of CIFAR-10 test, coded as two archives side by side on two cores) into one result
with the same fields: bpd from the archives' total bytes over their total sub-pixels.

    python scripts/measure/merge_archive_results.py runs/half0.json runs/half1.json > runs/whole.json
"""

import json
import sys
from pathlib import Path

parts = [json.loads(Path(a).read_text()) for a in sys.argv[1:]]
subpixels = sum(p["subpixels"] for p in parts)
estimate_bits = sum(p["estimated_bpd"] * p["subpixels"] for p in parts)
kinds: dict = {}
for p in parts:
    for kind, s in p["parts"].items():
        k = kinds.setdefault(kind, {"bits": 0.0, "estimate": 0.0, "subpixels": 0, "batches": 0})
        k["bits"] += s["actual_bpd"] * s["subpixels"]
        k["estimate"] += s["estimated_bpd"] * s["subpixels"]
        k["subpixels"] += s["subpixels"]
        k["batches"] += s["batches"]
exact = [p["exact"].split("/") for p in parts]
bpd = 8 * sum(p["bytes"] for p in parts) / subpixels
print(json.dumps({
    "data": parts[0]["data"], "archives": len(parts), "images": sum(p["images"] for p in parts),
    "model": parts[0]["model"], "flowzip": parts[0]["flowzip"],
    "bytes": sum(p["bytes"] for p in parts), "header_bytes": sum(p["header_bytes"] for p in parts),
    "subpixels": subpixels, "actual_bpd": round(bpd, 4), "estimated_bpd": round(estimate_bits / subpixels, 4),
    "actual_over_estimate": round(bpd * subpixels / estimate_bits - 1, 5),
    "parts": {kind: {"actual_bpd": round(k["bits"] / k["subpixels"], 4),
                     "estimated_bpd": round(k["estimate"] / k["subpixels"], 4),
                     "subpixels": k["subpixels"], "batches": k["batches"]} for kind, k in kinds.items()},
    "exact": f"{sum(int(a) for a, _ in exact)}/{sum(int(b) for _, b in exact)}",
    "compress_s": round(sum(p["compress_s"] for p in parts), 2),
    "decompress_s": round(sum(p["decompress_s"] for p in parts), 2),
    "time_note": "compress_s and decompress_s are summed over the archives (CPU-seconds of one thread each)",
    "peak_rss_mb": max(p["peak_rss_mb"] for p in parts), "threads": parts[0]["threads"], "cpu": parts[0]["cpu"],
}, indent=2))
