"""What the commands share: where outputs go, how progress and errors are said, and the options
several commands take. One line per error, naming the file; progress on stderr."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NamedTuple

import click

from ..errors import FlowzipError, plural
from ..files import atomic_write
from ..images.image import image_files
from ..pipelines import workers

DEVICES = click.Choice(["auto", "cpu", "cuda"])
STDIO = Path("-")  # standard input or output


class UsageError(click.UsageError):
    """A wrong command line: one line on stderr, exit status 2."""

    def show(self, file=None) -> None:
        click.echo(f"flowzip: error: {self.format_message()}", err=True)


def message(e: Exception) -> str:
    """An error as one line for a user."""
    if isinstance(e, (FlowzipError, FileExistsError)):
        text = str(e)
    elif isinstance(e, OSError) and e.filename:
        text = f"{e.filename}: {e.strerror or e}"
    else:
        text = f"{type(e).__name__}: {e} (run with --debug for details)"
    return " ".join(text.split())  # one line, whatever a library put in it


def debug() -> bool:
    return bool(click.get_current_context().meta.get("flowzip.debug"))


def name(src: Path) -> str:
    return "<stdin>" if src == STDIO else str(src)


def say(line: str, quiet: bool, err: bool = False) -> None:
    if not quiet:
        click.echo(line, err=err)


def report(src: Path, e: Exception) -> None:
    """One error line that names the input it concerns (re-raised with --debug)."""
    if debug():
        raise e
    text = message(e)
    if not text.startswith(name(src)):
        text = f"{name(src)}: {text}"
    click.echo(f"flowzip: error: {text}", err=True)


# --- progress ---------------------------------------------------------------------------------

class Progress:
    """Progress of one piece of work on stderr, for work of at least ``LONG`` steps: a bar where a
    person watches, else a line at each quarter, so that a log shows the work going on; and a line
    for each stage of the work (the slow ones: ``api.encode`` names them at efforts above the
    default). Nothing when ``quiet``. Called with the number of steps done; ``start(total)`` once
    the work is planned, ``stage(words)`` as it moves on to another part of it."""

    LONG = 8

    def __init__(self, label: str, quiet: bool = False, unit: str = "tile"):
        self.label, self.quiet, self.unit = label, quiet, unit
        self.tty = sys.stderr.isatty()
        self.bar, self.total, self.done, self.said = None, 0, 0, 0

    def start(self, total: int) -> None:
        self.total, self.done, self.said = total, 0, 0
        if self.quiet:
            return
        if self.tty and total >= self.LONG:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        elif not self.tty and total >= self.LONG:
            self._line(f"{plural(total, self.unit)} to go")

    def stage(self, words: str) -> None:
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.label = f"{self.label}: {words}"
        elif not self.tty:
            self._line(words)

    def __call__(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif not self.tty and not self.quiet and self.total >= self.LONG:
            quarter = min(4, 4 * self.done // self.total)
            if quarter > self.said:
                self.said = quarter
                self._line(f"{25 * quarter} % of {plural(self.total, self.unit)}")

    def _line(self, words: str) -> None:
        click.echo(f"flowzip: {self.label}: {words}", err=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --- inputs and outputs -----------------------------------------------------------------------

class Source(NamedTuple):
    """An input file and its name: the file name, or its path below a folder given with -r."""

    path: Path
    name: str


def is_folder(out: str) -> bool:
    return Path(out).is_dir() or out.endswith(("/", os.sep))


def sources(paths: list[Path], recursive: bool, suffixes) -> tuple[list[Source], list[tuple[Path, str]]]:
    """The input files (folders opened with ``recursive``: the files below them whose suffix is in
    ``suffixes``, named by their relative path), and (path, problem) for inputs skipped."""
    found_sources, problems = [], []
    for path in paths:
        if path == STDIO or not path.is_dir():
            found_sources.append(Source(path, path.name))
        elif not recursive:
            problems.append((path, "is a directory (use -r for the files in it)"))
        else:
            found = image_files(path, recursive=True, suffixes=suffixes)
            if not found:
                problems.append((path, f"no {'/'.join(sorted(suffixes))} files in this folder"))
            found_sources += [Source(f, f.relative_to(path).as_posix()) for f in found]
    return found_sources, problems


def refuse_clashes(pairs: list[tuple[Path, Path]]) -> None:
    """Two inputs that would write the same output are refused before any work."""
    seen: dict[Path, Path] = {}
    for src, dst in pairs:
        if dst != STDIO and dst in seen:
            raise UsageError(f"{seen[dst]} and {src} would both be written to {dst}; use -o FOLDER/ "
                             "or compress them into an archive (-o NAME.fz)")
        seen[dst] = src


def outputs(found: list[Source], out: str | None, suffix: str, several: bool) -> list[Path]:
    """Output per input: beside it with ``suffix``, or as -o says (one input: a file; several: a
    folder, in which inputs from folders keep their relative paths)."""
    if out is None:
        pairs = [(s.path, STDIO if s.path == STDIO else s.path.with_suffix(suffix)) for s in found]
    elif not several and not Path(out).is_dir():
        pairs = [(found[0].path, Path(out))]
    else:
        if not is_folder(out):
            raise UsageError(f"several inputs need -o FOLDER/ (an existing folder, or a name ending in /) "
                             f"{'or -o ARCHIVE.fz (one archive), ' if suffix == '.fz' else ''}not -o {out}")
        pairs = [(s.path, Path(out) / Path(s.name).with_suffix(suffix)) for s in found]
    refuse_clashes(pairs)
    return [dst for _, dst in pairs]


def check_folder(dst: Path) -> None:
    """An output's folder must exist: said before any work, not after it."""
    if dst != STDIO:
        folder = dst.parent if str(dst.parent) else Path(".")
        if not folder.is_dir():
            raise FlowzipError(f"cannot write {dst}: folder {folder} does not exist")


def refuse_existing(dst: Path, force: bool) -> None:
    if dst != STDIO and dst.exists() and not force:
        raise FileExistsError(f"{dst} already exists (use -f to overwrite)")


def read(src: Path, what: str = "a .fz file") -> bytes:
    """A file's bytes, or standard input's (never from a terminal: nobody types a file)."""
    if src != STDIO:
        return src.read_bytes()
    if sys.stdin.isatty():
        raise FlowzipError(f"refusing to read {what} from a terminal (pipe one in, or give a file)")
    return sys.stdin.buffer.read()


def write(dst: Path, data: bytes, force: bool, folders: bool = False) -> None:
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


def run_all(pairs: list[tuple[Path, Path]], compute, tasks: list[tuple], finish, label: str, quiet: bool,
            jobs: int, fail_fast: bool, failed: int = 0) -> None:
    """Per pair ``compute(*task)`` (in ``jobs`` worker processes; one pair here, its task using
    the workers), then ``finish(src, dst, result)`` here, which writes; each failure is one line
    naming its input, and the others go on unless ``fail_fast``. Exits 1 if anything failed
    (``failed``: problems found before)."""
    progress = Progress(label, quiet or len(pairs) < 2, unit="file")
    progress.start(len(pairs))
    with progress:
        for i, result, error in workers.imap(compute, tasks, jobs if len(pairs) > 1 else 1, fail_fast=fail_fast):
            src, dst = pairs[i]
            try:
                if error is not None:
                    raise error
                finish(src, dst, result)
            except (FlowzipError, OSError) as e:
                failed += 1
                report(src, e)
                if fail_fast:
                    break
            progress(1)
    if failed:
        sys.exit(1)


# --- options ----------------------------------------------------------------------------------

class SubPixels(click.ParamType):
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


def jobs_option(what: str):
    return click.option("-j", "--jobs", type=click.IntRange(0),
                        help=f"Worker processes of one thread each: {what} side by side (0: one per core) "
                             "[default: this process alone].")


def fail_fast_option():
    return click.option("--fail-fast", is_flag=True, help="Stop at the first input that fails (by default a "
                        "failing input is reported and the others go on).")


def recursive_option(what: str):
    return click.option("-r", "--recursive", is_flag=True, help=f"Take the {what} in folders given, and below "
                        "them, keeping their relative paths.")


def quiet_option():
    return click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")


class Command(click.Command):
    """A command whose epilog is made when help is shown (it may need to look at the models)."""

    def __init__(self, *args, epilog_text=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.epilog_text = epilog_text

    def format_epilog(self, ctx, formatter):
        if self.epilog_text:
            self.epilog = self.epilog_text()
        super().format_epilog(ctx, formatter)


def announce_compiling(quiet: bool) -> None:
    """Say on stderr that the kernels compile, which takes a minute or more without a word
    otherwise: on the first run after an install (nothing compiled yet) up front, and later as
    each further group of kernels built ahead of time starts (``aot.announce``)."""
    from .. import aot, jit

    if quiet:
        return
    if jit.cache_is_cold():
        click.echo("flowzip: compiling its kernels for this machine (first run only, one to three minutes)", err=True)
    else:
        aot.announce = lambda group: click.echo(
            f"flowzip: compiling its {group} kernels for this machine (once, about a minute)", err=True)
