"""The guided coder (``flowzip.priors.guided``) on held-out photos, its exact streams' bytes: the
first 16 of ``local_prior_curves.held_out_photos`` (8 JPEGs of ``train_photos/bsds500/test``
reduced 2x and 3x) and the first 6 of those JPEGs at full size. How its settings were chosen
(docs/RESULTS.md); never run on Kodak to choose anything.

    python scripts/measure/guided_heldout.py [--check] [--model local-photo-v1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from local_prior_curves import DATA, held_out_photos  # noqa: E402


def main() -> None:
    from flowzip import zoo
    from flowzip.priors.guided import GuidedCodec

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="decode every stream and compare")
    ap.add_argument("--model", default="local-photo-v1", help="the local prior whose network guides")
    args = ap.parse_args()
    codec = GuidedCodec(zoo.load_model(args.model))
    photos = sorted((DATA / "train_photos" / "bsds500" / "test").glob("*.jpg"))
    sets = {"reduced16": held_out_photos(8),
            "full6": [np.asarray(Image.open(f).convert("RGB")) for f in photos[:6]]}
    for name, images in sets.items():
        bits = subpixels = 0
        start = time.perf_counter()
        for im in images:
            rgb = np.ascontiguousarray(im.transpose(2, 0, 1))
            data = codec.encode_tile(rgb)
            if args.check:
                assert np.array_equal(codec.decode_tile(data, *rgb.shape[1:]), rgb), f"MISMATCH in {name}"
            bits += 8 * len(data)
            subpixels += im.size
        print(f"{name}: {bits / subpixels:.4f} bpd ({time.perf_counter() - start:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
