"""``flowzip decompress``: .fz files back to the exact images, an archive into a folder."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import click

from .. import api
from ..errors import FlowzipError, plural
from ..fileformat import container
from ..images.image import LOSSLESS_FORMATS, check_writable, encode_image, writable_suffix
from ..images.pngfile import PALETTE_KEY
from ..pipelines import num_units, tiled, workers
from .common import (DEVICES, STDIO, Progress, Source, UsageError, announce_compiling, fail_fast_option,
                     is_folder, jobs_option, name, quiet_option, read, recursive_option, refuse_clashes,
                     refuse_existing, report, run_all, say, sources, write)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, allow_dash=True))
@click.option("-o", "--output", help="Output file (one image; its suffix picks the format) or folder (FOLDER/).")
@click.option("--only", multiple=True, metavar="NAME",
              help="Restore only this image of an archive (a stored name or a shell pattern; repeatable).")
@click.option("--device", type=DEVICES, default="auto", show_default=True)
@click.option("-f", "--force", is_flag=True, help="Overwrite existing output files.")
@click.option("--batch", type=click.IntRange(1, container.MAX_BATCH), default=tiled.DEFAULT_BATCH,
              show_default=True, help="Tiles per network pass (tiled files).")
@click.option("-m", "--model", help="JSON card of an exported model the file names.")
@recursive_option(".fz files")
@jobs_option("files, or the chunks of an archive, are decoded")
@fail_fast_option()
@quiet_option()
def decompress(files, output, only, device, force, batch, model, recursive, jobs, fail_fast, quiet):
    """Restore the exact pixels of .fz FILES (PNG unless -o names another lossless format that holds
    the image exactly). An archive is restored into a folder (-o FOLDER, by default named after
    it), with the paths it stored. '-' reads standard input and writes a PNG to standard output
    unless -o is given."""
    files = list(files)
    if len(files) > 1 and STDIO in files:
        raise UsageError("'-' (standard input) must be the only input")
    found, problems = sources(files, recursive, {".fz"})
    several = len(found) > 1 or len(files) > 1
    if several and output and not is_folder(output):
        raise UsageError(f"several inputs need -o FOLDER/ (an existing folder, or a name ending in /), "
                         f"not -o {output}")
    if only and several:
        raise UsageError("--only picks images of one archive: give one file")
    for path, problem in problems:
        report(path, FlowzipError(problem))
    # Read every header first: the output of each file (an image or a folder) depends on it, and a
    # foreign or broken file, a clash or a format that cannot hold the image is reported before any
    # decoding.
    opened, errors = [], len(problems)
    for source in found:
        try:
            data = read(source.path)
            header = api.inspect(data)
            opened.append((source, data, header, _output(source, header, output, several)))
        except (FlowzipError, OSError) as e:
            errors += 1
            report(source.path, e)
    refuse_clashes([(s.path, dst) for s, _, _, dst in opened])
    archives = [item for item in opened if len(item[2].entries) > 1]
    singles = [item for item in opened if len(item[2].entries) == 1]
    if only and singles:
        raise UsageError(f"--only picks images of an archive; {name(singles[0][0].path)} holds one image")
    if opened:
        announce_compiling(quiet)
    for source, data, header, dst in archives:
        try:
            _decompress_archive(source.path, data, header, dst, device, force, model, quiet, jobs, only)
        except (FlowzipError, OSError) as e:
            errors += 1
            report(source.path, e)
            if fail_fast:
                sys.exit(1)
    pairs, tasks = [], []
    for source, data, header, dst in singles:
        try:
            if dst != STDIO:
                (e,) = header.entries
                check_writable(dst.suffix, e.mode, e.bit_depth, PALETTE_KEY in e.metadata)
            refuse_existing(dst, force)
        except (FlowzipError, OSError) as e:
            errors += 1
            report(source.path, e)
            continue
        pairs.append((source.path, dst))
        tasks.append((data, ".png" if dst == STDIO else dst.suffix, batch, device, model,
                      jobs if len(singles) == 1 else 1, name(source.path), not quiet and len(singles) == 1))

    def finish(src: Path, dst: Path, result):
        image, line = result
        write(dst, image, force, folders=several and output is not None)
        say(f"{name(src)} -> {'<stdout>' if dst == STDIO else dst}: {line}", quiet, err=dst == STDIO)

    run_all(pairs, _decompress_file, tasks, finish, "decompressing", quiet, jobs, fail_fast, errors)


def _decompress_file(data: bytes, suffix: str, batch, device, model, jobs: int, label: str,
                     show: bool) -> tuple[bytes, str]:
    """.fz bytes of one image -> (the image file's bytes, what it is)."""
    with Progress(label, not show) as progress:
        archive = api.Archive(data, model=model, device=device, batch=batch)
        progress.start(num_units(archive.header))
        (_, _, picture), = archive.decode_each(jobs=jobs, progress=progress)
    if isinstance(picture, Exception):
        raise picture
    return encode_image(picture, suffix, threads=workers.workers(jobs)), picture.describe()


def _output(source: Source, header: container.Header, output: str | None, several: bool) -> Path:
    """Where one file goes: an image file, or for an archive a folder."""
    src = source.path
    archive = len(header.entries) > 1
    if archive and src == STDIO and output is None:
        raise FlowzipError(f"this is an archive of {plural(len(header.entries), 'image')}: give -o FOLDER to "
                           "restore it from standard input")
    if output is None:
        return STDIO if src == STDIO else src.with_suffix("" if archive else ".png")
    if not several and not (archive or Path(output).is_dir()):
        return Path(output)
    if not several and archive:
        if Path(output).exists() and not Path(output).is_dir():
            raise FlowzipError(f"{output} is not a folder: an archive of {plural(len(header.entries), 'image')} "
                               "needs -o FOLDER")
        return Path(output)
    return Path(output) / Path(source.name).with_suffix("" if archive else ".png")


def _decompress_archive(src: Path, data: bytes, header, folder: Path, device, force, model, quiet, jobs,
                        only=()) -> None:
    """Restore the images of an archive (``only``: those matching these names) into ``folder``,
    writing each as it is decoded; images that cannot be restored (a damaged chunk) are named in
    the error, after the others are written."""
    wanted = api.find_images(header, only) if only else list(range(len(header.entries)))
    targets = archive_outputs(header.entries, folder)
    clashes = [targets[i] for i in wanted if targets[i].exists()]
    if clashes and not force:
        raise FileExistsError(f"{clashes[0]} already exists (use -f to overwrite)")
    folder.mkdir(parents=True, exist_ok=True)
    lost, reasons, written = [], {}, 0
    with Progress(name(src), quiet) as progress:
        archive = api.Archive(data, model=model, device=device)
        if not only:
            progress.start(num_units(header))
        for i, stored, item in archive.decode_each(wanted, jobs=jobs, progress=progress):
            target = targets[i]
            if isinstance(item, Exception) or not _inside(folder, target):
                lost.append(stored or f"image {i}")
                reasons.setdefault(str(item) if isinstance(item, Exception) else "a path that leaves the folder", i)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            write(target, encode_image(item, target.suffix), force)
            written += 1
    if lost:
        shown = ", ".join(lost[:10]) + (f" and {len(lost) - 10} more" if len(lost) > 10 else "")
        raise FlowzipError(f"{len(lost)} of {plural(len(wanted), 'image')} not restored ({'; '.join(reasons)}): "
                           f"{shown}; the other {written} were written to {folder}/")
    say(f"{name(src)} -> {folder}/: {plural(written, 'image')}", quiet)


def _safe_path(stored: str) -> Path | None:
    """A stored name as a relative path that stays inside the output folder: no root, drive, '..'
    or '.' parts (None if nothing is left)."""
    parts = [p for p in re.split(r"[\\/]+", stored) if p not in ("", ".", "..")]
    if parts and re.fullmatch(r"[A-Za-z]:", parts[0]):
        parts = parts[1:]
    return Path(*parts) if parts else None


def archive_outputs(entries: list[container.Entry], folder: Path) -> list[Path]:
    """Where each image of an archive goes: its stored path below ``folder`` (made safe), with its
    suffix when that format holds the image exactly, else ``.png``; unnamed or clashing images get
    numbered names."""
    out, seen = [], set()
    for i, e in enumerate(entries):
        relative = _safe_path(e.name)
        stem = relative.stem if relative is not None else ""
        where = folder / relative.parent if relative is not None else folder
        suffix = relative.suffix.lower() if relative is not None else ""
        if suffix in LOSSLESS_FORMATS:
            suffix = writable_suffix(suffix, e.mode, e.bit_depth, PALETTE_KEY in e.metadata)
        else:
            suffix = ".png"
        path = where / f"{stem or f'image_{i:05d}'}{suffix}"
        if path in seen:
            path = where / f"{stem}_{i:05d}{suffix}"
        seen.add(path)
        out.append(path)
    return out


def _inside(folder: Path, path: Path) -> bool:
    """Whether ``path`` stays inside ``folder`` once links in its existing folders are followed."""
    root = os.path.realpath(folder)
    return os.path.commonpath([root, os.path.realpath(path.parent)]) == root


COMMANDS = [decompress]
