"""``flowzip info`` and ``flowzip list``: what .fz files hold, from their headers alone (no model
is loaded, nothing is decoded)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .. import families, zoo
from ..errors import FlowzipError, FormatError
from ..fileformat import container
from .common import name, read, report

LAYOUTS = {container.TILED: "tiled", container.STACKED: "stacked", container.CHUNKED: "chunked",
           container.COMPACT: "compact", container.SEALED: "compact, sealed",
           container.NUMBERED: "compact, sealed, models by number", container.SEALED_CHUNKS: "chunked, sealed"}


def describe(data: bytes) -> dict:
    """What a .fz file's header says, as plain data."""
    header, start = container.parse(data)
    zoo.name_models(header.models)

    def codec(ref):
        try:
            return families.by_id(ref.family).title
        except FormatError:
            return f"unknown codec {ref.family}"

    fields = {"bytes": len(data), "format_version": header.version, "layout": LAYOUTS[header.version],
              "images": len(header.entries), "tile": header.tile, "header_bytes": start}
    if header.version == container.STACKED:
        fields["batch"] = header.batch
        fields["seed_model"] = None if header.seed is None else header.models[header.seed].name
    if header.chunked:
        fields.update(batch=header.batch, coder=header.coder, chunks=len(header.chunks))
    names = [m.name or "(not installed)" for m in header.models]  # a compact file's: by their weights
    fields["models"] = [{"codec": codec(m), "model": name, "weights": m.weights.hex()}
                        for m, name in zip(header.models, names)]
    if len(header.entries) == 1:
        e = header.entries[0]
        fields.update(width=e.width, height=e.height, mode=e.mode)
    fields["entries"] = [{"name": e.name, "width": e.width, "height": e.height, "mode": e.mode,
                          "bit_depth": e.bit_depth,
                          "groups": [{"model": names[m], "planes": planes} for m, planes in e.groups],
                          "metadata": {k: f"{len(v)} bytes" for k, v in e.metadata.items()},
                          "pixel_crc32": "sealed in the stream" if e.pixel_crc is None else f"{e.pixel_crc:08x}"}
                         for e in header.entries[:1000]]
    fields["bpd"] = round(8 * len(data) / header.subpixels, 4)
    return fields


def catalog(data: bytes) -> list[dict]:
    """Per image of .fz bytes: name, size, mode and the chunks holding it."""
    header = container.parse(data)[0]
    return [{"name": e.name, "width": e.width, "height": e.height, "mode": e.mode, "chunks": c}
            for e, c in zip(header.entries, container.holders(header))]


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


def _each_file(files, describe_file, show, as_json: bool) -> None:
    """``describe_file(bytes)`` of each file, printed by ``show(fields, first)`` or as one JSON
    list; a file that fails is named in one line, the others go on, and the exit status is then 1."""
    out, failed = [], 0
    for src in files:
        try:
            out.append({"file": name(src), **describe_file(read(src))})
        except (FlowzipError, OSError) as e:
            failed += 1
            report(src, e)
            continue
        if not as_json:
            show(out[-1], len(out) == 1)
    if as_json:
        click.echo(json.dumps(out, indent=2))
    if failed:
        sys.exit(1)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="Print the headers as JSON (a list).")
def info(files, as_json):
    """Print the header of each .fz FILE: its layout, models and images."""

    def show(fields: dict, first: bool):
        if not first:
            click.echo("")
        _print_info(fields)

    _each_file(files, describe, show, as_json)


@click.command(name="list")
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

    _each_file(files, lambda data: {"images": catalog(data)}, show, as_json)


COMMANDS = [info, list_images]
