"""The exact coder of local priors on the same held-out photos: bpd from the coded bytes and
seconds per Mpixel to encode and decode, one thread, every image decoded and compared.

    python scripts/measure/local_prior_speed.py RUN.pt [RUN.pt ...] [--count 4]

RUN.pt: a run of ``scripts/gpu/train_local.py`` (its last snapshot) or a checkpoint of
``scripts/train/local_cifar_cpu.py``. Images: ``local_prior_curves.held_out_photos(count)``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from local_prior_curves import held_out_photos  # noqa: E402


def main() -> None:
    import torch
    from threadpoolctl import threadpool_limits

    from flowzip import zoo
    from flowzip.entropy.rans import RansStack
    from flowzip.models.localprior import load_run
    from flowzip.priors.codec import LocalCodec

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--count", type=int, default=4, help="JPEGs (each gives two images)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    images = [np.ascontiguousarray(im.transpose(2, 0, 1))[None] for im in held_out_photos(args.count)]
    for path in args.runs:
        model = load_run(path)
        codec = LocalCodec(zoo.from_torch(model, "local", model.config.to_dict(), Path(path).stem))
        bits = subpixels = encode = decode = 0.0
        with threadpool_limits(1):
            codec.push(RansStack(), images[0])  # the kernels compiled or loaded
            for x in images:
                t0 = time.perf_counter()
                stack = RansStack()
                codec.push(stack, x)
                data = stack.to_bytes()
                t1 = time.perf_counter()
                assert np.array_equal(codec.pop(RansStack.from_bytes(data), *x.shape), x)
                decode += time.perf_counter() - t1
                encode += t1 - t0
                bits += 8 * len(data)
                subpixels += x.size
        mpixels = subpixels / 3e6
        print(f"{Path(path).stem}: {bits / subpixels:.4f} bpd; encode {encode / mpixels:.2f} s, decode "
              f"{decode / mpixels:.2f} s per Mpixel; {sum(p.numel() for p in model.parameters())} parameters")


if __name__ == "__main__":
    main()
