"""The ``flowzip`` command line: parse, call the API, print. No model code here."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import click
import numpy as np

from . import __version__, api, container, zoo
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


def _outputs(inputs: list[Path], out: str | None, suffix: str) -> list[Path]:
    """Output path per input: beside it with ``suffix``, or as -o says (a file, or a folder)."""
    if out is None:
        return [p.with_suffix(suffix) for p in inputs]
    out = Path(out)
    if len(inputs) == 1 and not out.is_dir():
        return [out]
    out.mkdir(parents=True, exist_ok=True)
    return [out / p.with_suffix(suffix).name for p in inputs]


def _tile_progress(total: int, label: str, show: bool):
    """A progress bar over tiles, for one long image; nothing for a short one."""
    if not show or total < 8:
        return contextlib.nullcontext(None)
    return click.progressbar(length=total, label=label, file=sys.stderr)


def _run_each(pairs, work, label: str, ctx) -> None:
    """Run ``work(src, dst)`` for each pair; report failures one line each, exit 1 if any."""
    failed = 0
    bar = click.progressbar(pairs, label=label, file=sys.stderr) if len(pairs) > 1 else contextlib.nullcontext(pairs)
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
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", help="Output file (one image) or folder (several).")
@click.option("-m", "--model", help="Model name (see `flowzip models`) or path of a model's JSON config.")
@click.option("--device", type=DEVICES, default="auto", show_default=True)
@click.option("-f", "--force", is_flag=True, help="Overwrite existing output files.")
@click.option("--tile", type=click.IntRange(16, container.MAX_TILE), default=api.DEFAULT_TILE, show_default=True,
              help="Tile side in pixels (a multiple of 16).")
@click.option("--batch", type=click.IntRange(1, 256), default=api.DEFAULT_BATCH, show_default=True,
              help="Tiles per network pass (does not change the output).")
@click.option("--verify", is_flag=True, help="Decode the result and check it before writing it.")
@click.option("--no-png", is_flag=True, help="Skip the PNG size comparison.")
@click.pass_context
def compress(ctx, images, output, model, device, force, tile, batch, verify, no_png):
    """Compress IMAGES to .fz files (the inputs are kept)."""
    if tile % 16:
        raise click.BadParameter("must be a multiple of 16", param_hint="--tile")

    def work(src: Path, dst: Path):
        if dst.exists() and not force:
            raise FileExistsError(f"{dst} already exists (use -f to overwrite)")
        picture = read_image(src)
        h, w, _ = picture.pixels.shape
        total = api.num_tiles(h, w, tile) * len(api.plan_groups(picture.mode, model))
        with _tile_progress(total, f"{src.name}", len(images) == 1) as bar:
            data, report = api.compress_picture(picture, model, tile=tile, batch=batch, device=device,
                                                progress=bar.update if bar else None)
        if verify and not np.array_equal(api.decompress_picture(data, device=device).pixels, picture.pixels):
            raise FlowzipError(f"{src}: verification failed, decoded pixels differ (nothing written)")
        atomic_write(dst, data, overwrite=force)
        line = (f"{src}: {src.stat().st_size} -> {len(data)} bytes, {report.bpd:.3f} bpd "
                f"(model estimate {report.estimated_bpd:.3f})")
        if not no_png:
            png = png_size(picture)
            line += f", PNG {8 * png / report.subpixels:.3f} bpd ({png} bytes)"
        if verify:
            line += ", verified"
        click.echo(line)

    _run_each(list(zip(images, _outputs(list(images), output, ".fz"))), work, "compressing", ctx)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", help="Output file (one input; its suffix picks the format) or folder.")
@click.option("--device", type=DEVICES, default="auto", show_default=True)
@click.option("-f", "--force", is_flag=True, help="Overwrite existing output files.")
@click.option("--batch", type=click.IntRange(1, 256), default=api.DEFAULT_BATCH, show_default=True)
@click.option("-m", "--model", help="JSON config of an exported model the file names.")
@click.pass_context
def decompress(ctx, files, output, device, force, batch, model):
    """Restore the exact pixels of .fz FILES (PNG unless -o names another lossless format)."""

    def work(src: Path, dst: Path):
        data = src.read_bytes()
        header, _ = container.read_header(data)  # a foreign or broken file is reported first
        if dst.exists() and not force:
            raise FileExistsError(f"{dst} already exists (use -f to overwrite, or -o)")
        with _tile_progress(header.num_tiles * len(header.groups), src.name, len(files) == 1) as bar:
            picture = api.decompress_picture(data, batch=batch, device=device, model=model,
                                             progress=bar.update if bar else None)
        atomic_write(dst, encode_image(picture, dst.suffix), overwrite=force)
        click.echo(f"{src} -> {dst}: {picture.pixels.shape[1]}x{picture.pixels.shape[0]} {picture.mode}")

    _run_each(list(zip(files, _outputs(list(files), output, ".png"))), work, "decompressing", ctx)


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the header as JSON.")
def info(file, as_json):
    """Print the header of a .fz FILE."""
    data = file.read_bytes()
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
    if as_json:
        click.echo(json.dumps(fields, indent=2))
        return
    for key, value in fields.items():
        if key == "groups":
            for g in value:
                click.echo(f"group: codec {g['codec']}, model {g['model']} (weights {g['weights']}), "
                           f"planes {g['planes']}")
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
        measured = ", ".join(f"{k} {v}" for k, v in card.get("measured", {}).items()) or "not measured"
        default = " (default)" if name in zoo.DEFAULTS.values() else ""
        click.echo(f"{name}{default}: {card['family']}, {card['config'].get('channels')} channel(s), "
                   f"{card.get('size_bytes', 0) / 1e6:.1f} MB; {measured}")


@main.command()
@click.argument("config", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Run folder.")
@click.option("--resume", is_flag=True, help="Continue from the run folder's checkpoint.")
@click.option("--device", type=DEVICES, default="auto", show_default=True)
def train(config, out_dir, resume, device):
    """Train a model described by a JSON CONFIG (see scripts/configs/)."""
    from .train import train as run

    run(json.loads(config.read_text()), out_dir, resume=resume, device=str(api.resolve_device(device)),
        log=lambda line: click.echo(line, err=True))


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
