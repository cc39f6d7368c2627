"""The ``flowzip`` command line: parse, call the API, print. No model code here."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

import click
import numpy as np

from . import __version__, api, container, stream, zoo
from . import image as image_module
from .errors import FlowzipError
from .image import atomic_write, encode_image, png_size, read_image

DEVICES = click.Choice(["auto", "cpu", "cuda"])


class _Group(click.Group):
    """Turns any error into one line on stderr and exit status 1 (a traceback with --debug)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo("flowzip: interrupted", err=True)
            sys.exit(130)
        except Exception as e:  # noqa: BLE001 - the one place every error becomes a message
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"flowzip: error: {_message(e)}", err=True)
            sys.exit(1)


def _message(e: Exception) -> str:
    if isinstance(e, (FlowzipError, FileExistsError)):
        return str(e)
    if isinstance(e, OSError) and e.filename:
        return f"{e.filename}: {e.strerror or e}"
    return f"{type(e).__name__}: {e} (run with --debug for details)"


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="flowzip")
@click.option("--debug", is_flag=True, help="Show full tracebacks.")
@click.pass_context
def main(ctx, debug):
    """Lossless image compression with normalizing flows."""
    ctx.obj = {"debug": debug}


STREAM = Path("-")


def _outputs(inputs: list[Path], out: str | None, suffix: str) -> list[Path]:
    """Output path per input: beside it with ``suffix``, or as -o says (a file, or a folder).
    ``-`` (standard input) goes to standard output unless -o says otherwise."""
    if STREAM in inputs and len(inputs) > 1:
        raise click.UsageError("'-' (standard input) must be the only input")
    if out is None:
        return [STREAM if p == STREAM else p.with_suffix(suffix) for p in inputs]
    out = Path(out)
    if len(inputs) == 1 and not out.is_dir():
        return [out]
    out.mkdir(parents=True, exist_ok=True)
    outputs = [out / p.with_suffix(suffix).name for p in inputs]
    if len(set(outputs)) < len(outputs):
        raise click.UsageError("several inputs would be written to the same output file")
    return outputs


def _read(src: Path) -> bytes:
    return sys.stdin.buffer.read() if src == STREAM else src.read_bytes()


def _write(dst: Path, data: bytes, force: bool) -> None:
    """Atomically to a file, or to standard output (never to a terminal)."""
    if dst != STREAM:
        atomic_write(dst, data, overwrite=force)
    elif sys.stdout.isatty():
        raise FlowzipError("refusing to write binary data to a terminal (use -o FILE or a pipe)")
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


def _tile_progress(total: int, label: str, show: bool):
    """A progress bar over tiles, for one long image; nothing for a short one."""
    if not show or total < 8 or not sys.stderr.isatty():
        return contextlib.nullcontext(None)
    return click.progressbar(length=total, label=label, file=sys.stderr)


def _run_each(pairs, work, label: str, ctx) -> None:
    """Run ``work(src, dst)`` for each pair; report failures one line each, exit 1 if any."""
    failed = 0
    show = len(pairs) > 1 and sys.stderr.isatty()  # a bar only where a person watches
    bar = click.progressbar(pairs, label=label, file=sys.stderr) if show else contextlib.nullcontext(pairs)
    with bar as items:
        for src, dst in items:
            try:
                work(src, dst)
            except (FlowzipError, OSError) as e:
                if ctx.obj.get("debug"):
                    raise
                failed += 1
                click.echo(f"flowzip: error: {_message(e)}", err=True)
    if failed:
        sys.exit(1)


@main.command()
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path, allow_dash=True))
@click.option("-o", "--output", help="Output file (one image) or folder (several).")
@click.option("-m", "--model", help="Model name (see `flowzip models`) or path of a model's JSON config.")
@click.option("--device", type=DEVICES, default="auto", show_default=True)
@click.option("-f", "--force", is_flag=True, help="Overwrite existing output files.")
@click.option("--tile", type=click.IntRange(16, container.MAX_TILE),
              help=f"Tile side in pixels, a multiple of 16 [default: {api.DEFAULT_TILE}; "
                   f"{api.STREAM_TILE} for bits-back models and archives].")
@click.option("--batch", type=click.IntRange(1, 256),
              help=f"Tiles per network pass [default: {api.DEFAULT_BATCH}; {api.STREAM_BATCH} for bits-back "
                   "models and archives, where it is part of the file].")
@click.option("--verify", is_flag=True, help="Decode the result and check it before writing it.")
@click.option("--no-png", is_flag=True, help="Skip the PNG size comparison.")
@click.pass_context
def compress(ctx, images, output, model, device, force, tile, batch, verify, no_png):
    """Compress IMAGES to .fz files (the inputs are kept). '-' reads standard input and writes
    standard output unless -o is given. Several IMAGES with '-o NAME.fz' make one archive."""
    if tile is not None and tile % 16:
        raise click.BadParameter("must be a multiple of 16", param_hint="--tile")
    if len(images) > 1 and output and output.endswith(".fz") and not Path(output).is_dir():
        _compress_archive(list(images), Path(output), model, device, force, tile, batch, verify, no_png)
        return

    def work(src: Path, dst: Path):
        if dst != STREAM and dst.exists() and not force:
            raise FileExistsError(f"{dst} already exists (use -f to overwrite)")
        raw = _read(src)
        picture = read_image(raw)
        h, w, _ = picture.pixels.shape
        size = tile or (api.STREAM_TILE if api.uses_bits_back(picture, model, tile) else api.DEFAULT_TILE)
        total = api.num_tiles(h, w, size) * len(api.plan_groups(picture.mode, model))
        with _tile_progress(total, f"{src.name}", len(images) == 1) as bar:
            data, report = api.compress_picture(picture, model, tile=tile, batch=batch, device=device,
                                                progress=bar.update if bar else None)
        if verify and not np.array_equal(api.decompress_picture(data, device=device).pixels, picture.pixels):
            raise FlowzipError(f"{src}: verification failed, decoded pixels differ (nothing written)")
        _write(dst, data, force)
        line = (f"{src}: {len(raw)} -> {len(data)} bytes, {report.bpd:.3f} bpd "
                f"(model estimate {report.estimated_bpd:.3f})")
        if not no_png:
            png = png_size(picture)
            line += f", PNG {8 * png / report.subpixels:.3f} bpd ({png} bytes)"
        if verify:
            line += ", verified"
        click.echo(line, err=dst == STREAM)

    _run_each(list(zip(images, _outputs(list(images), output, ".fz"))), work, "compressing", ctx)


def _compress_archive(images: list[Path], dst: Path, model, device, force, tile, batch, verify, no_png):
    if STREAM in images:
        raise click.UsageError("'-' (standard input) cannot go into an archive")
    names = [p.name for p in images]
    if len(set(names)) < len(names):
        raise click.UsageError("an archive cannot hold two images with the same file name")
    if dst.exists() and not force:
        raise FileExistsError(f"{dst} already exists (use -f to overwrite)")
    pictures = []
    for p in images:
        try:
            pictures.append((p.name, read_image(p.read_bytes())))
        except (FlowzipError, OSError) as e:
            raise FlowzipError(f"{p}: {_message(e)} (nothing written)") from None
    data, report = api.compress_archive(pictures, model, tile=tile, batch=batch, device=device)
    if verify:
        decoded = api.decompress_archive(data, device=device)
        if any(not np.array_equal(a.pixels, b.pixels) for (_, a), (_, b) in zip(pictures, decoded)):
            raise FlowzipError(f"{dst}: verification failed, decoded pixels differ (nothing written)")
    _write(dst, data, force)
    line = (f"{len(pictures)} images -> {dst}: {len(data)} bytes, {report.bpd:.3f} bpd "
            f"(model estimate {report.estimated_bpd:.3f})")
    if not no_png:
        png = sum(png_size(p) for _, p in pictures)
        line += f", PNG {8 * png / report.subpixels:.3f} bpd ({png} bytes)"
    if verify:
        line += ", verified"
    click.echo(line)


def _archive_outputs(names: list[str], folder: Path) -> list[Path]:
    """Where each image of an archive goes: its stored file name (without folders) in ``folder``,
    with a lossless suffix; unnamed or clashing images get numbered names."""
    outputs, seen = [], set()
    for i, name in enumerate(names):
        base = Path(name).name
        stem = Path(base).stem if base not in ("", ".", "..") else ""
        suffix = Path(base).suffix.lower()
        if suffix not in image_module.LOSSLESS_FORMATS:
            suffix = ".png"
        path = folder / f"{stem or f'image_{i:05d}'}{suffix}"
        if path in seen:
            path = folder / f"{stem}_{i:05d}{suffix}"
        seen.add(path)
        outputs.append(path)
    return outputs


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, allow_dash=True))
@click.option("-o", "--output", help="Output file (one input; its suffix picks the format) or folder.")
@click.option("--device", type=DEVICES, default="auto", show_default=True)
@click.option("-f", "--force", is_flag=True, help="Overwrite existing output files.")
@click.option("--batch", type=click.IntRange(1, 256), default=api.DEFAULT_BATCH, show_default=True)
@click.option("-m", "--model", help="JSON config of an exported model the file names.")
@click.pass_context
def decompress(ctx, files, output, device, force, batch, model):
    """Restore the exact pixels of .fz FILES (PNG unless -o names another lossless format).
    '-' reads standard input and writes a PNG to standard output unless -o is given."""

    def work(src: Path, dst: Path):
        data = _read(src)
        if container.version_of(data) == container.STREAM_VERSION:
            header, _ = container.read_stream_header(data)
            if len(header.entries) > 1:
                _decompress_archive(src, data, header, output, device, force, model)
                return
            tiles = sum(api.num_tiles(e.height, e.width, header.tile) * len(e.groups) for e in header.entries)
        else:
            header, _ = container.read_header(data)  # a foreign or broken file is reported first
            tiles = header.num_tiles * len(header.groups)
        if dst != STREAM and dst.exists() and not force:
            raise FileExistsError(f"{dst} already exists (use -f to overwrite, or -o)")
        with _tile_progress(tiles, src.name, len(files) == 1) as bar:
            picture = api.decompress_picture(data, batch=batch, device=device, model=model,
                                             progress=bar.update if bar else None)
        _write(dst, encode_image(picture, ".png" if dst == STREAM else dst.suffix), force)
        click.echo(f"{src} -> {dst}: {picture.pixels.shape[1]}x{picture.pixels.shape[0]} {picture.mode}",
                   err=dst == STREAM)

    _run_each(list(zip(files, _outputs(list(files), output, ".png"))), work, "decompressing", ctx)


def _decompress_archive(src: Path, data: bytes, header, output, device, force, model) -> None:
    """Restore every image of an archive into the folder -o names (default: beside the archive)."""
    folder = Path(output) if output else src.with_suffix("")
    if folder.exists() and not folder.is_dir():
        raise FlowzipError(f"{folder} is not a folder: an archive of {len(header.entries)} images "
                           "needs -o FOLDER")
    targets = _archive_outputs([e.name for e in header.entries], folder)
    clashes = [t for t in targets if t.exists()]
    if clashes and not force:
        raise FileExistsError(f"{clashes[0]} already exists (use -f to overwrite)")
    items = api.decompress_archive(data, device=device, model=model)
    folder.mkdir(parents=True, exist_ok=True)
    for (name, picture), target in zip(items, targets):
        atomic_write(target, encode_image(picture, target.suffix), overwrite=force)
    click.echo(f"{src} -> {folder}/: {len(items)} images")


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the header as JSON.")
def info(file, as_json):
    """Print the header of a .fz FILE: its codecs, models and images."""
    data = file.read_bytes()
    if container.version_of(data) == container.STREAM_VERSION:
        _print(_stream_info(file, data), as_json)
        return
    header, start = container.read_header(data)
    fields = {
        "file": str(file), "bytes": len(data), "format_version": container.VERSION,
        "width": header.width, "height": header.height, "mode": header.mode, "bit_depth": header.bit_depth,
        "tile": header.tile, "tiles": header.num_tiles, "header_bytes": start,
        "groups": [{"codec": g.codec, "model": g.model, "weights": g.weights.hex(), "planes": g.planes}
                   for g in header.groups],
        "metadata": {k: f"{len(v)} bytes" for k, v in header.metadata.items()},
        "pixel_crc32": f"{header.pixel_crc:08x}",
        "bpd": round(8 * len(data) / (header.width * header.height * header.channels), 4),
    }
    _print(fields, as_json)


CODEC_NAMES = {"idf": "idf (integer discrete flow, direct ANS)", "glow": "glow (local bits-back ANS)"}


def _stream_info(file: Path, data: bytes) -> dict:
    header, start = container.read_stream_header(data)
    subpixels = sum(e.height * e.width * e.channels for e in header.entries)
    return {
        "file": str(file), "bytes": len(data), "format_version": container.STREAM_VERSION,
        "images": len(header.entries), "tile": header.tile, "batch": header.batch, "header_bytes": start,
        "models": [{"codec": CODEC_NAMES[m.codec], "model": m.name, "weights": m.weights.hex()}
                   for m in header.models],
        "seed_model": None if header.seed is None else header.models[header.seed].name,
        "entries": [{"name": e.name, "width": e.width, "height": e.height, "mode": e.mode,
                     "groups": [{"model": header.models[m].name, "planes": planes} for m, planes in e.groups],
                     "metadata": {k: f"{len(v)} bytes" for k, v in e.metadata.items()},
                     "pixel_crc32": f"{e.pixel_crc:08x}"} for e in header.entries[:1000]],
        "bpd": round(8 * len(data) / subpixels, 4),
    }


def _print(fields: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(fields, indent=2))
        return
    for key, value in fields.items():
        if key == "groups":
            for g in value:
                click.echo(f"group: codec {CODEC_NAMES[g['codec']]}, model {g['model']} "
                           f"(weights {g['weights']}), planes {g['planes']}")
        elif key == "models":
            for m in value:
                click.echo(f"model: {m['model']} (weights {m['weights']}), codec {m['codec']}")
        elif key == "entries":
            for e in value:
                groups = ", ".join(f"{g['model']} {g['planes']}" for g in e["groups"])
                click.echo(f"image: {e['name'] or '(unnamed)'} {e['width']}x{e['height']} {e['mode']}: {groups}")
        else:
            click.echo(f"{key}: {value}")


@main.command()
def models():
    """List the shipped models with their measured bpd."""
    cards = zoo.available()
    if not cards:
        click.echo("no models installed")
        return
    for name, card in cards.items():
        measured = "; ".join(f"{k}: {m['bpd']:.3f} bpd (estimate {m['estimated_bpd']:.3f}, {m['images']} images)"
                             for k, m in card.get("measured", {}).items()) or "not measured"
        default = _integer_default(name) or _bits_back_default(name)
        click.echo(f"{name}{default}: {CODEC_NAMES.get(card['family'], card['family'])}, {card['config'].get('channels')} channel(s), "
                   f"{card.get('size_bytes', 0) / 1e6:.1f} MB; {measured}")


def _integer_default(name: str) -> str:
    """When ``name`` is a default integer flow, say for what."""
    tile = f"{api.STREAM_TILE}x{api.STREAM_TILE}"
    planes = {3: "colour planes", 1: "gray and alpha planes"}
    for channels, photo_model in zoo.PHOTO_INTEGER_DEFAULTS.items():
        if name == photo_model:
            colour = " that no bits-back model codes; seeds their bits-back files" if channels == 3 else ""
            return f" (default for the {planes[channels]} of pictures at least {tile} pixels{colour})"
    for channels, model in zoo.DEFAULTS.items():
        if name == model:
            photo = channels in zoo.PHOTO_INTEGER_DEFAULTS and zoo.installed(zoo.PHOTO_INTEGER_DEFAULTS[channels])
            under = f" of pictures under {api.STREAM_TILE} pixels high or wide" if photo else ""
            return f" (default for {planes[channels]}{under})"
    return ""


def _bits_back_default(name: str) -> str:
    """When ``name`` is a default for colour images that bits-back codes, say which."""
    tile = f"{api.STREAM_TILE}x{api.STREAM_TILE}"
    larger = f"colour images (or archives) of more than {stream.SEED_TILES} tiles of {tile}"
    if name in zoo.PHOTO_DEFAULTS.values():
        return f" (default for {larger}: those at least {tile} pixels)"
    if name in zoo.BITS_BACK_DEFAULTS.values():
        photo = zoo.PHOTO_DEFAULTS and all(map(zoo.installed, zoo.PHOTO_DEFAULTS.values()))
        return f" (default for {larger}{f': those under {api.STREAM_TILE} pixels high or wide' if photo else ''})"
    return ""


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
def bench(paths, codecs, models, device, limit, json_file, csv_file, plot_file, per_image):
    """Compare flowzip with lossless codecs on PATHS (folders, images, .npy/.npy.xz arrays), checking
    every round trip bit for bit."""
    from . import bench as b

    if plot_file:
        b.require_matplotlib()
    chosen, notes = b.make_codecs(_names(codecs), _names(models), device)
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


@main.command()
@click.argument("config", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Run folder.")
@click.option("--resume", is_flag=True, help="Continue from the run folder's checkpoint.")
@click.option("--device", type=DEVICES, default="auto", show_default=True)
def train(config, out_dir, resume, device):
    """Train a model described by a JSON CONFIG (see scripts/configs/)."""
    from .train import TrainConfig
    from .train import train as run

    cfg = json.loads(config.read_text())
    steps = cfg.get("train", {}).get("steps", TrainConfig.steps)

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
@click.option("--name", required=True, help="Stable model name, e.g. idf-rgb-v2.")
@click.option("--out", "out_dir", default="pretrained", show_default=True, type=click.Path(path_type=Path))
@click.option("--card", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON file with model-card fields to record (data, steps, hardware, measured bpd).")
def export(checkpoint, name, out_dir, card):
    """Export a training CHECKPOINT's EMA weights as a release model."""
    from .train import export_checkpoint

    path = export_checkpoint(checkpoint, name, out_dir, json.loads(card.read_text()) if card else None)
    click.echo(f"wrote {path}")


if __name__ == "__main__":
    main()
