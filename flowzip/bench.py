"""``flowzip bench``: flowzip against classic lossless codecs, every round trip checked bit for bit.

Baselines come from the optional ``imagecodecs`` package (``pip install 'flowzip[bench]'``), plus a
PNG written by Pillow that needs nothing extra. A codec is a name, a note on how it was made, and
``encode(pixels) -> bytes`` / ``decode(bytes) -> pixels`` on (H, W, C) uint8 arrays. ``BASELINES``
maps names to factories; tests add codecs there.
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
from PIL import Image

from . import __version__, api, policy, zoo
from .errors import FlowzipError, ModelError
from .files import atomic_write
from .pipelines.codecs import resolve_device
from .pipelines import workers
from .images.image import MODES, load_pictures, picture_from_array, picture_from_pil

FIELDS = ["set", "image", "codec", "bytes", "bpd", "ratio_to_png", "encode_mbps", "decode_mbps",
          "verified", "estimated_bpd"]


class Unavailable(Exception):
    """A codec cannot be made here (its library is missing); the message says why."""


class CannotCode(Exception):
    """A codec cannot code this particular image; the image is skipped for it with a note."""


class BenchImage(NamedTuple):
    set: str
    name: str
    pixels: np.ndarray  # (H, W, C) uint8


@dataclass
class Codec:
    """A lossless codec on (H, W, C) uint8 arrays; ``channels`` lists the C it can code."""

    name: str
    note: str
    encode: Callable[[np.ndarray], bytes]
    decode: Callable[[bytes], np.ndarray]
    channels: tuple[int, ...] = (1, 2, 3, 4)

    def estimated_bpd(self) -> float | None:
        """The codec's own estimate for the last image it encoded (flowzip only)."""
        return None


class FlowzipCodec(Codec):
    """flowzip through the public API; remembers the model's estimated bpd of the last image."""

    def __init__(self, model: str | None = None, device=None, estimate: bool = False,
                 active: policy.Policy | None = None):
        loaded = api.load(model)  # an unknown model fails before any work
        self.policy = active or policy.DEFAULT
        installed = zoo.installed_names()
        self.missing = self.policy.missing(installed)
        channels = tuple(c for c, mode in MODES.items() if _can_code(mode, loaded, self.policy, installed))
        if not channels:
            raise ModelError("no flowzip model to benchmark: the default models are not installed")
        self.model, self.device, self._estimate, self.estimate = loaded, resolve_device(device), None, estimate
        models = model or "; ".join(f"{name} for {role}" for name, role in self.policy.roles(installed).items())
        super().__init__(f"flowzip:{model}" if model else "flowzip",
                         f"flowzip {__version__}, model {models}, on {self.device}",
                         self._encode, self._decode, channels)

    def _encode(self, pixels: np.ndarray) -> bytes:
        data, report = api.compress_picture(picture_from_array(pixels), self.model, policy=self.policy,
                                            device=self.device, estimate=self.estimate)
        self._estimate = report.estimated_bpd
        return data

    def _decode(self, data: bytes) -> np.ndarray:
        return api.decompress_picture(data, device=self.device, model=self.model).pixels

    def estimated_bpd(self) -> float | None:
        return self._estimate


def _can_code(mode: str, model, active: policy.Policy, installed) -> bool:
    """Whether a ``mode`` image has an installed model for every plane group (and ``model``, if
    given, codes one of them), by the plan the API follows."""
    choice = None if model is None else policy.Model(model.name, model.channels, model.family.bits_back)
    try:
        plan = active.plan([picture_from_array(np.zeros((1, 1, len(mode)), np.uint8))], choice, installed=installed)
    except ModelError:
        return False
    return all(name in installed or model is not None and name == model.name for name in plan.models)


def _pillow_png() -> Codec:
    def encode(pixels):
        buf = io.BytesIO()
        picture_from_array(pixels).to_pil().save(buf, "PNG", optimize=True)
        return buf.getvalue()

    def decode(data):
        with Image.open(io.BytesIO(data)) as im:
            return picture_from_pil(im).pixels

    return Codec("png-pillow", f"PNG via Pillow {Image.__version__} optimize=True", encode, decode)


def _imagecodecs(name: str, codec: str, note: str, channels=(1, 2, 3, 4), check=None, **options):
    """A factory for an imagecodecs codec ``{codec}_encode(pixels, **options)`` / ``{codec}_decode``.
    Gray images go in as (H, W). ``check(pixels)`` may raise CannotCode for images it cannot keep."""

    def make() -> Codec:
        try:
            import imagecodecs
        except ImportError:
            raise Unavailable("the optional imagecodecs package is not installed "
                              "(pip install 'flowzip[bench]')") from None
        if not getattr(getattr(imagecodecs, codec.upper(), None), "available", False):
            raise Unavailable(f"imagecodecs {imagecodecs.__version__} was built without {codec}")
        enc, dec = getattr(imagecodecs, f"{codec}_encode"), getattr(imagecodecs, f"{codec}_decode")

        def encode(pixels):
            if check:
                check(pixels)
            return bytes(enc(pixels[..., 0] if pixels.shape[2] == 1 else pixels, **options))

        return Codec(name, f"{note} (imagecodecs {imagecodecs.__version__})", encode, dec, channels)

    return make


def _webp_keeps_alpha(pixels: np.ndarray) -> None:
    if pixels.shape[2] == 4 and (pixels[..., 3] == 255).all():
        raise CannotCode("libwebp drops an all-opaque alpha channel")


BASELINES: dict[str, Callable[[], Codec]] = {
    "png": _imagecodecs("png", "png", "PNG via imagecodecs zlib level 9", level=9),
    "png-pillow": _pillow_png,
    "webp": _imagecodecs("webp", "webp", "WebP lossless, method 6, quality 100", channels=(3, 4),
                         check=_webp_keeps_alpha, lossless=True, method=6, level=100),
    "jxl-e7": _imagecodecs("jxl-e7", "jpegxl", "JPEG XL lossless, effort 7", lossless=True, effort=7),
    "jxl-e9": _imagecodecs("jxl-e9", "jpegxl", "JPEG XL lossless, effort 9", lossless=True, effort=9),
    "jpeg2000": _imagecodecs("jpeg2000", "jpeg2k", "JPEG 2000 lossless (reversible 5/3 wavelet)",
                             reversible=True),
    "jpegls": _imagecodecs("jpegls", "jpegls", "JPEG-LS lossless (NEAR=0)", channels=(1, 3, 4), level=0),
    "qoi": _imagecodecs("qoi", "qoi", "QOI", channels=(3, 4)),
}
REFERENCES = ("png", "png-pillow")  # ratio_to_png compares with the first of these that can be made


def make_codecs(names: list[str] | None = None, models: list[str] | None = None,
                device=None, estimate: bool = False) -> tuple[list[Codec], list[str]]:
    """The codecs asked for (all by default; "flowzip" stands for one codec per model), and a note
    for each that cannot be made here."""
    known = ["flowzip", *BASELINES]
    names = list(dict.fromkeys(names or known))
    unknown = [n for n in names if n not in known]
    if unknown:
        raise FlowzipError(f"unknown codec {', '.join(unknown)} (known: {', '.join(known)})")
    codecs, notes = [], []
    for name in names:
        if name == "flowzip":
            codecs += [FlowzipCodec(m, device, estimate) for m in dict.fromkeys(models or [None])]
            notes += [f"flowzip: default model {n!r} is not installed" for n in codecs[-1].missing]
            continue
        try:
            codecs.append(BASELINES[name]())
        except Unavailable as e:
            notes.append(f"{name}: skipped, {e}")
    return codecs, notes


def reference_codec(codecs: list[Codec]) -> Codec:
    """The PNG that ratio_to_png compares with: imagecodecs zlib 9, else Pillow."""
    for name in REFERENCES:
        for codec in codecs:
            if codec.name == name:
                return codec
        try:
            return BASELINES[name]()
        except Unavailable:
            pass
    return _pillow_png()


def load_images(paths: list[str | Path], limit: int | None = None, recursive: bool = False) -> list[BenchImage]:
    """Images from folders (and below them, with ``recursive``), image files and .npy / .npy.xz
    arrays (``image.load_pictures``)."""
    return [BenchImage(p.set, p.name, p.picture.pixels) for p in load_pictures(paths, limit, recursive=recursive)]


def _as_hwc(pixels: np.ndarray) -> np.ndarray:
    pixels = np.asarray(pixels)
    return pixels[..., None] if pixels.ndim == 2 else pixels


def run_bench(images: list[BenchImage], codecs: list[Codec], progress: Callable[[int], None] | None = None,
              notes: list[str] | None = None, reference: Codec | None = None, jobs: int | None = 1) -> list[dict]:
    """One row per (image, codec): size, bpd, ratio to PNG, speeds in million sub-pixels per second,
    and whether decoding gave back the exact pixels. Images a codec cannot code are skipped and
    counted in ``notes``; ``progress(n)`` is called as n (image, codec) pairs are done. ``jobs``
    worker processes take an image each (0: one per core); each then times its own codings."""
    reference = reference or reference_codec(codecs)
    skipped: dict[tuple[str, str], int] = defaultdict(int)
    per_image: dict[int, list[dict]] = {}
    tasks = ((image,) for image in images)
    for i, result, error in workers.imap(_bench_image, tasks, jobs, context=(codecs, reference)):
        if error is not None:
            raise error
        per_image[i], image_skipped = result
        for key, n in image_skipped.items():
            skipped[key] += n
        if progress:
            progress(len(codecs))
    if notes is not None:
        notes += [f"{name}: skipped {n} image(s): {why}" for (name, why), n in skipped.items()]
    return [row for i in sorted(per_image) for row in per_image[i]]


_WARM: set[tuple[str, int]] = set()  # (codec, channels) run once untimed in this process


def _bench_image(context: tuple[list[Codec], Codec], image: BenchImage) -> tuple[list[dict], dict]:
    """The rows of one image, and what was skipped: a worker's task."""
    codecs, reference = context
    skipped: dict[tuple[str, str], int] = defaultdict(int)
    pixels, channels = image.pixels, image.pixels.shape[2]
    rows = []
    for codec in codecs:
        if channels not in codec.channels:
            skipped[codec.name, f"codes {'/'.join(map(str, codec.channels))} channels, not {channels}"] += 1
        elif row := _code_one(image, codec, skipped, _WARM):
            rows.append(row)
    sizes = {r["codec"]: r["bytes"] for r in rows}
    ref = sizes.get(reference.name) or len(reference.encode(pixels))
    for row in rows:
        row["ratio_to_png"] = row["bytes"] / ref
    return rows, dict(skipped)


def _code_one(image: BenchImage, codec: Codec, skipped, warm) -> dict | None:
    pixels = image.pixels
    if (codec.name, pixels.shape[2]) not in warm:  # untimed first run: library and model set-up
        warm.add((codec.name, pixels.shape[2]))
        try:
            codec.decode(codec.encode(np.ascontiguousarray(pixels[:16, :16])))
        except Exception:  # noqa: BLE001 - the timed run below reports what goes wrong
            pass
    try:
        start = time.perf_counter()
        data = codec.encode(pixels)
        encode_s = time.perf_counter() - start
    except Exception as e:  # noqa: BLE001 - a codec that cannot code an image is skipped, not fatal
        skipped[codec.name, f"{type(e).__name__}: {e}" if not isinstance(e, CannotCode) else str(e)] += 1
        return None
    estimate = codec.estimated_bpd()
    mega = pixels.size / 1e6
    try:
        start = time.perf_counter()
        decoded = _as_hwc(codec.decode(data))
        decode_mbps = mega / max(time.perf_counter() - start, 1e-9)
        verified = decoded.shape == pixels.shape and np.array_equal(decoded, pixels)
    except Exception:  # noqa: BLE001 - a decoder that fails is a failed round trip
        decode_mbps, verified = None, False
    return {"set": image.set, "image": image.name, "codec": codec.name, "bytes": len(data),
            "bpd": 8 * len(data) / pixels.size, "ratio_to_png": None,
            "encode_mbps": mega / max(encode_s, 1e-9), "decode_mbps": decode_mbps,
            "verified": bool(verified), "estimated_bpd": estimate}


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def summarize(rows: list[dict]) -> dict:
    """Means per (set, codec) in first-seen order, and whether every round trip was exact."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        groups[row["set"], row["codec"]].append(row)
    per_set = [{"set": s, "codec": c, "images": len(g),
                **{k: _mean(r[k] for r in g) for k in ("bpd", "estimated_bpd", "ratio_to_png",
                                                        "encode_mbps", "decode_mbps")},
                "verified": all(r["verified"] for r in g)} for (s, c), g in groups.items()]
    return {"per_set": per_set, "all_verified": all(r["verified"] for r in rows)}


def mismatches(rows: list[dict]) -> list[str]:
    return [f"ROUND TRIP MISMATCH: codec {r['codec']} on image {r['image']} (set {r['set']})"
            for r in rows if not r["verified"]]


def environment(device=None, jobs: int | None = 1) -> dict:
    """Where the numbers were measured."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import imagecodecs
        ic_version = imagecodecs.__version__
    except ImportError:
        ic_version = None
    return {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "cpu": cpu,
            "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "device": resolve_device(device), "jobs": workers.workers(jobs), "flowzip": __version__,
            "imagecodecs": ic_version,
            "torch": torch.__version__, "python": platform.python_version(), "platform": platform.platform()}


def write_json(path, rows: list[dict], codecs: list[Codec], notes: list[str], env: dict) -> None:
    doc = {"environment": env, "codecs": {c.name: c.note for c in codecs}, "notes": notes,
           "summary": summarize(rows), "rows": rows}
    atomic_write(path, (json.dumps(doc, indent=2) + "\n").encode(), overwrite=True)


def write_csv(path, rows: list[dict]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(path, buf.getvalue().encode(), overwrite=True)


def require_matplotlib():
    try:
        import matplotlib
    except ImportError:
        raise FlowzipError("--plot needs matplotlib (pip install 'flowzip[bench]')") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def write_plot(path, rows: list[dict]) -> None:
    """Mean bpd against mean encode speed, one point per (set, codec)."""
    plt = require_matplotlib()
    per_set = summarize(rows)["per_set"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, s in enumerate(dict.fromkeys(r["set"] for r in per_set)):
        points = [r for r in per_set if r["set"] == s]
        ax.scatter([r["encode_mbps"] for r in points], [r["bpd"] for r in points], marker="os^Dv"[i % 5],
                   label=s)
        for r in points:
            ax.annotate(r["codec"], (r["encode_mbps"], r["bpd"]), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
    ax.set(xscale="log", xlabel="encode speed (million sub-pixels / s)", ylabel="bits per sub-pixel",
           title="lossless: size against speed")
    ax.grid(True, alpha=0.3)
    ax.legend(title="set")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    atomic_write(path, buf.getvalue(), overwrite=True)


def format_table(rows: list[dict], per_image: bool = False) -> str:
    """A plain-text table of the means per (set, codec), or of every row."""
    shown = rows if per_image else summarize(rows)["per_set"]
    key, width = ("image", 18) if per_image else ("images", 6)
    lines = [f"{'set':<14} {key:<{width}} {'codec':<16} {'bpd':>7} {'est':>7} {'xPNG':>6} "
             f"{'enc MS/s':>9} {'dec MS/s':>9}  ok"]

    def num(v, fmt):
        return format(v, fmt) if v is not None else "-"

    for r in shown:
        lines.append(f"{r['set'][:14]:<14} {str(r[key])[:width]:<{width}} {r['codec'][:16]:<16} "
                     f"{num(r['bpd'], '7.3f'):>7} {num(r['estimated_bpd'], '7.3f'):>7} "
                     f"{num(r['ratio_to_png'], '6.3f'):>6} {num(r['encode_mbps'], '9.3f'):>9} "
                     f"{num(r['decode_mbps'], '9.3f'):>9}  {'yes' if r['verified'] else 'NO'}")
    return "\n".join(lines)
