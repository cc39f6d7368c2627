"""The contract of a bijection, the layers the flows are made of (tests/checks.py
``check_bijection`` runs it on each)."""

from __future__ import annotations

from typing import Any, Protocol


class Bijection(Protocol):
    """``forward`` maps towards the latents and ``inverse`` back, both returning ``(output,
    logdet)``: the log-determinant of the map taken, per sample (or one for all). Integer flows
    invert exactly (their log-determinant is 0); float ones to float precision, their two
    log-determinants summing to zero."""

    def forward(self, x) -> tuple[Any, Any]: ...

    def inverse(self, y) -> tuple[Any, Any]: ...
