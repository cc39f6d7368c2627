"""``flowzip models``: the installed models, what each is the default for, and the effort levels."""

from __future__ import annotations

import click

from .. import families, policy, zoo
from ..errors import FlowzipError


def _result(key: str, m: dict) -> str:
    """One measured result of a card, in words."""
    notes = ([f"estimate {m['estimated_bpd']:.3f}"] if m.get("estimated_bpd") is not None else []) + [
        f"{m.get('images')} images"] + ([f"as one archive {m['archive_bpd']:.3f}"] if m.get("archive_bpd") else [])
    return f"{key}: {m['bpd']:.3f} bpd ({', '.join(notes)})"


@click.command()
def models():
    """List the installed models (shipped, then the user model folder) with their measured bpd."""
    cards = zoo.available()
    if not cards:
        click.echo("no models installed")
    roles = policy.DEFAULT.roles(zoo.installed_names())
    for name, card in cards.items():
        measured = "; ".join(_result(k, m) for k, m in card.get("measured", {}).items()) or "not measured"
        try:
            kind = families.by_name(card["family"]).title
        except FlowzipError:
            kind = f"unknown family {card.get('family')!r}"
        role = f" (default for {roles[name]})" if name in roles else ""
        where = ", user model" if card["installed_in"] == "user" else ""
        size = ("built in, any channels and depth" if card.get("builtin") else
                f"{card.get('config', {}).get('channels')} channel(s), {card.get('size_bytes', 0) / 1e6:.1f} MB, "
                f"weights {str(card.get('sha256', ''))[:8]}")  # what a file records of the model
        measured = "" if card.get("builtin") and not card.get("measured") else f"; {measured}"
        click.echo(f"{name}{role}: {kind}, {size}{where}{measured}")
    click.echo(f"user model folder: {zoo.user_dir()} (${zoo.MODEL_DIR_VARIABLE} overrides it)")
    click.echo("effort levels (flowzip compress -e N or -N): " +
               "; ".join(f"{n}: {e.words}" for n, e in policy.EFFORTS.items()))


COMMANDS = [models]
