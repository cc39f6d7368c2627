"""Effort levels (``--effort N``, ``-N``): what each lets code a picture, and how flows adapt."""

from __future__ import annotations

from dataclasses import dataclass

# What codes one picture (``Policy.candidates``), and what an effort level lets code pictures.
FLOWS, CLASSICAL, LOCAL = "flows", "classical", "local prior"
CLASSICAL_ONLY, AUTO, BEST = "classical only", "auto", "best"


@dataclass(frozen=True)
class Effort:
    """What an effort level does: which coders code a picture (``CLASSICAL_ONLY``: the classical
    coder only; ``AUTO``: the learned local prior for colour pictures it has a model for (``local``),
    else the classical coder for photos, at least a stacked tile high and wide, and the flows for
    thumbnails; ``BEST``: all of them, keeping the smallest file), whether bits-back models may
    code, whether the local prior may, and how the models are adapted to the images
    (``flowzip.adapt``: adapter, Adam steps, learning rate)."""

    words: str
    coders: str = AUTO
    bits_back: bool = True
    local: bool = True
    adapt: tuple[str, int, float] | None = None


EFFORTS = {
    1: Effort("the classical coder only (fastest)", coders=CLASSICAL_ONLY, local=False),
    2: Effort("the classical coder only", coders=CLASSICAL_ONLY, local=False),
    3: Effort("the classical coder only", coders=CLASSICAL_ONLY, local=False),
    4: Effort("no learned prior: the classical coder for photos, integer flows for thumbnails (no bits-back); a "
              "single thumbnail is coded both ways, the smaller kept", bits_back=False, local=False),
    5: Effort("the learned local prior for 8-bit colour pictures, photos and thumbnails (one picture is coded by "
              "the classical coder too, the smaller kept; a large one it codes under 1 bpd, a drawing, by it alone); "
              "as 4 for the rest (the default level)"),
    6: Effort("codes with the local prior, the flows and the classical coder and keeps the smallest file (the "
              "default level's among them)", coders=BEST),
    7: Effort("as 6, the models adapted to the images (flows: normalizations; local prior: biases; 60 steps)",
              coders=BEST, adapt=("norms", 60, 1e-3)),
    8: Effort("as 6, the models adapted to the images (flows: normalizations and biases; local prior: its last "
              "layer and biases; 60 steps)", coders=BEST, adapt=("biases", 60, 1e-3)),
    9: Effort("as 8, with 120 steps", coders=BEST, adapt=("biases", 120, 1e-3)),
}
DEFAULT_EFFORT = 5
