"""Effort levels: what each lets code a picture (``flowzip.policy.efforts``), through the API and
the command line."""

import numpy as np
import pytest
from click.testing import CliRunner

from flowzip import api, zoo
from flowzip.cli.main import main
from flowzip.images.image import Picture

from helpers import set_policy


def _smooth(rng, h, w, c):
    yy, xx = np.mgrid[0:h, 0:w]
    base = (yy * 3 + xx * 2)[..., None] + np.arange(c) * 30
    return ((base + rng.integers(0, 8, (h, w, c))) % 256).astype(np.uint8)


def test_effort_levels(tiny_models, monkeypatch, tmp_path):
    """Levels choose coders: the classical coder alone (1-3); by default the classical coder for
    photos and single pictures, flows for thumbnails in archives (bits-back from 5); both from 6."""
    set_policy(monkeypatch, bits_back={3: "tiny-glow"})
    set_policy(monkeypatch, classical=zoo.CLASSICAL)
    rng = np.random.default_rng(2)
    photo = Picture(_smooth(rng, 150, 200, 3), "RGB")
    thumbs = [Picture(_smooth(rng, 32, 32, 3), "RGB") for _ in range(9)]

    def coders(pictures, **options):
        return [{zoo.load_model(m).family.name for m in p.models} for p in api.plans(pictures, **options)]

    assert coders([photo]) == coders([photo], effort=1) == [{"classical"}]
    assert coders([photo], effort=6) == [{"glow", "idf"}, {"classical"}]
    assert coders([photo], model="tiny-glow", effort=6) == [{"glow", "idf"}]  # the caller's choice alone
    assert coders(thumbs) == [{"glow", "idf"}] and coders(thumbs, effort=4) == [{"idf"}]
    assert coders(thumbs, effort=3) == [{"classical"}]
    assert coders([photo, *thumbs]) == [{"classical", "glow", "idf"}]
    with pytest.raises(api.FlowzipError, match="effort"):
        api.plans([photo], effort=10)
    from PIL import Image

    path = tmp_path / "a.png"
    Image.fromarray(photo.pixels).save(path)
    for level in ("-1", "-6"):
        result = CliRunner().invoke(main, ["compress", level, "-q", "-f", str(path)])
        assert result.exit_code == 0, result.output
        np.testing.assert_array_equal(api.decompress((tmp_path / "a.fz").read_bytes()), photo.pixels)
