"""Effort levels (``--effort N``, ``-N``): what each lets code a picture, and how flows adapt."""

from __future__ import annotations

from dataclasses import dataclass

# What codes one picture (``Policy.candidates``), and what an effort level lets code pictures.
FLOWS, CLASSICAL = "flows", "classical"
CLASSICAL_ONLY, AUTO, BEST = "classical only", "auto", "best"


@dataclass(frozen=True)
class Effort:
    """What an effort level does: which coders code a picture (``CLASSICAL_ONLY``: the classical
    coder only; ``AUTO``: the classical coder for photos, at least a stacked tile high and wide,
    the flows for thumbnails; ``BEST``: both, keeping the smaller file), whether bits-back models
    may code, and how flows are adapted to the images (``flowzip.adapt``: adapter, Adam steps,
    learning rate)."""

    words: str
    coders: str = AUTO
    bits_back: bool = True
    adapt: tuple[str, int, float] | None = None


EFFORTS = {
    1: Effort("the classical coder only (fastest)", coders=CLASSICAL_ONLY),
    2: Effort("the classical coder only", coders=CLASSICAL_ONLY),
    3: Effort("the classical coder only", coders=CLASSICAL_ONLY),
    4: Effort("the classical coder for photos, integer flows for thumbnails (no bits-back); a single thumbnail "
              "is coded both ways, the smaller kept", bits_back=False),
    5: Effort("as 4, with bits-back flows for archives of thumbnails (the default level)"),
    6: Effort("codes with the flows and with the classical coder and keeps the smallest file (the default "
              "level's among them)", coders=BEST),
    7: Effort("as 6, the flows adapted to the images (normalizations, 60 steps)", coders=BEST,
              adapt=("norms", 60, 1e-3)),
    8: Effort("as 6, the flows adapted to the images (normalizations and biases, 60 steps)", coders=BEST,
              adapt=("biases", 60, 1e-3)),
    9: Effort("as 6, the flows adapted to the images (normalizations and biases, 120 steps)", coders=BEST,
              adapt=("biases", 120, 1e-3)),
}
DEFAULT_EFFORT = 5
