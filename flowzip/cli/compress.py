"""``flowzip compress``: images to .fz files, one each or one archive."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import numpy as np

from .. import api, policy
from ..errors import FlowzipError, plural
from ..fileformat import container
from ..images import pngfile
from ..images.image import IMAGE_SUFFIXES, png_size, read_image
from ..pipelines import num_units
from .common import (DEVICES, STDIO, Command, Progress, Source, SubPixels, UsageError, announce_compiling,
                     check_folder, fail_fast_option, jobs_option, message, name, outputs, quiet_option, read,
                     recursive_option, refuse_existing, report, run_all, say, sources, write)


def _defaults_help() -> str:
    roles = policy.DEFAULT.roles()
    return ("Default models, by what they code:\n\n" + "\n\n".join(f"{name}: {role}" for name, role in roles.items())
            + "\n\nEffort levels:\n\n" + "\n\n".join(f"{n}: {e.words}" for n, e in policy.EFFORTS.items()))


def _effort_options(command):
    """``--effort N`` and its short forms ``-1`` .. ``-9``, as cjxl and zstd have them."""
    for n in reversed(policy.EFFORTS):
        command = click.option(f"-{n}", "effort_flag", flag_value=n, hidden=True)(command)
    return click.option("-e", "--effort", type=click.IntRange(1, 9),
                        help=f"1 .. 9, also -1 .. -9 [default: {policy.DEFAULT_EFFORT}]. 1-3: the classical coder "
                             "only. 4: the classical coder for photos, integer flows for thumbnails (a single "
                             "thumbnail coded both ways, the smaller kept). 5: the learned local prior for 8-bit "
                             "colour pictures (a single picture coded by the classical coder too). 6: the local "
                             "prior, the flows and the classical coder, the smallest file kept; 7-9: as 6 with the "
                             "models first adapted to the images (much slower to compress, not to decompress). A "
                             "higher effort never makes a larger file than the default. `flowzip models` lists "
                             "what each level does.")(command)


@click.command(cls=Command, epilog_text=_defaults_help)
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path, allow_dash=True))
@click.option("-o", "--output", help="Output file (one image), folder (FOLDER/), or archive (NAME.fz).")
@click.option("-m", "--model", help="Model name (see `flowzip models`) or path of a model's JSON card.")
@click.option("--device", type=DEVICES, default="auto", show_default=True)
@click.option("-f", "--force", is_flag=True, help="Overwrite existing output files.")
@click.option("--tile", type=click.IntRange(16, container.MAX_TILE),
              help=f"Tile side in pixels, a multiple of 16 [default: {policy.DEFAULT.tiled_tile} for integer "
                   f"flows; {policy.DEFAULT.stacked_tile} for bits-back models and archives].")
@click.option("--batch", type=click.IntRange(1, container.MAX_BATCH),
              help=f"Tiles per network pass [default: {policy.DEFAULT.tiled_batch}; "
                   f"{policy.DEFAULT.stacked_batch} for bits-back models and archives, where it is part of the file].")
@click.option("--chunk", type=SubPixels(),
              help=f"Sub-pixels per chunk of an archive, each decodable alone [default: {policy.DEFAULT.archive_chunk}]; "
                   "0 writes one stream (format version 2).")
@recursive_option("images")
@jobs_option("files, or the chunks of an archive or of one large image, are coded")
@fail_fast_option()
@click.option("--verify", is_flag=True, help="Decode the result and check it before writing it.")
@click.option("--no-png", is_flag=True, help="Skip the PNG size comparison.")
@click.option("--estimate", is_flag=True, help="Also print the model's estimate of the size (slower).")
@quiet_option()
@_effort_options
def compress(images, output, model, device, force, tile, batch, chunk, recursive, jobs, fail_fast, verify, no_png,
             estimate, quiet, effort, effort_flag):
    """Compress IMAGES to .fz files (the inputs are kept): each beside its input, or in -o FOLDER/.
    '-' reads standard input and writes standard output unless -o is given. Several IMAGES, or
    folders with -r, and '-o NAME.fz' make one archive, which keeps the images' paths below the
    folders."""
    if tile is not None and tile % 16:
        raise click.BadParameter("must be a multiple of 16", param_hint="--tile")
    images = list(images)
    if len(images) > 1 and STDIO in images:
        raise UsageError("'-' (standard input) must be the only input")
    found, problems = sources(images, recursive, IMAGE_SUFFIXES)
    several = len(images) > 1 or any(p.is_dir() for p in images if p != STDIO)
    options = dict(model=model, tile=tile, batch=batch, device=device, verify=verify, no_png=no_png or quiet,
                   effort=effort or effort_flag, estimate=estimate)
    if several and output and output.endswith(".fz") and not Path(output).is_dir():
        if problems:
            path, problem = problems[0]
            raise FlowzipError(f"{path}: {problem} (nothing written)")
        _compress_archive(found, Path(output), force, chunk, jobs, quiet, **options)
        return
    for path, problem in problems:
        report(path, FlowzipError(problem))
    if not found:
        sys.exit(1)
    makes_folders = several and output is not None
    pairs, failed = [], len(problems)
    for source, dst in zip(found, outputs(found, output, ".fz", several)):
        try:
            refuse_existing(dst, force)
            if not makes_folders:
                check_folder(dst)
            pairs.append((source.path, dst))
        except (FileExistsError, FlowzipError) as e:
            failed += 1
            report(source.path, e)
    if pairs:
        announce_compiling(quiet)
    show = len(found) == 1 and not quiet
    tasks = [(src, options, jobs if len(pairs) == 1 else 1, chunk, show) for src, _ in pairs]

    def finish(src: Path, dst: Path, result):
        data, line, warning = result
        write(dst, data, force, folders=makes_folders)
        say(f"{name(src)}: {line}", quiet, err=dst == STDIO)
        if warning:
            say(f"flowzip: warning: {name(src)}: {warning}", quiet, err=True)

    run_all(pairs, _compress_file, tasks, finish, "compressing", quiet, jobs, fail_fast, failed)


def _compress_file(src: Path, options: dict, jobs: int, chunk: int | None, show: bool) -> tuple[bytes, str, str]:
    """One image file -> (.fz bytes, what it measured, a warning or None); ``jobs`` code the chunks
    of a large image."""
    raw = read(src, "an image")
    picture = read_image(raw, name="")
    pictures = [("", picture)]
    with Progress(name(src), not show) as progress:
        data, result = api.encode(pictures, options["model"], tile=options["tile"], batch=options["batch"],
                                  chunk=chunk, jobs=jobs, effort=options["effort"], device=options["device"],
                                  progress=progress, estimate=options["estimate"])
    if options["verify"]:
        _verify(data, pictures, options["device"], not show, name(src), jobs)
    line = _result(data, result, pictures, options["no_png"], options["verify"], _png_inputs_bytes([(raw, len(raw))]))
    said = [w for w in (_damaged(picture), _larger_than_input(raw, data)) if w]
    return data, f"{len(raw)} -> {line}", "; ".join(said) or None


def _damaged(picture) -> str | None:
    """A warning when reading the image found damage it could read past (a tag skipped, ...)."""
    if not picture.damage:
        return None
    more = f" (and {len(picture.damage) - 1} more)" if len(picture.damage) > 1 else ""
    return f"the file is damaged, its reader said: {picture.damage[0]}{more}"


def _larger_than_input(raw: bytes, data: bytes) -> str | None:
    """A warning when the .fz file is larger than the file it came from (a lossy input, mostly)."""
    if len(data) <= len(raw):
        return None
    lossy = raw[:3] == b"\xff\xd8\xff" or (raw[:4] == b"RIFF" and raw[12:16] == b"VP8 ")
    why = ("; the input is lossy (JPEG or lossy WebP): flowzip keeps its decoded pixels exactly, which takes more "
           "bytes than the lossy file") if lossy else ""
    return f"the .fz file ({len(data)} bytes) is larger than the input ({len(raw)} bytes){why}"


def _compress_archive(found: list[Source], dst: Path, force, chunk, jobs, quiet, *, model, tile, batch, device,
                      verify, no_png, effort, estimate):
    if any(s.path == STDIO for s in found):
        raise UsageError("'-' (standard input) cannot go into an archive")
    names = [s.name for s in found]
    if len(set(names)) < len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise UsageError(f"an archive cannot hold two images named {twice}")
    refuse_existing(dst, force)
    check_folder(dst)
    pictures = []
    for s in found:
        try:
            pictures.append((s.name, read_image(s.path)))
        except (FlowzipError, OSError) as e:
            raise FlowzipError(f"{message(e)} (nothing written)") from None
        if damage := _damaged(pictures[-1][1]):
            say(f"flowzip: warning: {s.path}: {damage}", quiet, err=True)
    announce_compiling(quiet)
    with Progress(dst.name, quiet) as progress:
        data, result = api.encode(pictures, model, archive=True, tile=tile, batch=batch, chunk=chunk, jobs=jobs,
                                  effort=effort, device=device, progress=progress, estimate=estimate)
    if verify:
        _verify(data, pictures, device, quiet, str(dst), jobs)
    write(dst, data, force)
    if not quiet:
        inputs = _png_inputs_bytes((_head(s.path), s.path.stat().st_size) for s in found)
        say(f"{plural(len(pictures), 'image')} -> {dst}: {_result(data, result, pictures, no_png, verify, inputs)}",
            quiet)


def _head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(8)


def _verify(data: bytes, pictures, device, quiet: bool, label: str, jobs: int = 1) -> None:
    with Progress(f"verifying {label}", quiet) as progress:
        archive = api.Archive(data, device=device)
        progress.start(num_units(archive.header))
        decoded = {i: item for i, _, item in archive.decode_each(jobs=jobs, progress=progress)}
    for i, (_, picture) in enumerate(pictures):
        item = decoded.get(i)
        if isinstance(item, Exception):
            raise item
        if item is None or not np.array_equal(picture.pixels, item.pixels):
            raise FlowzipError(f"{label}: verification failed, decoded pixels differ (nothing written)")


def _result(data: bytes, result: api.Report, pictures, no_png: bool, verified: bool,
            input_png: int | None = None) -> str:
    """What a compressed file measured: bytes, bpd, the estimate, PNG's bpd (``input_png``: the
    bytes of the PNG inputs themselves; else an optimized PNG is made to compare), the coder kept,
    verified."""
    line = f"{len(data)} bytes, {result.bpd:.3f} bpd"
    if result.estimated_bpd is not None:
        line += f" (model estimate {result.estimated_bpd:.3f})"
    if not no_png:
        png = input_png if input_png is not None else sum(png_size(p) for _, p in pictures)
        line += f", PNG {8 * png / result.subpixels:.3f} bpd ({png} bytes{', the input' if input_png else ''})"
    line += f", coded by {' and '.join(result.coders)}"
    if result.stored:
        line += " (the input PNG's own image data: every coding was larger)"
    elif result.plans > 1:
        line += f" (the smallest of {result.plans} ways)"
    return line + (", verified" if verified else "")


def _png_inputs_bytes(heads_and_sizes) -> int | None:
    """The total bytes of the inputs when every one is a PNG file (by its first 8 bytes), else None."""
    total = 0
    for head, size in heads_and_sizes:
        if not head.startswith(pngfile.SIGNATURE):
            return None
        total += size
    return total


COMMANDS = [compress]
