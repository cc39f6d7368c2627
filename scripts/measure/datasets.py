"""The figures of issue 16 (datasets at scale), as JSON lines on stdout and in --out.

    python scripts/measure/datasets.py curve --out runs/datasets/curve.jsonl    # chooses the default chunk
    python scripts/measure/datasets.py cifar --out runs/datasets/cifar.jsonl    # the issue's "Done when"

``curve``: bpd against chunk size on held-out CIFAR-10 *train* images (the 1000 that glow-rgb-v2's
training held out: ``default_rng(0).permutation(50000)[:1000]``), each size as one archive, against
the single-stream archive (format version 2) of the same images. The file does not depend on -j,
so the archives are coded by 2 workers.

``cifar``: the 10,000 CIFAR-10 test images written as a folder of PNGs (CLASS/NAME.png), then
through the CLI: ``compress DIR -r -j 1 -o`` and ``-j 2 -o`` (wall time, bpd; the two files must
be identical), the single-stream archive (``--chunk 0``), ``decompress -j 2`` (every file compared
with its PNG), one image with ``--only`` against the whole archive, and a DataLoader epoch over
FzDataset with 2 workers (every image compared). Takes about an hour on 2 cores.
"""

from __future__ import annotations

import argparse
import io
import json
import lzma
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cifar10"
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def emit(out: Path | None, **row) -> None:
    line = json.dumps({**row, "load_1min": round(os.getloadavg()[0], 2)})
    print(line, flush=True)
    if out:
        with open(out, "a") as f:
            f.write(line + "\n")


def curve(args) -> None:
    from flowzip import api
    from flowzip.images.image import Picture

    train = np.load(io.BytesIO(lzma.open(DATA / "train.npy.xz").read()))
    held = np.random.default_rng(0).permutation(len(train))[: args.images]
    pictures = [(f"train[{i}]", Picture(np.ascontiguousarray(train[i]), "RGB")) for i in held]
    single = None
    for images in [0, *args.sizes]:
        start = time.perf_counter()
        data, report = api.encode(pictures, archive=True, chunk=images * 32 * 32 * 3, jobs=2)
        single = single or report.bpd
        emit(args.out, step="curve", chunk_images=images or "one stream", chunk_subpixels=images * 3072,
             chunks=len(api.inspect(data).chunks) or 1, bytes=len(data), bpd=round(report.bpd, 5),
             cost_pct=round(100 * (report.bpd / single - 1), 3), encode_s=round(time.perf_counter() - start, 1),
             data=f"CIFAR-10 train, {len(pictures)} held-out images")


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return round(time.perf_counter() - start, 1)


def same_images(a: Path, b: Path) -> int:
    """How many PNGs under ``a`` have the same pixels under ``b`` (every one is read)."""
    from PIL import Image

    return sum(np.array_equal(np.asarray(Image.open(p)), np.asarray(Image.open(b / p.relative_to(a))))
               for p in sorted(a.rglob("*.png")))


def cifar(args) -> None:
    from PIL import Image

    from flowzip import api

    work = args.work
    folder = work / "cifar10-test"
    images = np.load(DATA / "test.npy")[: args.limit]
    labels = np.load(DATA / "test_labels.npy")
    names = (DATA / "test_filenames.txt").read_text().split()
    if not folder.exists():
        for i, pixels in enumerate(images):
            target = folder / CLASSES[labels[i]] / names[i]
            target.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(target)
    n, subpixels = len(images), images.size
    fz = [sys.executable, "-m", "flowzip.cli"]
    archives = {}
    for label, options in [("-j 1", ["-j", "1"]), ("-j 2", ["-j", "2"]), ("one stream", ["--chunk", "0", "-j", "1"])]:
        path = work / f"set {label}.fz".replace(" ", "_")
        path.unlink(missing_ok=True)
        seconds = timed([*fz, "compress", str(folder), "-r", *options, "-o", str(path), "--no-png", "-q"])
        archives[label] = path
        header = api.inspect(path.read_bytes())
        emit(args.out, step="compress", run=label, images=n, seconds=seconds, bytes=path.stat().st_size,
             bpd=round(8 * path.stat().st_size / subpixels, 5), chunks=len(header.chunks) or 1,
             ms_per_image=round(1000 * seconds / n, 1))
    assert archives["-j 1"].read_bytes() == archives["-j 2"].read_bytes(), "-j 1 and -j 2 wrote different files"
    restored = work / "restored"
    subprocess.run(["rm", "-rf", str(restored)], check=True)
    seconds = timed([*fz, "decompress", str(archives["-j 2"]), "-j", "2", "-o", str(restored), "-q"])
    emit(args.out, step="decompress", run="-j 2", seconds=seconds, exact=same_images(folder, restored), of=n)
    one = names[n // 2] if n > 1 else names[0]
    member = f"{CLASSES[labels[n // 2]]}/{one}"
    only = work / "only"
    subprocess.run(["rm", "-rf", str(only)], check=True)
    seconds_one = timed([*fz, "decompress", str(archives["-j 2"]), "--only", member, "-j", "2", "-o", str(only), "-q"])
    exact = np.array_equal(np.asarray(Image.open(only / member)), images[n // 2])
    emit(args.out, step="only", image=member, seconds=seconds_one, exact=bool(exact),
         whole_archive_seconds=seconds, speedup=round(seconds / seconds_one, 1))
    code = ("import sys, time, numpy as np, torch; from flowzip.datasets.data import FzDataset; "
            "d = FzDataset(sys.argv[1]); t = time.perf_counter(); "
            "got = torch.cat(list(torch.utils.data.DataLoader(d, batch_size=100, num_workers=2))).numpy(); "
            "print(round(time.perf_counter() - t, 1), int(sum(np.array_equal(a, b) for a, b in "
            "zip(got, np.load(sys.argv[2])[: len(got)]))), len(got))")
    # the archive holds the images sorted by class folder and name: compare in that order
    order = sorted(range(n), key=lambda i: (CLASSES[labels[i]], names[i]))
    expected = work / "expected.npy"
    np.save(expected, images[order])
    seconds, exact, total = subprocess.run([sys.executable, "-c", code, str(archives["-j 2"]), str(expected)],
                                           check=True, capture_output=True, text=True).stdout.split()
    emit(args.out, step="dataloader", workers=2, seconds=float(seconds), exact=int(exact), of=int(total))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["curve", "cifar"])
    ap.add_argument("--out", type=Path, help="also append the JSON lines here")
    ap.add_argument("--images", type=int, default=1000, help="curve: held-out train images")
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 256, 128, 64, 32, 16],
                    help="curve: images per chunk")
    ap.add_argument("--work", type=Path, default=Path("runs/datasets"), help="cifar: working folder")
    ap.add_argument("--limit", type=int, help="cifar: only the first N test images (a quick check)")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
    emit(args.out, step="machine", cores=os.cpu_count(), load=os.getloadavg(),
         date=time.strftime("%Y-%m-%d %H:%M:%S"))
    {"curve": curve, "cifar": cifar}[args.what](args)


if __name__ == "__main__":
    main()
