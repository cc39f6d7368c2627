import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from flowzip.entropy import tables as pmf


def test_tables_are_pinned():
    """The tables define the bitstream: any change to them breaks old files."""
    table = pmf.cdf_table()
    assert table[0] > 0 and table[-1] < 2**31 and np.all(np.diff(table) >= 0)
    assert table[len(table) // 2] == 2**30
    inv, radius, scale = pmf.scale_tables()
    assert len(inv) == pmf.NUM_SCALES and np.all(np.diff(inv) < 0)
    assert int(table.sum() % 1_000_003) == 372612
    assert int((inv * np.arange(1, len(inv) + 1)).sum() % 1_000_003) == 566719
    assert radius.min() == 2 and radius.max() == pmf.MAX_RADIUS


@settings(max_examples=60, deadline=None)
@given(st.floats(-300, 300), st.floats(-3.5, 6.5))
def test_masses_are_a_distribution(mu, ls):
    mu_q, j = pmf.quantize(np.array([mu]), np.array([ls]))
    r = int(pmf.scale_tables()[1][j[0]])
    masses = pmf.window_masses(mu_q, j, r)
    assert masses.shape == (1, 2 * r + 2)
    assert masses.min() >= 0
    assert masses.sum() == 2**31


def test_masses_match_the_logistic():
    mu = np.array([0.3, -17.25, 100.0])
    ls = np.array([0.0, 1.5, -1.0])
    mu_q, j = pmf.quantize(mu, ls)
    s = pmf.scale_tables()[2][j]
    for i in range(3):
        r = int(pmf.scale_tables()[1][j[i]])
        masses = pmf.window_masses(mu_q[i : i + 1], j[i : i + 1], r)[0, :-1] / 2**31
        v = pmf.centers(mu_q[i : i + 1])[0] + np.arange(-r, r + 1)
        mu_i = mu_q[i] / 2**12
        exact = 1 / (1 + np.exp(-(v + 0.5 - mu_i) / s[i])) - 1 / (1 + np.exp(-(v - 0.5 - mu_i) / s[i]))
        np.testing.assert_allclose(masses, exact, atol=2e-6)


def test_looked_up_windows_equal_computed_ones():
    rng = np.random.default_rng(3)
    radius = pmf.scale_tables()[1]
    for r in np.unique(radius):
        js = np.flatnonzero(radius == r)
        j = rng.choice(js, 500)
        mu_q = rng.integers(-(2**30), 2**30, 500)
        mu_q[:4] = [-2048, 2047, -2049, 2048]  # the edges of a location's unit
        looked_up = pmf.window_probabilities(mu_q, j, int(r))
        assert looked_up.dtype == np.float64
        np.testing.assert_array_equal(looked_up, pmf.window_masses(mu_q, j, int(r)))


def test_shipped_tables_are_their_definitions():
    """The shipped tables.npz files hold exactly what scripts/tables/build.py computes with decimal."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "scripts" / "tables" / "build.py"
    spec = importlib.util.spec_from_file_location("build_tables", path)
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    for file, arrays in build.build().items():
        with np.load(file) as shipped:
            assert sorted(shipped.files) == sorted(arrays)
            for name, computed in arrays.items():
                np.testing.assert_array_equal(shipped[name], computed)
