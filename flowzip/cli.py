"""The ``flowzip`` command line: parse, plan outputs, call the API, print. No model code here."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

import click
import numpy as np

from . import __version__, api, families, policy, zoo
from .errors import FlowzipError
from .fileformat import container
from .files import atomic_write
from .image import LOSSLESS_FORMATS, encode_image, png_size, read_image

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
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except BrokenPipeError:
            _silence_stdout()
            sys.exit(SIGPIPE_EXIT)
        except KeyboardInterrupt:
            click.echo("flowzip: interrupted", err=True)
            sys.exit(130)
        except Exception as e:  # noqa: BLE001 - the one place every error becomes a message
            if ctx.meta.get("flowzip.debug"):
                raise
            click.echo(f"flowzip: error: {_message(e)}", err=True)
            sys.exit(1)


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


def _refuse_clashes(pairs: list[tuple[Path, Path]]) -> None:
    """Two inputs that would write the same output are refused before any work."""
    seen: dict[Path, Path] = {}
    for src, dst in pairs:
        if dst != STDIO and dst in seen:
            raise UsageError(f"{seen[dst]} and {src} would both be written to {dst}; use -o FOLDER/ "
                                   "or compress them into an archive (-o NAME.fz)")
        seen[dst] = src


def _compress_outputs(inputs: list[Path], out: str | None) -> list[Path]:
    """Output per input: beside it as .fz, or as -o says (one input: a file; several: a folder)."""
    if out is None:
        pairs = [(p, STDIO if p == STDIO else p.with_suffix(".fz")) for p in inputs]
    elif len(inputs) == 1 and not Path(out).is_dir():
        pairs = [(inputs[0], Path(out))]
    else:
        if not _is_folder(out):
            raise UsageError(f"several inputs need -o FOLDER/ (an existing folder, or a name ending in /) "
                                   f"or -o ARCHIVE.fz (one archive), not -o {out}")
        pairs = [(p, Path(out) / p.with_suffix(".fz").name) for p in inputs]
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


def _run_each(pairs, work, label: str, quiet: bool) -> None:
    """Run ``work(src, dst)`` for each pair; report each failure in one line that names its input,
    and exit 1 if any failed."""
    failed = 0
    show = len(pairs) > 1 and sys.stderr.isatty() and not quiet
    bar = click.progressbar(pairs, label=label, file=sys.stderr) if show else contextlib.nullcontext(pairs)
    with bar as items:
        for src, dst in items:
            try:
                work(src, dst)
            except (FlowzipError, OSError) as e:
                failed += 1
                _report(src, e)
    if failed:
        sys.exit(1)


def _read(src: Path) -> bytes:
    return sys.stdin.buffer.read() if src == STDIO else src.read_bytes()


def _write(dst: Path, data: bytes, force: bool) -> None:
    """Atomically to a file, or to standard output (never to a terminal)."""
    if dst != STDIO:
        atomic_write(dst, data, overwrite=force)
    elif sys.stdout.isatty():
        raise FlowzipError("refusing to write binary data to a terminal (use -o FILE or a pipe)")
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


def _refuse_existing(dst: Path, force: bool) -> None:
    if dst != STDIO and dst.exists() and not force:
        raise FileExistsError(f"{dst} already exists (use -f to overwrite)")


def _verify(data: bytes, pictures, device, quiet: bool, label: str) -> None:
    with _progress(api.progress_units(api.inspect(data)), f"verifying {label}", quiet) as bar:
        decoded = api.decode(data, device=device, progress=_update(bar))
    if any(not np.array_equal(a.pixels, b.pixels) for (_, a), (_, b) in zip(pictures, decoded)):
        raise FlowzipError(f"{label}: verification failed, decoded pixels differ (nothing written)")


def _result(data: bytes, report: api.Report, pictures, no_png: bool, verified: bool) -> str:
    """What a compressed file measured: bytes, bpd, the estimate, PNG's bpd, verified."""
    line = f"{len(data)} bytes, {report.bpd:.3f} bpd"
    if report.estimated_bpd is not None:
        line += f" (model estimate {report.estimated_bpd:.3f})"
    if not no_png:
        png = sum(png_size(p) for _, p in pictures)
        line += f", PNG {8 * png / report.subpixels:.3f} bpd ({png} bytes)"
    return line + (", verified" if verified else "")


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
                        help=f"1 (fastest) .. 9 (smallest), also -1 .. -9 [default: {policy.DEFAULT_EFFORT}; "
                             "7 and up adapt the models to the image: slower to encode].")(command)


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
@click.option("--verify", is_flag=True, help="Decode the result and check it before writing it.")
@click.option("--no-png", is_flag=True, help="Skip the PNG size comparison.")
@click.option("--estimate", is_flag=True, help="Also print the model's estimate of the size (slower).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@_effort_options
def compress(images, output, model, device, force, tile, batch, verify, no_png, estimate, quiet, effort, effort_flag):
    """Compress IMAGES to .fz files (the inputs are kept). '-' reads standard input and writes
    standard output unless -o is given. Several IMAGES with '-o NAME.fz' make one archive."""
    effort = effort or effort_flag
    if tile is not None and tile % 16:
        raise click.BadParameter("must be a multiple of 16", param_hint="--tile")
    images = list(images)
    if len(images) > 1 and output and output.endswith(".fz") and not Path(output).is_dir():
        _compress_archive(images, Path(output), model, device, force, tile, batch, verify, no_png, estimate, quiet,
                          effort)
        return
    if len(images) > 1 and STDIO in images:
        raise UsageError("'-' (standard input) must be the only input")
    outputs = _compress_outputs(images, output)
    if len(images) > 1 and output:
        Path(output).mkdir(parents=True, exist_ok=True)

    def work(src: Path, dst: Path):
        _refuse_existing(dst, force)
        raw = _read(src)
        picture = read_image(raw, name="")
        pictures = [("", picture)]
        units = api.plan([picture], model, tile=tile, batch=batch, effort=effort).units
        with _progress(units, _name(src), quiet or len(images) > 1) as bar:
            data, report = api.encode(pictures, model, tile=tile, batch=batch, effort=effort, device=device,
                                      progress=_update(bar), estimate=estimate)
        if verify:
            _verify(data, pictures, device, quiet or len(images) > 1, _name(src))
        _write(dst, data, force)
        _say(f"{_name(src)}: {len(raw)} -> {_result(data, report, pictures, no_png, verify)}", quiet, err=dst == STDIO)

    _run_each(list(zip(images, outputs)), work, "compressing", quiet)


def _compress_archive(images: list[Path], dst: Path, model, device, force, tile, batch, verify, no_png, estimate,
                      quiet, effort):
    if STDIO in images:
        raise UsageError("'-' (standard input) cannot go into an archive")
    names = [p.name for p in images]
    if len(set(names)) < len(names):
        raise UsageError("an archive cannot hold two images with the same file name")
    _refuse_existing(dst, force)
    pictures = []
    for p in images:
        try:
            pictures.append((p.name, read_image(p)))
        except (FlowzipError, OSError) as e:
            raise FlowzipError(f"{_message(e)} (nothing written)") from None
    units = api.plan([p for _, p in pictures], model, archive=True, tile=tile, batch=batch, effort=effort).units
    with _progress(units, dst.name, quiet) as bar:
        data, report = api.encode(pictures, model, archive=True, tile=tile, batch=batch, effort=effort,
                                  device=device, progress=_update(bar), estimate=estimate)
    if verify:
        _verify(data, pictures, device, quiet, str(dst))
    _write(dst, data, force)
    _say(f"{len(pictures)} images -> {dst}: {_result(data, report, pictures, no_png, verify)}", quiet)


def _archive_outputs(names: list[str], folder: Path) -> list[Path]:
    """Where each image of an archive goes: its stored file name (without folders) in ``folder``,
    with a lossless suffix; unnamed or clashing images get numbered names."""
    outputs, seen = [], set()
    for i, name in enumerate(names):
        base = Path(name).name
        stem = Path(base).stem if base not in ("", ".", "..") else ""
        suffix = Path(base).suffix.lower()
        if suffix not in LOSSLESS_FORMATS:
            suffix = ".png"
        path = folder / f"{stem or f'image_{i:05d}'}{suffix}"
        if path in seen:
            path = folder / f"{stem}_{i:05d}{suffix}"
        seen.add(path)
        outputs.append(path)
    return outputs


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, allow_dash=True))
@click.option("-o", "--output", help="Output file (one image; its suffix picks the format) or folder (FOLDER/).")
@click.option("--device", type=DEVICES, default="auto", show_default=True)
@click.option("-f", "--force", is_flag=True, help="Overwrite existing output files.")
@click.option("--batch", type=click.IntRange(1, container.MAX_BATCH), default=policy.ACTIVE.tiled_batch,
              show_default=True, help="Tiles per network pass (tiled files).")
@click.option("-m", "--model", help="JSON card of an exported model the file names.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
def decompress(files, output, device, force, batch, model, quiet):
    """Restore the exact pixels of .fz FILES (PNG unless -o names another lossless format).
    An archive is restored into a folder (-o FOLDER, by default named after it). '-' reads standard
    input and writes a PNG to standard output unless -o is given."""
    files = list(files)
    if len(files) > 1 and STDIO in files:
        raise UsageError("'-' (standard input) must be the only input")
    if len(files) > 1 and output and not _is_folder(output):
        raise UsageError(f"several inputs need -o FOLDER/ (an existing folder, or a name ending in /), "
                               f"not -o {output}")
    # Read every header first: the output of each file (an image or a folder) depends on it, and a
    # foreign or broken file, a clash or an unwritable format is reported before any decoding.
    jobs, errors = [], 0
    for src in files:
        try:
            data = _read(src)
            header = api.inspect(data)
            jobs.append((src, data, header, _decompress_output(src, header, output, len(files))))
        except (FlowzipError, OSError) as e:
            errors += 1
            _report(src, e)
    _refuse_clashes([(src, dst) for src, _, _, dst in jobs])
    if len(files) > 1 and output and jobs:
        Path(output).mkdir(parents=True, exist_ok=True)
    by_src = {src: (data, header) for src, data, header, _ in jobs}

    def work(src: Path, dst: Path):
        data, header = by_src[src]
        if len(header.entries) > 1:
            _decompress_archive(src, data, header, dst, device, force, model, quiet)
            return
        _check_writable_format(dst)
        _refuse_existing(dst, force)
        with _progress(api.progress_units(header), _name(src), quiet or len(files) > 1) as bar:
            picture = api.decompress_picture(data, batch=batch, device=device, model=model, progress=_update(bar))
        _write(dst, encode_image(picture, ".png" if dst == STDIO else dst.suffix), force)
        _say(f"{_name(src)} -> {'<stdout>' if dst == STDIO else dst}: "
             f"{picture.pixels.shape[1]}x{picture.pixels.shape[0]} {picture.mode}", quiet, err=dst == STDIO)

    try:
        _run_each([(src, dst) for src, _, _, dst in jobs], work, "decompressing", quiet)
    finally:
        if errors:
            sys.exit(1)


def _decompress_output(src: Path, header: container.Header, output: str | None, inputs: int) -> Path:
    """Where one file goes: an image file, or for an archive a folder."""
    archive = len(header.entries) > 1
    if archive and src == STDIO and output is None:
        raise FlowzipError(f"this is an archive of {len(header.entries)} images: give -o FOLDER to restore "
                           "it from standard input")
    if output is None:
        return STDIO if src == STDIO else src.with_suffix("" if archive else ".png")
    if inputs == 1 and not (archive or Path(output).is_dir()):
        return Path(output)
    if inputs == 1 and archive:
        if Path(output).exists() and not Path(output).is_dir():
            raise FlowzipError(f"{output} is not a folder: an archive of {len(header.entries)} images "
                               "needs -o FOLDER")
        return Path(output)
    return Path(output) / src.with_suffix("" if archive else ".png").name


def _decompress_archive(src: Path, data: bytes, header, folder: Path, device, force, model, quiet) -> None:
    """Restore every image of an archive into ``folder``."""
    targets = _archive_outputs([e.name for e in header.entries], folder)
    clashes = [t for t in targets if t.exists()]
    if clashes and not force:
        raise FileExistsError(f"{clashes[0]} already exists (use -f to overwrite)")
    with _progress(api.progress_units(header), _name(src), quiet) as bar:
        items = api.decode(data, device=device, model=model, progress=_update(bar))
    folder.mkdir(parents=True, exist_ok=True)
    for (_, picture), target in zip(items, targets):
        atomic_write(target, encode_image(picture, target.suffix), overwrite=force)
    _say(f"{_name(src)} -> {folder}/: {len(items)} images", quiet)


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
    out, failed = [], 0
    for src in files:
        try:
            out.append({"file": _name(src), **api.describe(_read(src))})
        except (FlowzipError, OSError) as e:
            failed += 1
            _report(src, e)
            continue
        if not as_json:
            if len(out) > 1:
                click.echo("")
            _print_info(out[-1])
    if as_json:
        click.echo(json.dumps(out, indent=2))
    if failed:
        sys.exit(1)


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
        click.echo(f"{name}{role}: {kind}, {card.get('config', {}).get('channels')} channel(s), "
                   f"{card.get('size_bytes', 0) / 1e6:.1f} MB{where}; {measured}")
    click.echo(f"user model folder: {zoo.user_dir()} (${zoo.MODEL_DIR_VARIABLE} overrides it)")
    click.echo("effort levels (flowzip compress -e N or -N): " +
               "; ".join(f"{n}: {e.words}" for n, e in policy.EFFORTS.items()))


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
def bench(paths, codecs, models, device, limit, json_file, csv_file, plot_file, per_image, estimate):
    """Compare flowzip with lossless codecs on PATHS (folders, images, .npy/.npy.xz arrays), checking
    every round trip bit for bit."""
    from . import bench as b

    if plot_file:
        b.require_matplotlib()
    chosen, notes = b.make_codecs(_names(codecs), _names(models), device, estimate)
    if not chosen:
        raise FlowzipError("none of the chosen codecs is available here: " + "; ".join(notes))
    images = b.load_images(paths, limit)
    with click.progressbar(length=len(images) * len(chosen), label="benchmarking", file=sys.stderr) as bar:
        rows = b.run_bench(images, chosen, progress=bar.update, notes=notes)
    click.echo(b.format_table(rows, per_image))
    for note in notes:
        click.echo(f"note: {note}")
    if json_file:
        b.write_json(json_file, rows, chosen, notes, b.environment(device))
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
    from .training import recipes_dir

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
    from .training import load_config
    from .training.trainer import TrainConfig
    from .training.trainer import train as run

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
    from .training.trainer import export_checkpoint

    path = export_checkpoint(checkpoint, name, out_dir, json.loads(card.read_text()) if card else None)
    click.echo(f"wrote {path}")


if __name__ == "__main__":
    main()
