"""Per-image adaptation: fit a few of a model's parameters to the images being coded, and send
them in the file.

The encoder fine-tunes a chosen set of parameters (``ADAPTERS``: names matched against the
weights' keys) of the float model on the images' own tiles, in float and with torch
(``models.adaptation``); then puts the change of each parameter on a grid of ``2**-STEP_BITS`` and
codes the integers with flowzip's rANS under a discretized logistic of a scale chosen per
parameter tensor (``Adapter``). The decoder reads those integers and builds the exact twin from
the base weights plus them: base float32 weights plus multiples of a power of two are exact
float64 numbers, so both sides build the same twin. ``fit_plan`` adapts the models of a plan, each
on the tiles it codes, keeping an adapter only where it pays for its bytes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from .errors import FormatError

STEP_BITS = 10  # adapted parameters move by multiples of 2**-10
SCALE_STEPS = 8  # a tensor's coding scale is 2**(k / SCALE_STEPS) grid steps, k in 0 .. 254
UNCHANGED = 255

# Which parameters each adapter adapts (regular expressions over the weights' keys).
LOCAL_BIASES = r"^(first|hidden\.\d+|out)\.bias$"  # the local prior's biases
ADAPTERS = {  # (a kind's position is its number in files: new kinds go last)
    "norms": [r"\.actnorm\.", r"^top_", LOCAL_BIASES],
    "biases": [r"\.actnorm\.", r"^top_", r"\.layers\.\d+\.bias$", r"\.conv\.log_scale$", LOCAL_BIASES,
               r"^out\.weight$"],
}


def adapted_keys(weights: dict[str, np.ndarray], adapter: str) -> list[str]:
    """The keys of ``weights`` that ``adapter`` adapts, in a fixed (sorted) order."""
    patterns = [re.compile(p) for p in ADAPTERS[adapter]]
    return sorted(k for k, v in weights.items() if v.dtype.kind == "f" and any(p.search(k) for p in patterns))


@dataclass
class Adapter:
    """Integer changes, on the grid 2**-STEP_BITS, of the parameters ``kind`` adapts."""

    kind: str
    deltas: dict[str, np.ndarray]

    def apply(self, weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The base weights with the changes added (float64: exact)."""
        out = dict(weights)
        for key, q in self.deltas.items():
            out[key] = weights[key].astype(np.float64) + q * 2.0**-STEP_BITS
        return out

    def to_bytes(self, weights: dict[str, np.ndarray]) -> bytes:
        """The adapter's kind, a coding scale per adapted tensor (in ``adapted_keys`` order; 255:
        unchanged), then the integers of the changed tensors on a rANS stack."""
        from .entropy.rans import RansStack

        keys = adapted_keys(weights, self.kind)
        head = bytearray([list(ADAPTERS).index(self.kind)])
        values, j = [], []
        for key in keys:
            q = self.deltas.get(key)
            if q is None or not q.any():
                head.append(UNCHANGED)
                continue
            k = _scale_index(q)
            head.append(k)
            values.append(q.ravel().astype(np.int64))
            j.append(np.full(q.size, _table_index(k), np.int64))
        stack = RansStack()
        if values:
            v = np.concatenate(values)
            stack.push_logistic(v, np.zeros(len(v), np.int64), np.concatenate(j))
        return bytes(head) + stack.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes, weights: dict[str, np.ndarray]) -> "Adapter":
        """The adapter of a file, for the base model whose weights it changes."""
        from .entropy.rans import RansStack

        try:
            kind = list(ADAPTERS)[data[0]]
            keys = adapted_keys(weights, kind)
            scales = data[1 : 1 + len(keys)]
            if len(scales) != len(keys):
                raise ValueError
            changed = [(key, k) for key, k in zip(keys, scales) if k != UNCHANGED]
            total = sum(weights[key].size for key, _ in changed)
            j = [np.full(weights[key].size, _table_index(k), np.int64) for key, k in changed]
            stack = RansStack.from_bytes(data[1 + len(keys) :])
            values = stack.pop_logistic(np.zeros(total, np.int64), np.concatenate(j) if j else np.zeros(0, np.int64))
            if not stack.is_empty():
                raise ValueError
        except (ValueError, IndexError, FormatError):
            raise FormatError("corrupt file: a model's adapter is damaged") from None
        deltas, pos = {}, 0
        for key, _ in changed:
            size = weights[key].size
            deltas[key] = values[pos : pos + size].reshape(weights[key].shape)
            pos += size
        return cls(kind, deltas)


def _scale_index(q: np.ndarray) -> int:
    """A coding scale for the integers ``q``: about their mean absolute value."""
    spread = max(float(np.abs(q).mean()) if q.size else 0.0, 0.5)
    return int(min(UNCHANGED - 1, max(0, round(SCALE_STEPS * math.log2(spread)))))


def _table_index(k: int) -> int:
    """The tables' log-scale index of a logistic whose mean absolute value is 2**(k / SCALE_STEPS)
    (a logistic of scale s has mean absolute value 2 ln 2 s)."""
    from .entropy import tables

    ls = k / SCALE_STEPS * math.log(2) - math.log(2 * math.log(2))
    return int(min(tables.NUM_SCALES - 1, max(0, round((ls - tables.LOG_SCALE_MIN) * tables.LOG_SCALE_STEPS_PER_UNIT - 0.5))))


def fit_plan(plan, pictures, models: dict) -> dict[str, bytes]:
    """Model name -> adapter bytes for every model that codes plane groups in ``plan`` (a
    ``policy.Plan`` with ``adapt`` set; ``models``: name -> loaded model): fitted on the tiles it
    codes (those of its most common shape), and kept where it pays for its bytes."""
    from .models.adaptation import fit
    from .pipelines.codecs import codec_for
    from .pipelines.tiles import tiles_of

    kind, steps, lr = plan.adapt
    out = {}
    for name in plan.coders:
        model = models[name]
        if not model.channels:  # a coder without a model (the classical coder) adapts nothing
            continue
        chosen = [(picture.pixels, planes) for picture, groups in zip(pictures, plan.groups)
                  for n, planes in groups if n == name]
        common = tiles_of(chosen, plan.tile, codec_for(model, "cpu").multiple)
        keys = adapted_keys(model.weights, kind)
        adapter = Adapter(kind, fit(model.model, model.weights, keys, common, steps, lr, STEP_BITS))
        if worth_it(model, adapter, common):
            out[name] = adapter.to_bytes(model.weights)
    return out


def worth_it(loaded, adapter: Adapter, tiles: np.ndarray) -> bool:
    """Whether the adapter saves more (by the float estimates on the tiles, scaled up to all of
    them) than its bytes cost: adapt only where it pays."""
    from .models.adaptation import estimated_bits

    adapted = loaded.with_weights(adapter.apply(loaded.weights))
    saving = estimated_bits(loaded.model, tiles) - estimated_bits(adapted.model, tiles)
    return saving > 8 * len(adapter.to_bytes(loaded.weights))
