"""``flowzip bench``: flowzip against lossless codecs (``flowzip.bench``), every round trip checked."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import FlowzipError
from .common import DEVICES, Progress, jobs_option, recursive_option


def _names(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@click.command()
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
@recursive_option("images")
@jobs_option("images are benchmarked (speeds are then each worker's, with the others running)")
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
    with Progress("benchmarking", unit="coding") as progress:
        progress.start(len(images) * len(chosen))
        rows = b.run_bench(images, chosen, progress=progress, notes=notes, jobs=jobs)
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


COMMANDS = [bench]
