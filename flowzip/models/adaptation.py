"""Per-image adaptation, the float side (torch): fine-tune some of a model's parameters on the
images' own tiles, and the models' estimates that judge whether it pays. ``flowzip.adapt`` puts
the changes on a grid and into the file."""

from __future__ import annotations

import copy
import math

import numpy as np
import torch


def fit(float_model, weights: dict[str, np.ndarray], keys: list[str], tiles: np.ndarray, steps: int,
        lr: float = 2e-3, step_bits: int = 10, batch: int = 16, seed: int = 0, progress=None) -> dict[str, np.ndarray]:
    """Fine-tune the parameters ``keys`` of a copy of ``float_model`` (whose base ``weights`` they
    are) on ``tiles`` ((N, C, H, W) uint8) for ``steps`` Adam steps of ``batch`` random tiles;
    returns their changes as integers on the grid ``2**-step_bits`` (the changed ones only)."""
    model = copy.deepcopy(float_model).train()
    params = dict(model.named_parameters())
    for p in model.parameters():
        p.requires_grad_(False)
    chosen = [params[k] for k in keys if k in params]
    for p in chosen:
        p.requires_grad_(True)
    opt = torch.optim.Adam(chosen, lr=lr)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)  # the Glow's dequantization noise: the same input gives the same file
    data = torch.from_numpy(tiles.astype(np.float32))
    subpixels = data[0].numel()
    for step in range(steps):
        x = data[torch.from_numpy(rng.integers(0, len(data), min(batch, len(data))))]
        loss = -model.log_prob(x).mean() / (subpixels * math.log(2))  # the family's training objective
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if progress:
            progress(step)
    deltas = {}
    for k in keys:
        if k in params:
            change = params[k].detach().double().numpy() - weights[k].astype(np.float64)
            q = np.rint(change * 2.0**step_bits).astype(np.int64)
            if q.any():
                deltas[k] = q
    return deltas


def estimated_bits(model, tiles: np.ndarray, seed: int = 0) -> float:
    """The float model's estimate of the tiles' size in bits (fixed noise for the Glow's
    dequantization, so that two models compare on the same draw)."""
    torch.manual_seed(seed)
    model = model.eval()
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(tiles), 32):
            total -= float(model.log_prob(torch.from_numpy(tiles[i : i + 32].astype(np.float32))).sum())
    return total / math.log(2)
