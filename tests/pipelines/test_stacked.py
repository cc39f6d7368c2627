"""The stacked pipeline (``flowzip.pipelines.stacked``): the plan seeds a stack, then grows its
bits-back batches."""

from __future__ import annotations

from types import SimpleNamespace

from flowzip.fileformat import container
from flowzip.pipelines import stacked as stream


def test_plan_seeds_then_grows_batches():
    models = [container.ModelRef(2, "g", b"1234"), container.ModelRef(1, "i", b"5678")]
    entries = [container.Entry(str(i), 32, 32, "RGB", 0, [(0, [0, 1, 2])]) for i in range(160)]
    header = container.Header(container.STACKED, 32, models, entries, batch=8, seed=1)
    codecs = [SimpleNamespace(multiple=8, bits_back=True), SimpleNamespace(multiple=16, bits_back=False)]
    jobs = stream.plan(header, codecs)
    assert [j.model for j in jobs[:1]] == [1] and len(jobs[0].units) == stream.SEED_TILES
    sizes = [len(j.units) for j in jobs[1:]]
    assert sizes[0] == 1 and max(sizes) == 8 and sum(sizes) + stream.SEED_TILES == 160
    coded = stream.SEED_TILES
    for n in sizes:  # a batch never holds more than an eighth of what came before it
        assert n <= max(1, coded // stream.GROWTH)
        coded += n
