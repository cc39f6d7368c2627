"""The tile codec of a loaded model, built once per model and device (its family says which:
``flowzip.families``; every one follows ``protocols.TileCodec``), and the device it runs on: the
CPU (numpy), or a CUDA GPU through torch with the same integers (``flows.fixedpoint.FixedNet``)."""

from __future__ import annotations

import os
from functools import lru_cache

from ..errors import ModelError


@lru_cache(maxsize=8)
def codec_for(model, device: str = "cpu"):
    """The codec that codes with ``model`` (a ``zoo.LoadedModel``) on ``device`` ("cpu", "cuda",
    "cuda:N" or "torch:cpu")."""
    return model.family.codec(model, device)


def cuda_available() -> bool:
    """Whether torch sees a CUDA GPU; torch is imported only where an NVIDIA driver is present."""
    if not os.path.exists("/proc/driver/nvidia/version") and "CUDA_VISIBLE_DEVICES" not in os.environ:
        return False
    import torch

    return torch.cuda.is_available()


def resolve_device(device=None) -> str:
    """"auto" (or None): a CUDA GPU if there is one, else the CPU; "cpu"; "cuda" or "cuda:N";
    "torch:cpu" runs the GPU's code path on the CPU (for checks)."""
    device = str(device or "auto")
    if device == "torch:cpu":
        return device
    if device == "auto":
        return "cuda" if cuda_available() else "cpu"
    if device.startswith("cuda") and not cuda_available():
        raise ModelError("--device cuda was asked for, but no CUDA GPU is available")
    if device != "cpu" and not device.startswith("cuda"):
        raise ModelError(f"unknown device {device!r} (cpu, cuda, or auto)")
    return device
