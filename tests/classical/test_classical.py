"""The classical coders (``flowzip.classical.classical``, ``deflate``, ``planes``): exact round trips
over awkward shapes, depths and contents, corrupt streams, rates and determinism."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from samples import drawing, dtype, extremes, gradient, noise, text

from flowzip.classical import classical, deflate, planes
from flowzip.errors import FormatError


CODERS = [classical, deflate]


def contents(rng, shape, bits):
    return {"noise": noise(rng, shape, bits), "flat": np.full(shape, (1 << bits) - 1, dtype(bits)),
            "gradient": gradient(shape, bits), "drawing": drawing(rng, shape, bits), "text": text(rng, shape, bits),
            "extremes": extremes(rng, shape, bits)}


def round_trip(coder, x, bits):
    data = coder.encode_planes(x, bits)
    back = coder.decode_planes(data, *x.shape, bits)
    assert back.dtype == dtype(bits) and back.shape == x.shape
    np.testing.assert_array_equal(back, x)
    return data


SHAPES = [(1, 1, 1), (1, 1, 17), (1, 23, 1), (3, 7, 13), (4, 5, 2), (2, 30, 20), (3, 200, 300)]


def corruptions(data: bytes):
    """Every truncation of ``data`` and every single-bit flip."""
    for n in range(len(data)):
        yield data[:n]
    for i in range(len(data)):
        for bit in range(8):
            yield data[:i] + bytes([data[i] ^ (1 << bit)]) + data[i + 1:]
    yield data + b"\0"


@pytest.mark.parametrize("coder", CODERS, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_round_trip_shapes_and_contents(coder, shape):
    rng = np.random.default_rng(sum(shape))
    for bits in (1, 8) if shape[1] * shape[2] > 10_000 else (1, 2, 4, 8, 12, 16):
        for name, x in contents(rng, shape, bits).items():
            round_trip(coder, x, bits)


@pytest.mark.parametrize("bits", [1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_round_trip_channels_and_depths(channels, bits):
    rng = np.random.default_rng(channels * 100 + bits)
    shape = (channels, 19, 24)
    for x in (drawing(rng, shape, bits), noise(rng, shape, bits), gradient(shape, bits)):
        method, data = planes.best_encoding(x, bits)
        np.testing.assert_array_equal(planes.decode_method(method, data, *shape, bits), x)
        for coder in CODERS:
            round_trip(coder, x, bits)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 16), st.integers(1, 4), st.integers(1, 12), st.integers(1, 12), st.data())
def test_round_trip_any_samples(bits, channels, height, width, data):
    x = data.draw(hnp.arrays(dtype(bits), (channels, height, width), elements=st.integers(0, (1 << bits) - 1)))
    method, coded = planes.best_encoding(x, bits)
    np.testing.assert_array_equal(planes.decode_method(method, coded, channels, height, width, bits), x)
    for coder in CODERS:
        round_trip(coder, x, bits)


@pytest.mark.parametrize("method", [planes.CLASSICAL, planes.DEFLATE, planes.CONSTANT])
@pytest.mark.parametrize("bits,shape", [(8, (3, 6, 7)), (1, (1, 9, 12)), (12, (2, 5, 4))])
def test_corrupt_streams_fail_cleanly(method, bits, shape):
    rng = np.random.default_rng(bits)
    x = np.full(shape, 1, dtype(bits)) if method == planes.CONSTANT else drawing(rng, shape, bits)
    encoders = {planes.CLASSICAL: classical.encode_planes, planes.DEFLATE: deflate.encode_planes,
                planes.CONSTANT: planes.encode_constant}
    data = encoders[method](x, bits)
    wrong = 0
    for bad in corruptions(data):
        try:
            back = planes.decode_method(method, bad, *shape, bits)
        except FormatError:
            continue
        wrong += not np.array_equal(back, x)
    assert wrong == 0


def test_corrupt_palette_streams_fail_cleanly():
    x = text(np.random.default_rng(0), (1, 12, 14), 8)
    x[0, 0, :4] = [10, 20, 30, 40]  # six values: a palette plane whose indices are 3 bits
    data = classical.encode_planes(x, 8)
    for bad in corruptions(data):
        try:
            back = classical.decode_planes(bad, *x.shape, 8)
        except FormatError:
            continue
        np.testing.assert_array_equal(back, x)


def test_bad_arguments():
    with pytest.raises(FormatError):
        planes.decode_method(9, b"", 1, 1, 1, 8)
    for args in [(0, 1, 1, 8), (5, 1, 1, 8), (1, 0, 1, 8), (1, 1, 1, 0), (1, 1, 1, 17)]:
        for coder in CODERS:
            with pytest.raises(FormatError):
                coder.decode_planes(b"\0" * 8, *args)
    for coder in CODERS:
        for x in (np.full((1, 2, 2), 4, np.uint8), np.full((1, 2, 2), -1, np.int16)):
            with pytest.raises(ValueError):
                coder.encode_planes(x, 2)


def test_rates():
    rng = np.random.default_rng(0)
    shape = (3, 128, 128)
    flat = np.full(shape, 77, np.uint8)
    assert len(classical.encode_planes(flat, 8)) <= 12
    assert planes.best_encoding(flat, 8)[0] == planes.CONSTANT and len(planes.best_encoding(flat, 8)[1]) == 4
    for bits in (1, 8, 16):
        x = noise(rng, shape, bits)
        assert len(classical.encode_planes(x, bits)) * 8 / x.size < bits * 1.03 + 0.1
    smooth = gradient(shape, 8)
    assert len(classical.encode_planes(smooth, 8)) * 8 / smooth.size < 0.5
    smooth16 = gradient(shape, 16)
    assert len(classical.encode_planes(smooth16, 16)) * 8 / smooth16.size < 8
    page = text(rng, (1, 128, 128), 1)
    assert len(classical.encode_planes(page, 1)) * 8 / page.size < 0.25


def test_deterministic_and_layout_independent():
    rng = np.random.default_rng(5)
    x = drawing(rng, (3, 33, 21), 8)
    layouts = [x, np.asfortranarray(x), x.transpose(1, 2, 0).copy().transpose(2, 0, 1),
               np.pad(x, ((0, 0), (1, 1), (2, 2)))[:, 1:-1, 2:-2], x.astype(np.uint16)]
    for coder in CODERS:
        first = coder.encode_planes(x, 8)
        assert all(coder.encode_planes(v, 8) == first for v in layouts)
