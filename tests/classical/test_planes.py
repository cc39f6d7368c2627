"""The classical coder's tile codec (``flowzip.classical.planes``): the smallest coding is kept."""

import numpy as np
from samples import drawing, noise, text

from flowzip.classical import classical, deflate, planes


def test_best_encoding_keeps_the_smallest():
    rng = np.random.default_rng(3)
    for x in (drawing(rng, (3, 40, 40), 8), text(rng, (1, 64, 64), 8), noise(rng, (1, 16, 16), 8)):
        method, data = planes.best_encoding(x, 8)
        sizes = [len(classical.encode_planes(x, 8)), len(deflate.encode_planes(x, 8))]
        assert len(data) == min(sizes) and method in (planes.CLASSICAL, planes.DEFLATE)
