"""A large collection compressed on a Dask cluster: shards of files become chunked archives, with a
manifest; a restarted job skips the shards already written.

    flowzip cluster 'photos/**/*.png' -o out/ --scheduler tcp://HEAD:8786   # or --workers N here

Needs ``pip install "flowzip[cluster]"`` (Dask's ``distributed``). The job is planned once into
``OUT/plan.json`` (every input file and its shard); each shard is a Dask task that reads its
files, codes them into ``OUT/shard-NNNNN.fz`` and writes it atomically, so a shard file either is
whole or is not there. Dask runs a task again elsewhere when its worker dies; a job started again
(after its driver died, or after a shard failed) skips every shard whose file is there and names
the planned images. ``OUT/manifest.json`` lists the shards written, their images and sizes; it is
rewritten as each shard ends. Workers need the inputs, the output folder and the models at the
same paths (a shared file system).
"""

from __future__ import annotations

import glob
import hashlib
import json
import mmap
import os
from pathlib import Path
from typing import Callable

from .. import __version__, api, policy
from ..errors import FlowzipError
from ..files import atomic_write
from ..images.image import image_files, read_image
from ..pipelines.workers import one_thread

PLAN, MANIFEST = "plan.json", "manifest.json"
SHARD = "shard-{:05d}.fz"
GLOB_CHARS = "*?["


def require_dask():
    try:
        import distributed
    except ImportError:
        raise FlowzipError('flowzip cluster needs Dask: pip install "flowzip[cluster]"') from None
    return distributed


def expand(inputs: list[str]) -> list[tuple[str, str]]:
    """(path, name) for every image file that the inputs name: files, folders (every image below
    them) and globs (``**`` spans folders). A name is the path below the folder, or below the
    glob's fixed part; for a file, its file name. Sorted per input; a name may not repeat."""
    files: list[tuple[str, str]] = []
    for spec in inputs:
        if any(c in spec for c in GLOB_CHARS):
            fixed = []
            for part in Path(spec).parts:
                if any(c in part for c in GLOB_CHARS):
                    break
                fixed.append(part)
            base = os.path.join(*fixed) if fixed else "."
            found = sorted(p for p in glob.glob(spec, recursive=True) if os.path.isfile(p))
            files += [(p, Path(os.path.relpath(p, base)).as_posix()) for p in found]
        elif Path(spec).is_dir():
            found = image_files(spec, recursive=True)
            files += [(str(p), p.relative_to(spec).as_posix()) for p in found]
        elif Path(spec).is_file():
            files.append((spec, Path(spec).name))
        else:
            raise FlowzipError(f"{spec}: no such file")
    if not files:
        raise FlowzipError("no input files: " + " ".join(inputs))
    names = [name for _, name in files]
    if len(set(names)) < len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise FlowzipError(f"two inputs would both be named {twice}; give their common folder instead")
    return files


def _plan(files: list[tuple[str, str]], shard_images: int, options: dict) -> dict:
    shards = [files[i : i + shard_images] for i in range(0, len(files), shard_images)]
    return {"flowzip": __version__, "options": options,
            "shards": [{"file": SHARD.format(k), "inputs": [list(f) for f in shard]} for k, shard in enumerate(shards)]}


def _load_plan(out: Path, plan: dict) -> dict:
    """The job's plan: the one in ``out`` (which must be this job's), or ``plan``, written there."""
    path = out / PLAN
    if path.exists():
        try:
            stored = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise FlowzipError(f"{path}: cannot read the job's plan ({e})") from None
        if stored["shards"] != plan["shards"] or stored["options"] != plan["options"]:
            raise FlowzipError(f"{out} holds another job (other inputs or options): use another output folder")
        return stored
    atomic_write(path, (json.dumps(plan, indent=1) + "\n").encode())
    return plan


def _summary(path: Path, data, names: list[str]) -> dict:
    header = api.inspect(data)
    return {"file": path.name, "images": len(header.entries), "bytes": len(data), "subpixels": header.subpixels,
            "bpd": round(8 * len(data) / header.subpixels, 4), "sha256": hashlib.sha256(data).hexdigest(),
            "names": names}


def finished(path: Path, names: list[str]) -> dict | None:
    """The summary of a shard file that is there, whole, and holds ``names``; else None."""
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            if [e.name for e in api.inspect(data).entries] != names:
                return None
            return _summary(path, data, names)
    except (FlowzipError, OSError, ValueError):
        return None


def compress_shard(path: str, inputs: list[list[str]], options: dict, active: policy.Policy) -> dict:
    """One shard: its files -> a chunked archive at ``path`` (written atomically), and its summary.
    A Dask task: it runs on a worker, with the driver's policy (``active``, sent as a value)."""
    names = [name for _, name in inputs]
    done = finished(Path(path), names)  # a task run again after its worker died
    if done is not None:
        return done
    one_thread()
    pictures = []
    for file, name in inputs:
        try:
            pictures.append((name, read_image(file)))
        except FlowzipError as e:
            raise FlowzipError(f"{Path(path).name}: {e}") from None
    data, _ = api.encode(pictures, options.get("model"), policy=active, archive=True, chunk=options.get("chunk"),
                         tile=options.get("tile"), batch=options.get("batch"), device="cpu")
    atomic_write(path, data, overwrite=True)
    return _summary(Path(path), data, names)


def _write_manifest(out: Path, plan: dict, done: dict[int, dict]) -> dict:
    shards = [done[k] for k in sorted(done)]
    total, subpixels = sum(s["bytes"] for s in shards), sum(s["subpixels"] for s in shards)
    manifest = {"flowzip": __version__, "complete": len(done) == len(plan["shards"]),
                "shards_planned": len(plan["shards"]), "images": sum(s["images"] for s in shards), "bytes": total,
                "subpixels": subpixels, "bpd": round(8 * total / subpixels, 4) if subpixels else None,
                "shards": shards}
    atomic_write(out / MANIFEST, (json.dumps(manifest, indent=1) + "\n").encode(), overwrite=True)
    return manifest


def compress_collection(inputs: list[str], out: str | os.PathLike, *, client=None, scheduler: str | None = None,
                        workers: int = 2, shard_images: int = 1000, model: str | None = None,
                        chunk: int | None = None, tile: int | None = None, batch: int | None = None,
                        progress: Callable[[dict], None] | None = None, active: policy.Policy | None = None) -> dict:
    """Compress the images that ``inputs`` name (files, folders, globs) into shards of
    ``shard_images`` in the folder ``out``, on a Dask ``client``, the scheduler at ``scheduler``,
    or a cluster of ``workers`` processes started here. Shards already written are skipped.
    Returns the manifest, with ``"skipped"`` (shards found done) and ``"failed"`` (shard file ->
    error) added; ``progress(summary)`` is called as each shard is written. ``active``: the policy
    the shards are planned by (``policy.DEFAULT`` unless given), sent to each task. A job found
    finished starts no cluster."""
    distributed = require_dask()
    active = active or policy.DEFAULT
    if shard_images < 1:
        raise FlowzipError("a shard holds at least one image")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    options = {"model": model, "chunk": chunk, "tile": tile, "batch": batch}
    plan = _load_plan(out, _plan(expand(inputs), shard_images, options))
    for stale in out.glob(".shard-*.tmp"):  # left by a worker killed while writing
        stale.unlink(missing_ok=True)
    done = {}
    for k, shard in enumerate(plan["shards"]):
        summary = finished(out / shard["file"], [name for _, name in shard["inputs"]])
        if summary is not None:
            done[k] = summary
    skipped = len(done)
    todo = [k for k in range(len(plan["shards"])) if k not in done]
    failed: dict[str, str] = {}
    own, futures = None, {}
    if todo and client is None:
        if scheduler:
            own = client = distributed.Client(scheduler)
        else:
            own = client = distributed.Client(distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None))
    try:
        futures = {} if not todo else {client.submit(compress_shard, str((out / plan["shards"][k]["file"]).resolve()),
                                 plan["shards"][k]["inputs"], plan["options"], active, pure=False): k
                   for k in todo}
        for future in distributed.as_completed(futures) if futures else ():
            k = futures[future]
            try:
                done[k] = future.result()
            except Exception as e:  # noqa: BLE001 - a shard that fails is named; the others go on
                failed[plan["shards"][k]["file"]] = str(e) if isinstance(e, FlowzipError) else f"{type(e).__name__}: {e}"
                continue
            _write_manifest(out, plan, done)
            if progress:
                progress(done[k])
    finally:
        if futures:  # stopped early: nothing more is started
            client.cancel([f for f in futures if not f.done()])
        if own is not None:
            cluster = own.cluster
            own.close()
            if cluster is not None and not scheduler:
                cluster.close()
    manifest = _write_manifest(out, plan, done)
    return {**manifest, "skipped": skipped, "failed": failed}
