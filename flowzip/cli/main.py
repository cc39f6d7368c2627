"""The ``flowzip`` command line: parse, plan outputs, call the API, print. No model code here."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sys
import threading
from pathlib import Path
from typing import NamedTuple

import click
import numpy as np

from .. import __version__, api, families, policy, zoo
from ..errors import FlowzipError
from ..fileformat import container
from ..files import atomic_write
from ..images import pngfile
from ..pipelines import workers as parallel
from ..images.image import IMAGE_SUFFIXES, LOSSLESS_FORMATS, encode_image, image_files, png_size, read_image

DEVICES = click.Choice(["auto", "cpu", "cuda"])
STDIO = Path("-")  # standard input or output
SIGPIPE_EXIT = 141  # what a shell reports for a process ended by a closed pipe


class _Group(click.Group):
    """Accepts ``--debug`` anywhere on the line, turns any error into one line on stderr and exit
    status 1 (a traceback with --debug), and exits quietly when its output pipe is closed."""

    def parse_args(self, ctx, args):
        if "--debug" in args[: args.index("--") if "--" in args else len(args)]:
            args = [a for a in args if a != "--debug"]
            ctx.meta["flowzip.debug"] = True
        return super().parse_args(ctx, args)

    def invoke(self, ctx):
        main_thread = threading.current_thread() is threading.main_thread()
        before = signal.signal(signal.SIGTERM, _terminated) if main_thread else None
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except BrokenPipeError:
            _silence_stdout()
            sys.exit(SIGPIPE_EXIT)
        except KeyboardInterrupt as e:  # Ctrl-C or SIGTERM: outputs being written were removed
            click.echo("flowzip: interrupted", err=True)
            sys.exit(143 if isinstance(e, _Terminated) else 130)
        except Exception as e:  # noqa: BLE001 - the one place every error becomes a message
            if ctx.meta.get("flowzip.debug"):
                raise
            click.echo(f"flowzip: error: {_message(e)}", err=True)
            sys.exit(1)
        finally:
            if main_thread:
                signal.signal(signal.SIGTERM, before)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same clean-up runs."""


def _terminated(signum, frame):
    raise _Terminated


class UsageError(click.UsageError):
    """A wrong command line: one line on stderr, exit status 2."""

    def show(self, file=None) -> None:
        click.echo(f"flowzip: error: {self.format_message()}", err=True)


def _silence_stdout() -> None:
    """After a closed pipe: send what is still buffered nowhere, so that exiting stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _message(e: Exception) -> str:
    if isinstance(e, (FlowzipError, FileExistsError)):
        return str(e)
    if isinstance(e, OSError) and e.filename:
        return f"{e.filename}: {e.strerror or e}"
    return f"{type(e).__name__}: {e} (run with --debug for details)"


def _debug() -> bool:
    return bool(click.get_current_context().meta.get("flowzip.debug"))


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="flowzip")
@click.option("--debug", is_flag=True, help="Show full tracebacks (accepted anywhere on the line).")
@click.pass_context
def main(ctx, debug):
    """Lossless image compression with normalizing flows."""
    if debug:
        ctx.meta["flowzip.debug"] = True
    _one_thread_per_process(ctx)


def _one_thread_per_process(ctx) -> None:
    """One BLAS thread per process: flowzip uses several cores through worker processes, and idle
    BLAS threads that spin-wait beside them only slow a shared machine down."""
    from threadpoolctl import threadpool_limits

    ctx.call_on_close(threadpool_limits(limits=1).restore_original_limits)


# --- where outputs go ---------------------------------------------------------------------

def _is_folder(out: str) -> bool:
    return Path(out).is_dir() or out.endswith(("/", os.sep))


def _name(src: Path) -> str:
    return "<stdin>" if src == STDIO else str(src)


class Source(NamedTuple):
    """An input file and its name: the file name, or its path below a folder given with -r."""

    path: Path
    name: str


def _sources(paths: list[Path], recursive: bool, suffixes) -> tuple[list[Source], list[tuple[Path, str]]]:
    """The input files (folders opened with ``recursive``: the files below them whose suffix is in
    ``suffixes``, named by their relative path), and (path, problem) for inputs skipped."""
    sources, problems = [], []
    for path in paths:
        if path == STDIO or not path.is_dir():
            sources.append(Source(path, path.name))
        elif not recursive:
            problems.append((path, "is a directory (use -r for the files in it)"))
        else:
            found = image_files(path, recursive=True, suffixes=suffixes)
            if not found:
                problems.append((path, f"no {'/'.join(sorted(suffixes))} files in this folder"))
            sources += [Source(f, f.relative_to(path).as_posix()) for f in found]
    return sources, problems


def _refuse_clashes(pairs: list[tuple[Path, Path]]) -> None:
    """Two inputs that would write the same output are refused before any work."""
    seen: dict[Path, Path] = {}
    for src, dst in pairs:
        if dst != STDIO and dst in seen:
            raise UsageError(f"{seen[dst]} and {src} would both be written to {dst}; use -o FOLDER/ "
                                   "or compress them into an archive (-o NAME.fz)")
        seen[dst] = src


def _outputs(sources: list[Source], out: str | None, suffix: str, several: bool) -> list[Path]:
    """Output per input: beside it with ``suffix``, or as -o says (one input: a file; several: a
    folder, in which inputs from folders keep their relative paths)."""
    if out is None:
        pairs = [(s.path, STDIO if s.path == STDIO else s.path.with_suffix(suffix)) for s in sources]
    elif not several and not Path(out).is_dir():
        pairs = [(sources[0].path, Path(out))]
    else:
        if not _is_folder(out):
            raise UsageError(f"several inputs need -o FOLDER/ (an existing folder, or a name ending in /) "
                             f"{'or -o ARCHIVE.fz (one archive), ' if suffix == '.fz' else ''}not -o {out}")
        pairs = [(s.path, Path(out) / Path(s.name).with_suffix(suffix)) for s in sources]
    _refuse_clashes(pairs)
    return [dst for _, dst in pairs]


def _check_writable_format(dst: Path) -> None:
    """An output image must be a lossless format flowzip writes: checked before any decoding."""
    if dst != STDIO and dst.suffix.lower() not in LOSSLESS_FORMATS:
        raise FlowzipError(f"cannot write {dst}: choose a lossless format "
                           f"({', '.join(sorted(LOSSLESS_FORMATS))})")


# --- progress and results -----------------------------------------------------------------

def _progress(total: int, label: str, quiet: bool):
    """A progress bar on stderr where a person watches; ``bar.update`` or None is its callback."""
    if quiet or total < 8 or not sys.stderr.isatty():
        return contextlib.nullcontext(None)
    return click.progressbar(length=total, label=label, file=sys.stderr)


def _update(bar):
    return bar.update if bar is not None else None


def _say(line: str, quiet: bool, err: bool = False) -> None:
    if not quiet:
        click.echo(line, err=err)


def _report(src: Path, e: Exception) -> None:
    """One error line that names the input it concerns (re-raised with --debug)."""
    if _debug():
        raise e
    message = _message(e)
    if not message.startswith(_name(src)):
        message = f"{_name(src)}: {message}"
    click.echo(f"flowzip: error: {message}", err=True)


def _run_all(pairs: list[tuple[Path, Path]], compute, tasks: list[tuple], finish, label: str, quiet: bool,
             jobs: int, fail_fast: bool, failed: int = 0) -> None:
    """Per pair ``compute(*task)`` (in ``jobs`` worker processes; one pair here, its task using
    the workers), then ``finish(src, dst, result)`` here, which writes; each failure is one line
    naming its input, and the others go on unless ``fail_fast``. Exits 1 if anything failed
    (``failed``: problems found before)."""
    show = len(pairs) > 1 and sys.stderr.isatty() and not quiet
    bar = click.progressbar(length=len(pairs), label=label, file=sys.stderr) if show else contextlib.nullcontext()
    with bar:
        for i, result, error in parallel.imap(compute, tasks, jobs if len(pairs) > 1 else 1, fail_fast=fail_fast):
            src, dst = pairs[i]
            try:
                if error is not None:
                    raise error
                finish(src, dst, result)
            except (FlowzipError, OSError) as e:
                failed += 1
                _report(src, e)
                if fail_fast:
                    break
            if show:
                bar.update(1)
    if failed:
        sys.exit(1)


def _read(src: Path) -> bytes:
    return sys.stdin.buffer.read() if src == STDIO else src.read_bytes()


def _write(dst: Path, data: bytes, force: bool, folders: bool = False) -> None:
    """Atomically to a file (``folders``: making its folder), or to standard output (never to a
    terminal)."""
    if dst != STDIO:
        if folders:
            dst.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(dst, data, overwrite=force)
    elif sys.stdout.isatty():
        raise FlowzipError("refusing to write binary data to a terminal (use -o FILE or a pipe)")
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


def _refuse_existing(dst: Path, force: bool) -> None:
    if dst != STDIO and dst.exists() and not force:
        raise FileExistsError(f"{dst} already exists (use -f to overwrite)")


def _verify(data: bytes, pictures, device, quiet: bool, label: str, jobs: int = 1) -> None:
    with _progress(api.progress_units(api.inspect(data)), f"verifying {label}", quiet) as bar:
        decoded = api.decode(data, device=device, progress=_update(bar), jobs=jobs)
    if any(not np.array_equal(a.pixels, b.pixels) for (_, a), (_, b) in zip(pictures, decoded)):
        raise FlowzipError(f"{label}: verification failed, decoded pixels differ (nothing written)")


def _result(data: bytes, report: api.Report, pictures, no_png: bool, verified: bool,
            input_png: int | None = None) -> str:
    """What a compressed file measured: bytes, bpd, the estimate, PNG's bpd (``input_png``: the
    bytes of the PNG inputs themselves; else an optimized PNG is made to compare), verified."""
    line = f"{len(data)} bytes, {report.bpd:.3f} bpd"
    if report.estimated_bpd is not None:
        line += f" (model estimate {report.estimated_bpd:.3f})"
    if not no_png:
        png = input_png if input_png is not None else sum(png_size(p) for _, p in pictures)
        line += f", PNG {8 * png / report.subpixels:.3f} bpd ({png} bytes{', the input' if input_png else ''})"
    return line + (", verified" if verified else "")


def _png_inputs_bytes(heads_and_sizes) -> int | None:
    """The total bytes of the inputs when every one is a PNG file (by its first 8 bytes), else None."""
    total = 0
    for head, size in heads_and_sizes:
        if not head.startswith(pngfile.SIGNATURE):
            return None
        total += size
    return total


class _SubPixels(click.ParamType):
    """A number of sub-pixels, with an optional k or M suffix (1000s, 1000000s)."""

    name = "N"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        text = str(value).strip()
        scale = {"k": 10**3, "K": 10**3, "m": 10**6, "M": 10**6}.get(text[-1:], 1)
        try:
            number = float(text[:-1] if scale > 1 else text) * scale
        except ValueError:
            self.fail(f"{value!r} is not a number of sub-pixels (e.g. 196608, 200k, 1M)", param, ctx)
        if number < 0:
            self.fail("must be 0 or more", param, ctx)
        return int(number)


def _jobs_option(what: str):
    return click.option("-j", "--jobs", type=click.IntRange(0),
                        help=f"Worker processes of one thread each: {what} side by side (0: one per core) "
                             "[default: this process alone].")


def _fail_fast_option():
    return click.option("--fail-fast", is_flag=True, help="Stop at the first input that fails (by default a "
                        "failing input is reported and the others go on).")


def _recursive_option(what: str):
    return click.option("-r", "--recursive", is_flag=True, help=f"Take the {what} in folders given, and below "
                        "them, keeping their relative paths.")


# --- commands -----------------------------------------------------------------------------

class _Command(click.Command):
    """A command whose epilog is made when help is shown (it may need to look at the models)."""

    def __init__(self, *args, epilog_text=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.epilog_text = epilog_text

    def format_epilog(self, ctx, formatter):
        if self.epilog_text:
            self.epilog = self.epilog_text()
        super().format_epilog(ctx, formatter)


def _defaults_help() -> str:
    roles = policy.ACTIVE.roles()
    return ("Default models, by what they code:\n\n" + "\n\n".join(f"{name}: {role}" for name, role in roles.items())
            + "\n\nEffort levels:\n\n" + "\n\n".join(f"{n}: {e.words}" for n, e in policy.EFFORTS.items()))


def _effort_options(command):
    """``--effort N`` and its short forms ``-1`` .. ``-9``, as cjxl and zstd have them."""
    for n in reversed(policy.EFFORTS):
        command = click.option(f"-{n}", "effort_flag", flag_value=n, hidden=True)(command)
    return click.option("-e", "--effort", type=click.IntRange(1, 9),
                        help=f"1 .. 9, also -1 .. -9 [default: {policy.DEFAULT_EFFORT}]. 1-5 code each picture "
                             "once (the classical coder for photos, flows for thumbnails); 6 codes with both "
                             "and keeps the smaller file (about 10x the time of 5 on a photo); 7-9 first adapt "
                             "the flows to the images (about 50x to 120x), which does not slow decoding. "
                             "`flowzip models` lists what each level does.")(command)


@main.command(cls=_Command, epilog_text=_defaults_help)
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path, allow_dash=True))
@click.option("-o", "--output", help="Output file (one image), folder (FOLDER/), or archive (NAME.fz).")
@click.option("-m", "--model", help="Model name (see `flowzip models`) or path of a model's JSON card.")
@click.option("--device", type=DEVICES, default="auto", show_default=True)
@click.option("-f", "--force", is_flag=True, help="Overwrite existing output files.")
@click.option("--tile", type=click.IntRange(16, container.MAX_TILE),
              help=f"Tile side in pixels, a multiple of 16 [default: {policy.ACTIVE.tiled_tile} for integer "
                   f"flows; {policy.ACTIVE.stacked_tile} for bits-back models and archives].")
@click.option("--batch", type=click.IntRange(1, container.MAX_BATCH),
              help=f"Tiles per network pass [default: {policy.ACTIVE.tiled_batch}; "
                   f"{policy.ACTIVE.stacked_batch} for bits-back models and archives, where it is part of the file].")
@click.option("--chunk", type=_SubPixels(),
              help=f"Sub-pixels per chunk of an archive, each decodable alone [default: {policy.ACTIVE.archive_chunk}]; "
                   "0 writes one stream (format version 2).")
@_recursive_option("images")
@_jobs_option("files, or the chunks of an archive or of one large image, are coded")
@_fail_fast_option()
@click.option("--verify", is_flag=True, help="Decode the result and check it before writing it.")
@click.option("--no-png", is_flag=True, help="Skip the PNG size comparison.")
@click.option("--estimate", is_flag=True, help="Also print the model's estimate of the size (slower).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@_effort_options
def compress(images, output, model, device, force, tile, batch, chunk, recursive, jobs, fail_fast, verify, no_png,
             estimate, quiet, effort, effort_flag):
    """Compress IMAGES to .fz files (the inputs are kept). '-' reads standard input and writes
    standard output unless -o is given. Several IMAGES, or folders with -r, and '-o NAME.fz' make
    one archive, which keeps the images' paths below the folders."""
    if tile is not None and tile % 16:
        raise click.BadParameter("must be a multiple of 16", param_hint="--tile")
    images = list(images)
    if len(images) > 1 and STDIO in images:
        raise UsageError("'-' (standard input) must be the only input")
    sources, problems = _sources(images, recursive, IMAGE_SUFFIXES)
    several = len(images) > 1 or any(p.is_dir() for p in images if p != STDIO)
    options = dict(model=model, tile=tile, batch=batch, device=device, verify=verify, no_png=no_png or quiet,
                   effort=effort or effort_flag, estimate=estimate)
    if several and output and output.endswith(".fz") and not Path(output).is_dir():
        if problems:
            path, problem = problems[0]
            raise FlowzipError(f"{path}: {problem} (nothing written)")
        _compress_archive(sources, Path(output), force, chunk, jobs, quiet, **options)
        return
    for path, problem in problems:
        _report(path, FlowzipError(problem))
    if not sources:
        sys.exit(1)
    outputs = _outputs(sources, output, ".fz", several)
    pairs, failed = [], len(problems)
    for source, dst in zip(sources, outputs):
        try:
            _refuse_existing(dst, force)
            pairs.append((source.path, dst))
        except FileExistsError as e:
            failed += 1
            _report(source.path, e)
    show = len(sources) == 1 and not quiet
    tasks = [(src, options, jobs if len(pairs) == 1 else 1, chunk, show) for src, _ in pairs]

    def finish(src: Path, dst: Path, result):
        data, line, warning = result
        _write(dst, data, force, folders=several and output is not None)
        _say(f"{_name(src)}: {line}", quiet, err=dst == STDIO)
        if warning:
            _say(f"flowzip: warning: {_name(src)}: {warning}", quiet, err=True)

    _run_all(pairs, _compress_file, tasks, finish, "compressing", quiet, jobs, fail_fast, failed)


def _compress_file(src: Path, options: dict, jobs: int, chunk: int | None, show: bool) -> tuple[bytes, str]:
    """One image file -> (.fz bytes, what it measured); ``jobs`` code the chunks of a large image."""
    raw = _read(src)
    picture = read_image(raw, name="")
    pictures = [("", picture)]
    model, tile, batch, device, effort = (options[k] for k in ("model", "tile", "batch", "device", "effort"))
    units = api.work_units([picture], model, tile=tile, batch=batch, chunk=chunk, jobs=jobs, effort=effort)
    with _progress(units, _name(src), not show) as bar:
        data, report = api.encode(pictures, model, tile=tile, batch=batch, chunk=chunk, jobs=jobs, effort=effort,
                                  device=device, progress=_update(bar), estimate=options["estimate"])
    if options["verify"]:
        _verify(data, pictures, device, not show, _name(src), jobs)
    line = _result(data, report, pictures, options["no_png"], options["verify"], _png_inputs_bytes([(raw, len(raw))]))
    return data, f"{len(raw)} -> {line}", _larger_than_input(raw, data)


def _larger_than_input(raw: bytes, data: bytes) -> str | None:
    """A warning when the .fz file is larger than the file it came from (a lossy input, mostly)."""
    if len(data) <= len(raw):
        return None
    lossy = raw[:3] == b"\xff\xd8\xff" or (raw[:4] == b"RIFF" and raw[12:16] == b"VP8 ")
    why = ("; the input is lossy (JPEG or lossy WebP): flowzip keeps its decoded pixels exactly, which takes more "
           "bytes than the lossy file") if lossy else ""
    return f"the .fz file ({len(data)} bytes) is larger than the input ({len(raw)} bytes){why}"


def _compress_archive(sources: list[Source], dst: Path, force, chunk, jobs, quiet, *, model, tile, batch, device,
                      verify, no_png, effort, estimate):
    if any(s.path == STDIO for s in sources):
        raise UsageError("'-' (standard input) cannot go into an archive")
    names = [s.name for s in sources]
    if len(set(names)) < len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise UsageError(f"an archive cannot hold two images named {twice}")
    _refuse_existing(dst, force)
    pictures = []
    for s in sources:
        try:
            pictures.append((s.name, read_image(s.path)))
        except (FlowzipError, OSError) as e:
            raise FlowzipError(f"{_message(e)} (nothing written)") from None
    units = api.work_units([p for _, p in pictures], model, archive=True, tile=tile, batch=batch, chunk=chunk,
                           effort=effort)
    with _progress(units, dst.name, quiet) as bar:
        data, report = api.encode(pictures, model, archive=True, tile=tile, batch=batch, chunk=chunk, jobs=jobs,
                                  effort=effort, device=device, progress=_update(bar), estimate=estimate)
    if verify:
        _verify(data, pictures, device, quiet, str(dst), jobs)
    _write(dst, data, force)
    if not quiet:
        inputs = _png_inputs_bytes((_head(s.path), s.path.stat().st_size) for s in sources)
        _say(f"{len(pictures)} images -> {dst}: {_result(data, report, pictures, no_png, verify, inputs)}", quiet)


def _head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(8)


def _safe_path(name: str) -> Path | None:
    """A stored name as a relative path that stays inside the output folder: no root, drive, '..'
    or '.' parts (None if nothing is left)."""
    parts = [p for p in re.split(r"[\\/]+", name) if p not in ("", ".", "..")]
    if parts and re.fullmatch(r"[A-Za-z]:", parts[0]):
        parts = parts[1:]
    return Path(*parts) if parts else None


def _archive_outputs(names: list[str], folder: Path) -> list[Path]:
    """Where each image of an archive goes: its stored path below ``folder`` (made safe), with a
    lossless suffix; unnamed or clashing images get numbered names."""
    outputs, seen = [], set()
    for i, name in enumerate(names):
        relative = _safe_path(name)
        stem = relative.stem if relative is not None else ""
        where = folder / relative.parent if relative is not None else folder
        suffix = relative.suffix.lower() if relative is not None else ""
        if suffix not in LOSSLESS_FORMATS:
            suffix = ".png"
        path = where / f"{stem or f'image_{i:05d}'}{suffix}"
        if path in seen:
            path = where / f"{stem}_{i:05d}{suffix}"
        seen.add(path)
        outputs.append(path)
    return outputs


def _inside(folder: Path, path: Path) -> bool:
    """Whether ``path`` stays inside ``folder`` once links in its existing folders are followed."""
    root = os.path.realpath(folder)
    return os.path.commonpath([root, os.path.realpath(path.parent)]) == root


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, allow_dash=True))
@click.option("-o", "--output", help="Output file (one image; its suffix picks the format) or folder (FOLDER/).")
@click.option("--only", multiple=True, metavar="NAME",
              help="Restore only this image of an archive (a stored name or a shell pattern; repeatable).")
@click.option("--device", type=DEVICES, default="auto", show_default=True)
@click.option("-f", "--force", is_flag=True, help="Overwrite existing output files.")
@click.option("--batch", type=click.IntRange(1, container.MAX_BATCH), default=policy.ACTIVE.tiled_batch,
              show_default=True, help="Tiles per network pass (tiled files).")
@click.option("-m", "--model", help="JSON card of an exported model the file names.")
@_recursive_option(".fz files")
@_jobs_option("files, or the chunks of an archive, are decoded")
@_fail_fast_option()
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
def decompress(files, output, only, device, force, batch, model, recursive, jobs, fail_fast, quiet):
    """Restore the exact pixels of .fz FILES (PNG unless -o names another lossless format).
    An archive is restored into a folder (-o FOLDER, by default named after it), with the paths it
    stored. '-' reads standard input and writes a PNG to standard output unless -o is given."""
    files = list(files)
    if len(files) > 1 and STDIO in files:
        raise UsageError("'-' (standard input) must be the only input")
    sources, problems = _sources(files, recursive, {".fz"})
    several = len(sources) > 1 or len(files) > 1
    if several and output and not _is_folder(output):
        raise UsageError(f"several inputs need -o FOLDER/ (an existing folder, or a name ending in /), "
                               f"not -o {output}")
    if only and several:
        raise UsageError("--only picks images of one archive: give one file")
    for path, problem in problems:
        _report(path, FlowzipError(problem))
    # Read every header first: the output of each file (an image or a folder) depends on it, and a
    # foreign or broken file, a clash or an unwritable format is reported before any decoding.
    opened, errors = [], len(problems)
    for source in sources:
        try:
            data = _read(source.path)
            header = api.inspect(data)
            opened.append((source, data, header, _decompress_output(source, header, output, several)))
        except (FlowzipError, OSError) as e:
            errors += 1
            _report(source.path, e)
    _refuse_clashes([(s.path, dst) for s, _, _, dst in opened])
    archives = [item for item in opened if len(item[2].entries) > 1]
    singles = [item for item in opened if len(item[2].entries) == 1]
    if only and singles:
        raise UsageError(f"--only picks images of an archive; {_name(singles[0][0].path)} holds one image")
    for source, data, header, dst in archives:
        try:
            _decompress_archive(source.path, data, header, dst, device, force, model, quiet, jobs, only)
        except (FlowzipError, OSError) as e:
            errors += 1
            _report(source.path, e)
            if fail_fast:
                sys.exit(1)
    pairs, tasks = [], []
    for source, data, header, dst in singles:
        try:
            _check_writable_format(dst)
            _refuse_existing(dst, force)
        except (FlowzipError, OSError) as e:
            errors += 1
            _report(source.path, e)
            continue
        pairs.append((source.path, dst))
        tasks.append((data, ".png" if dst == STDIO else dst.suffix, batch, device, model,
                      jobs if len(singles) == 1 else 1, _name(source.path), not quiet and len(singles) == 1))

    def finish(src: Path, dst: Path, result):
        image, line = result
        _write(dst, image, force, folders=several and output is not None)
        _say(f"{_name(src)} -> {'<stdout>' if dst == STDIO else dst}: {line}", quiet, err=dst == STDIO)

    _run_all(pairs, _decompress_file, tasks, finish, "decompressing", quiet, jobs, fail_fast, errors)


def _decompress_file(data: bytes, suffix: str, batch, device, model, jobs: int, label: str,
                     show: bool) -> tuple[bytes, str]:
    """.fz bytes of one image -> (the image file's bytes, what it is)."""
    with _progress(api.progress_units(api.inspect(data)), label, not show) as bar:
        picture = api.decompress_picture(data, batch=batch, device=device, model=model, jobs=jobs,
                                         progress=_update(bar))
    return (encode_image(picture, suffix, threads=parallel.workers(jobs)),
            f"{picture.pixels.shape[1]}x{picture.pixels.shape[0]} {picture.mode}")


def _decompress_output(source: Source, header: container.Header, output: str | None, several: bool) -> Path:
    """Where one file goes: an image file, or for an archive a folder."""
    src = source.path
    archive = len(header.entries) > 1
    if archive and src == STDIO and output is None:
        raise FlowzipError(f"this is an archive of {len(header.entries)} images: give -o FOLDER to restore "
                           "it from standard input")
    if output is None:
        return STDIO if src == STDIO else src.with_suffix("" if archive else ".png")
    if not several and not (archive or Path(output).is_dir()):
        return Path(output)
    if not several and archive:
        if Path(output).exists() and not Path(output).is_dir():
            raise FlowzipError(f"{output} is not a folder: an archive of {len(header.entries)} images "
                               "needs -o FOLDER")
        return Path(output)
    return Path(output) / Path(source.name).with_suffix("" if archive else ".png")


def _decompress_archive(src: Path, data: bytes, header, folder: Path, device, force, model, quiet, jobs,
                        only=()) -> None:
    """Restore the images of an archive (``only``: those matching these names) into ``folder``,
    writing each as it is decoded; images that cannot be restored (a damaged chunk) are named in
    the error, after the others are written."""
    wanted = api.find_images(header, only) if only else list(range(len(header.entries)))
    targets = _archive_outputs([e.name for e in header.entries], folder)
    clashes = [targets[i] for i in wanted if targets[i].exists()]
    if clashes and not force:
        raise FileExistsError(f"{clashes[0]} already exists (use -f to overwrite)")
    folder.mkdir(parents=True, exist_ok=True)
    lost, reasons, written = [], {}, 0
    with _progress(0 if only else api.progress_units(header), _name(src), quiet) as bar:
        for i, name, item in api.decode_each(data, only=wanted, jobs=jobs, device=device, model=model,
                                             progress=_update(bar)):
            target = targets[i]
            if isinstance(item, Exception) or not _inside(folder, target):
                lost.append(name or f"image {i}")
                reasons.setdefault(str(item) if isinstance(item, Exception) else "a path that leaves the folder", i)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(target, encode_image(item, target.suffix), overwrite=force)
            written += 1
    if lost:
        shown = ", ".join(lost[:10]) + (f" and {len(lost) - 10} more" if len(lost) > 10 else "")
        raise FlowzipError(f"{len(lost)} of {len(wanted)} images not restored ({'; '.join(reasons)}): {shown}; "
                           f"the other {written} were written to {folder}/")
    _say(f"{_name(src)} -> {folder}/: {written} images", quiet)


def _print_info(fields: dict) -> None:
    for key, value in fields.items():
        if key == "models":
            for m in value:
                click.echo(f"model: {m['model']} (weights {m['weights']}), codec {m['codec']}")
        elif key == "entries":
            for e in value:
                groups = ", ".join(f"{g['model']} {g['planes']}" for g in e["groups"])
                meta = f"; metadata {', '.join(e['metadata'])}" if e["metadata"] else ""
                click.echo(f"image: {e['name'] or '(unnamed)'} {e['width']}x{e['height']} {e['mode']}: {groups}{meta}")
        else:
            click.echo(f"{key}: {value}")


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="Print the headers as JSON (a list).")
def info(files, as_json):
    """Print the header of each .fz FILE: its layout, models and images."""

    def show(fields: dict, first: bool):
        if not first:
            click.echo("")
        _print_info(fields)

    _each_file(files, api.describe, show, as_json)


def _each_file(files, describe, show, as_json: bool) -> None:
    """``describe(bytes)`` of each file, printed by ``show(fields, first)`` or as one JSON list; a
    file that fails is named in one line, the others go on, and the exit status is then 1."""
    out, failed = [], 0
    for src in files:
        try:
            out.append({"file": _name(src), **describe(_read(src))})
        except (FlowzipError, OSError) as e:
            failed += 1
            _report(src, e)
            continue
        if not as_json:
            show(out[-1], len(out) == 1)
    if as_json:
        click.echo(json.dumps(out, indent=2))
    if failed:
        sys.exit(1)


@main.command(name="list")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="Print the lists as JSON.")
def list_images(files, as_json):
    """List the images of .fz FILES: size, mode, the chunks that hold each (in a chunked file,
    what `decompress --only NAME` decodes) and the stored name."""

    def show(fields: dict, first: bool):
        if len(files) > 1:
            click.echo(f"{'' if first else chr(10)}{fields['file']}:")
        for row in fields["images"]:
            chunks = ",".join(map(str, row["chunks"])) or "-"
            click.echo(f"{row['width']}x{row['height']}\t{row['mode']}\t{chunks}\t{row['name'] or '(unnamed)'}")

    _each_file(files, lambda data: {"images": api.catalog(data)}, show, as_json)


@main.command()
def models():
    """List the installed models (shipped, then the user model folder) with their measured bpd."""
    cards = zoo.available()
    if not cards:
        click.echo("no models installed")
    roles = policy.ACTIVE.roles()
    for name, card in cards.items():
        measured = "; ".join(f"{k}: {m['bpd']:.3f} bpd (estimate {m['estimated_bpd']:.3f}, {m['images']} images)"
                             for k, m in card.get("measured", {}).items()) or "not measured"
        try:
            kind = families.by_name(card["family"]).title
        except FlowzipError:
            kind = f"unknown family {card.get('family')!r}"
        role = f" (default for {roles[name]})" if name in roles else ""
        where = ", user model" if card["installed_in"] == "user" else ""
        size = ("built in, any channels and depth" if card.get("builtin") else
                f"{card.get('config', {}).get('channels')} channel(s), {card.get('size_bytes', 0) / 1e6:.1f} MB")
        measured = "" if card.get("builtin") and not card.get("measured") else f"; {measured}"
        click.echo(f"{name}{role}: {kind}, {size}{where}{measured}")
    click.echo(f"user model folder: {zoo.user_dir()} (${zoo.MODEL_DIR_VARIABLE} overrides it)")
    click.echo("effort levels (flowzip compress -e N or -N): " +
               "; ".join(f"{n}: {e.words}" for n, e in policy.EFFORTS.items()))


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder: shard-NNNNN.fz archives, plan.json and manifest.json.")
@click.option("--scheduler", metavar="ADDRESS", help="A running Dask scheduler, e.g. tcp://HEAD:8786 [default: "
              "start a cluster of --workers processes here].")
@click.option("--workers", type=click.IntRange(1), default=parallel.cpu_count(), show_default="one per core",
              help="Worker processes of the cluster started here.")
@click.option("--shard-images", type=click.IntRange(1), default=1000, show_default=True,
              help="Images per shard (one chunked archive).")
@click.option("-m", "--model", help="Model name or path of a model's JSON card (as for compress).")
@click.option("--chunk", type=_SubPixels(), help="Sub-pixels per chunk (as for compress).")
@click.option("--tile", type=click.IntRange(16, container.MAX_TILE), help="As for compress.")
@click.option("--batch", type=click.IntRange(1, container.MAX_BATCH), help="As for compress.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
def cluster(inputs, output, scheduler, workers, shard_images, model, chunk, tile, batch, quiet):
    """Compress a large collection on a Dask cluster (pip install "flowzip[cluster]"): INPUTS are
    files, folders and quoted globs ('data/**/*.png'); shards of images become chunked archives,
    listed in OUTPUT/manifest.json. Run the same command again to resume: finished shards are
    skipped."""
    from ..datasets import cluster as engine

    def shard_done(summary: dict):
        _say(f"{output / summary['file']}: {summary['images']} images, {summary['bpd']} bpd", quiet, err=True)

    result = engine.compress_collection(list(inputs), output, scheduler=scheduler, workers=workers,
                                        shard_images=shard_images, model=model, chunk=chunk, tile=tile, batch=batch,
                                        progress=shard_done)
    for shard, error in result["failed"].items():
        click.echo(f"flowzip: error: {output / shard}: {error}", err=True)
    _say(f"{result['images']} images in {len(result['shards'])} of {result['shards_planned']} shards "
         f"({result['skipped']} already done) -> {output}/: {result['bytes']} bytes, {result['bpd']} bpd", quiet)
    if result["failed"]:
        sys.exit(1)


def _names(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--codecs", help="Comma-separated codecs (default: all available), e.g. flowzip,png,jxl-e7.")
@click.option("--models", help="Comma-separated flowzip models, a flowzip codec each (default: the defaults).")
@click.option("--device", type=DEVICES, default="auto", show_default=True)
@click.option("--limit", type=click.IntRange(1), help="At most N images per PATH.")
@click.option("--json", "json_file", type=click.Path(dir_okay=False, path_type=Path), help="Write rows, "
              "summary and environment as JSON.")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False, path_type=Path), help="Write rows as CSV.")
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Plot bpd against encode speed as PNG (needs matplotlib).")
@click.option("--per-image", is_flag=True, help="Print a row per image, not only the means per set.")
@click.option("--estimate", is_flag=True, help="Also report flowzip models' estimates (a float pass: slower).")
@_recursive_option("images")
@_jobs_option("images are benchmarked (speeds are then each worker's, with the others running)")
def bench(paths, codecs, models, device, limit, json_file, csv_file, plot_file, per_image, estimate, recursive, jobs):
    """Compare flowzip with lossless codecs on PATHS (folders, images, .npy/.npy.xz arrays), checking
    every round trip bit for bit."""
    from .. import bench as b

    if plot_file:
        b.require_matplotlib()
    chosen, notes = b.make_codecs(_names(codecs), _names(models), device, estimate)
    if not chosen:
        raise FlowzipError("none of the chosen codecs is available here: " + "; ".join(notes))
    images = b.load_images(paths, limit, recursive)
    with click.progressbar(length=len(images) * len(chosen), label="benchmarking", file=sys.stderr) as bar:
        rows = b.run_bench(images, chosen, progress=bar.update, notes=notes, jobs=jobs)
    click.echo(b.format_table(rows, per_image))
    for note in notes:
        click.echo(f"note: {note}")
    if json_file:
        b.write_json(json_file, rows, chosen, notes, b.environment(device, jobs))
    if csv_file:
        b.write_csv(csv_file, rows)
    if plot_file:
        b.write_plot(plot_file, rows)
    failures = b.mismatches(rows)
    for line in failures:
        click.echo(line, err=True)
    if failures:
        click.echo(f"flowzip: error: {len(failures)} round trip(s) gave back different pixels", err=True)
        sys.exit(1)


def _recipes_help() -> str:
    from ..training import recipes_dir

    return "Recipes: " + ", ".join(sorted(p.stem for p in recipes_dir().glob("*.json")))


@main.command(cls=_Command, epilog_text=_recipes_help)
@click.argument("config")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Run folder.")
@click.option("--resume", is_flag=True, help="Continue from the run folder's checkpoint.")
@click.option("--device", type=DEVICES, default="auto", show_default=True)
def train(config, out_dir, resume, device):
    """Train the model a JSON CONFIG describes: a file, or the recipe of a shipped model by name
    (e.g. `flowzip train glow-photo-v3 --out runs/g3`).

    A config has "family" ("idf" or "glow"), "model" (the architecture), "train" (steps, batch, lr,
    warmup, crop, init: a model to start from, ...) and "data" ("arrays": .npy/.npy.xz image arrays,
    "folders": photo folders, relative to the working folder); a recipe is an example of each."""
    from ..training import load_config
    from ..training.trainer import TrainConfig
    from ..training.trainer import train as run

    cfg, _ = load_config(config)
    steps = cfg.get("train", {}).get("stop_at") or cfg.get("train", {}).get("steps", TrainConfig.steps)

    def log(line: str):  # evaluations and resumes; the bar shows the rest, log.jsonl has all
        if "held_out" in line or "resumed" in line:
            click.echo(f"\n{line}", err=True)

    if os.environ.get("RANK", "0") != "0":  # under torchrun, rank 0 alone reports
        run(cfg, out_dir, resume=resume, device=str(api.resolve_device(device)), log=lambda line: None)
        return
    with click.progressbar(length=steps, label="training", file=sys.stderr, show_pos=True,
                           item_show_func=lambda status: status) as bar:
        run(cfg, out_dir, resume=resume, device=str(api.resolve_device(device)), log=log,
            progress=lambda step, status: bar.update(1 if step else 0, status))


@main.command()
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="Stable model name, e.g. my-idf-v1.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path),
              help="Folder for the model's files [default: the user model folder, where --model NAME finds it].")
@click.option("--card", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON file with model-card fields to record (data, steps, hardware, measured bpd).")
def export(checkpoint, name, out_dir, card):
    """Export a training CHECKPOINT's EMA weights as a model usable by name."""
    from ..training.trainer import export_checkpoint

    path = export_checkpoint(checkpoint, name, out_dir, json.loads(card.read_text()) if card else None)
    click.echo(f"wrote {path}")


if __name__ == "__main__":
    main()
