"""Write measured results (from scripts/measure/evaluate.py) into a model's card; the weights are untouched.

    python scripts/cards/record_measured.py pretrained/idf-rgb-v1.json cifar10_test_1000=runs/c.json kodak=runs/k.json
    python scripts/cards/record_measured.py pretrained/m.json kodak=runs/kodak_a.json+runs/kodak_b.json

Results joined by ``+`` are parts of one set of equally sized images (scripts/measure/kodak_cli_roundtrip.sh
on two halves of Kodak, side by side): bpd and times are averaged over all their images.
"""

import json
import sys
from pathlib import Path

card_path = Path(sys.argv[1])
card = json.loads(card_path.read_text())
measured = card.setdefault("measured", {})
for arg in sys.argv[2:]:
    key, paths = arg.split("=", 1)
    parts = [json.loads(Path(p).read_text()) for p in paths.split("+")]
    result = parts[0]
    if len(parts) > 1:
        images = sum(p["images"] for p in parts)
        result = {k: sum(p[k] * p["images"] for p in parts) / images if None not in (p[k] for p in parts) else None
                  for k in ("mean_bpd", "mean_estimated_bpd", "encode_s_per_image", "decode_s_per_image")}
        result.update(images=images, peak_rss_mb=max(p["peak_rss_mb"] for p in parts),
                      via=f"{parts[0]['via']}, in {len(parts)} parts side by side, one thread each")
    if "actual_bpd" in result:  # scripts/measure/evaluate_archive.py: all images in one archive
        measured[key] = {"bpd": result["actual_bpd"], "estimated_bpd": result["estimated_bpd"],
                         "images": result["images"], "parts": result["parts"],
                         "as": "one archive" if result.get("archives", 1) == 1 else f"{result['archives']} archives",
                         "compress_s": result["compress_s"], "decompress_s": result["decompress_s"]}
        continue
    measured[key] = {"bpd": round(result["mean_bpd"], 4), "images": result["images"]}
    if result.get("mean_estimated_bpd") is not None:  # only with --estimate
        measured[key]["estimated_bpd"] = round(result["mean_estimated_bpd"], 4)
    for field in ("encode_s_per_image", "decode_s_per_image", "archive_bpd", "peak_rss_mb"):
        if field in result:
            measured[key][field] = round(result[field], 4)
    for field in ("device", "via"):
        if field in result:
            measured[key][field] = result[field]
card_path.write_text(json.dumps(card, indent=2) + "\n")
