"""Mutations of valid .fz files, for fuzzing the decoder (tests and scripts/measure/fuzz.py)."""

from __future__ import annotations

import zlib

import numpy as np

from . import container

KINDS = ("bit_flip", "truncate", "extend", "header_byte", "header_field_recrc", "payload_recrc", "random_bytes",
         "magic_then_random")


def mutate(data: bytes, kind: str, rng: np.random.Generator) -> bytes:
    """One mutation of ``data`` (a valid .fz file) that must make decoding fail cleanly."""
    header, start = container.parse(data)
    crcs = header.version not in container.COMPACT_VERSIONS  # a compact file has neither a header nor a payload CRC
    header_end = start - 4 if crcs else start  # the header CRC sits at [header_end, +4), the payload CRC before it
    raw = bytearray(data)
    if kind == "bit_flip":
        pos = int(rng.integers(0, len(raw)))
        raw[pos] ^= 1 << int(rng.integers(0, 8))
    elif kind == "truncate":
        raw = raw[: int(rng.integers(0, len(raw)))]
    elif kind == "extend":
        raw += rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8).tobytes()
    elif kind == "header_byte":
        pos = int(rng.integers(0, start))
        raw[pos] = (raw[pos] + int(rng.integers(1, 256))) % 256
    elif kind == "header_field_recrc":
        # change a header byte and repair the header CRC, so deeper checks must catch it
        pos = int(rng.integers(4, header_end))
        raw[pos] = (raw[pos] + int(rng.integers(1, 256))) % 256
        if crcs:
            raw[header_end : header_end + 4] = zlib.crc32(bytes(raw[:header_end])).to_bytes(4, "little")
    elif kind == "payload_recrc":
        # change payload bytes and repair both CRCs, so that the decoder itself must cope; such a
        # file may still decode to the right pixels when the change only touches padding
        for _ in range(int(rng.integers(1, 4))):
            pos = int(rng.integers(start, len(raw)))
            raw[pos] ^= int(rng.integers(1, 256))
        if not crcs:
            return bytes(raw)
        raw[header_end - 4 : header_end] = zlib.crc32(bytes(raw[start:])).to_bytes(4, "little")
        raw[header_end : header_end + 4] = zlib.crc32(bytes(raw[:header_end])).to_bytes(4, "little")
    elif kind == "random_bytes":
        raw = bytearray(rng.integers(0, 256, int(rng.integers(0, 2 * len(data) + 1)), dtype=np.uint8).tobytes())
    elif kind == "magic_then_random":
        tail = rng.integers(0, 256, int(rng.integers(0, 200)), dtype=np.uint8).tobytes()
        raw = bytearray(container.MAGIC + bytes([data[3]]) + tail)
    else:
        raise ValueError(kind)
    return bytes(raw)
