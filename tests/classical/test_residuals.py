"""The hinted residual coder's mixer layout: every view's set within the mixers, none shared."""

from __future__ import annotations

import itertools

import numpy as np

from flowzip.classical import residuals
from flowzip.jit import kernel


@kernel
def _rows(mixer, mix_at, views, energy_class, gradient_class, lead, earlier, texture):
    return residuals.mixer_rows(mixer, mix_at, views, energy_class, gradient_class, lead, earlier, texture)


def test_each_view_picks_its_own_sets_within_the_mixers():
    """Over the contexts' whole ranges (and the steps' edges) each view picks a set of its own, every
    row of every plane and decision within the mixers; one view: the energy class's set."""
    views = len(residuals.VIEW_SETS)
    mixer = residuals.new_hint_mixers(2, 3, views)
    per = 3 * residuals.MIXERS
    assert mixer.shape[0] == residuals.ALL_SETS * per
    steps = [-(1 << 20), -32, -31, -16, -15, -8, -7, -4, -3, -1, 0, 1, 3, 4, 7, 8, 15, 16, 31, 32, 1 << 20]
    seen = [set() for _ in range(views)]
    contexts = [*itertools.product([0, 3, 4, 11, 12, 40], range(residuals.VIEW_SETS[1]), steps, steps, [0, 63]),
                *itertools.product([5], [2], [-1, 1], [0], range(64))]
    for energy, gradient, lead, earlier, texture in contexts:
        for plane in range(3):
            rows = _rows(mixer, np.int64(plane * residuals.MIXERS), views, energy, gradient, lead, earlier, texture)
            for k, row in enumerate(rows):
                assert 0 <= row and row + residuals.MIXERS <= mixer.shape[0]
                set_, at = divmod(row, per)
                assert at == plane * residuals.MIXERS
                first = sum(residuals.VIEW_SETS[:k])
                assert first <= set_ < first + residuals.VIEW_SETS[k]
                seen[k].add(set_)
    assert [len(s) for s in seen] == list(residuals.VIEW_SETS)  # every set is reached
    assert _rows(mixer, np.int64(0), views, 4, 0, 3, 7, 0)[2:4] != _rows(mixer, np.int64(0), views, 4, 0, 4, 8, 0)[2:4]
    one = residuals.new_hint_mixers(2, 3, 1)
    assert _rows(one, np.int64(residuals.MIXERS), 1, 9, 5, -40, 40, 63) == (2 * per + residuals.MIXERS, -1, -1, -1, -1)
