"""``flowzip cluster``: a large collection compressed on a Dask cluster (``datasets.cluster``)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import plural
from ..fileformat import container
from ..pipelines.workers import cpu_count
from .common import SubPixels, quiet_option, say


@click.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder: shard-NNNNN.fz archives, plan.json and manifest.json.")
@click.option("--scheduler", metavar="ADDRESS", help="A running Dask scheduler, e.g. tcp://HEAD:8786 [default: "
              "start a cluster of --workers processes here].")
@click.option("--workers", type=click.IntRange(1), default=cpu_count(), show_default="one per core",
              help="Worker processes of the cluster started here.")
@click.option("--shard-images", type=click.IntRange(1), default=1000, show_default=True,
              help="Images per shard (one chunked archive).")
@click.option("-m", "--model", help="Model name or path of a model's JSON card (as for compress).")
@click.option("--chunk", type=SubPixels(), help="Sub-pixels per chunk (as for compress).")
@click.option("--tile", type=click.IntRange(16, container.MAX_TILE), help="As for compress.")
@click.option("--batch", type=click.IntRange(1, container.MAX_BATCH), help="As for compress.")
@quiet_option()
def cluster(inputs, output, scheduler, workers, shard_images, model, chunk, tile, batch, quiet):
    """Compress a large collection on a Dask cluster (pip install "flowzip[cluster]"): INPUTS are
    files, folders and quoted globs ('data/**/*.png'); shards of images become chunked archives,
    listed in OUTPUT/manifest.json. Run the same command again to resume: finished shards are
    skipped."""
    from ..datasets import cluster as engine

    def shard_done(summary: dict):
        say(f"{output / summary['file']}: {plural(summary['images'], 'image')}, {summary['bpd']} bpd", quiet, err=True)

    result = engine.compress_collection(list(inputs), output, scheduler=scheduler, workers=workers,
                                        shard_images=shard_images, model=model, chunk=chunk, tile=tile, batch=batch,
                                        progress=shard_done)
    for shard, error in result["failed"].items():
        click.echo(f"flowzip: error: {output / shard}: {error}", err=True)
    say(f"{plural(result['images'], 'image')} in {len(result['shards'])} of {plural(result['shards_planned'], 'shard')} "
        f"({result['skipped']} already done) -> {output}/: {result['bytes']} bytes, {result['bpd']} bpd", quiet)
    if result["failed"]:
        sys.exit(1)


COMMANDS = [cluster]
