"""The learned local-context prior as a float model (torch): for training, estimates and per-image
adaptation. ``flowzip.architecture.localprior`` describes it; ``flowzip.priors`` codes with its
exact twin, whose rate is this model's ``log_prob`` up to the coder's integer rounding."""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn
from torch.nn import functional as F

from ..architecture.localprior import (COEF_LIMIT, INPUT_UNIT, LOG_SCALE_RANGE, MEAN_UNIT, OUTPUTS, LocalPriorConfig,
                                       couplings, num_inputs, window)

__all__ = ["LocalPrior", "LocalPriorConfig", "load_run"]


def causal_inputs(x: torch.Tensor, horizon: int) -> torch.Tensor:
    """(B, C, H, W) pixel values -> (B, H, W, (C + 1) * P): per window position its channels as
    (2x - 255) / INPUT_UNIT and a validity flag, zeros outside the picture."""
    b, c, h, w = x.shape
    v = (x.float() * 2 - 255) / INPUT_UNIT
    v = torch.cat([v, torch.ones_like(v[:, :1])], 1)
    p = F.pad(v, (horizon, horizon, horizon, 0))
    cols = [p[:, :, horizon + dy : horizon + dy + h, horizon + dx : horizon + dx + w] for dy, dx in window(horizon)]
    return torch.cat(cols, 1).permute(0, 2, 3, 1)


def reference(x: torch.Tensor) -> torch.Tensor:
    """``architecture.localprior.reference`` on a batch (B, C, H, W)."""
    x = x.float()
    left = F.pad(x, (1, 0, 0, 0))[..., :, :-1]
    up = F.pad(x, (0, 0, 1, 0))[..., :-1, :]
    ref = torch.floor((left + up + 1) / 2)
    ref[..., 0, :] = left[..., 0, :]
    ref[..., :, 0] = up[..., :, 0]
    ref[..., 0, 0] = 128
    return ref


def discretized_logistic_log_prob(x: torch.Tensor, mu: torch.Tensor, ls: torch.Tensor) -> torch.Tensor:
    """log P(x) of 8-bit values x under logistics whose tails go to 0 and 255 (nats)."""
    inv = torch.exp(-ls)
    c = x - mu
    up, lo = (c + 0.5) * inv, (c - 0.5) * inv
    mass = torch.sigmoid(up) - torch.sigmoid(lo)
    mid = torch.where(mass > 1e-5, torch.log(mass.clamp_min(1e-12)), c * inv - ls - 2 * F.softplus(c * inv))
    return torch.where(x < 0.5, F.logsigmoid(up), torch.where(x > 254.5, -F.softplus(lo), mid))


class LocalPrior(nn.Module):
    """Dense network over each pixel's causal window -> mixture of discretized logistics."""

    def __init__(self, config: LocalPriorConfig):
        super().__init__()
        self.config = config
        self.first = nn.Linear(num_inputs(config), config.width)
        self.hidden = nn.ModuleList(nn.Linear(config.width, config.width) for _ in range(config.layers))
        self.out = nn.Linear(config.width, OUTPUTS.count(config))

    @property
    def multiple(self) -> int:
        return 1

    def outputs(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) pixels -> (B, H, W, outputs)."""
        h = F.relu(self.first(causal_inputs(x, self.config.horizon)))
        for layer in self.hidden:
            h = h + F.relu(layer(h))
        with torch.autocast(h.device.type, enabled=False):  # the outputs in float32 under a bf16 autocast
            return self.out(h.float())

    def log_prob(self, x: torch.Tensor, outputs: torch.Tensor | None = None) -> torch.Tensor:
        """Log-likelihood in nats per image of pixels ``x`` (B, C, H, W), integers 0..255."""
        cfg = self.config
        o = self.outputs(x) if outputs is None else outputs
        xf = x.float().permute(0, 2, 3, 1).unsqueeze(-1)  # (B, H, W, C, 1)
        ref = reference(x).permute(0, 2, 3, 1).unsqueeze(-1)
        total = F.log_softmax(o[..., OUTPUTS.logits(cfg)], -1)
        means, coupled = [], dict(enumerate(couplings(cfg.channels)))
        for c in range(cfg.channels):
            mu = ref[..., c, :] + MEAN_UNIT * o[..., OUTPUTS.means(cfg, c)]
            for i, (cc, j) in coupled.items():
                if cc == c:
                    coef = o[..., OUTPUTS.coefficients(cfg, i)].clamp(-COEF_LIMIT, COEF_LIMIT)
                    mu = mu + coef * (xf[..., j, :] - means[j])
            means.append(mu)
            ls = o[..., OUTPUTS.log_scales(cfg, c)].clamp(*LOG_SCALE_RANGE)
            total = total + discretized_logistic_log_prob(xf[..., c, :], mu, ls)
        return torch.logsumexp(total, -1).flatten(1).sum(1)

    forward = log_prob

    def widened(self, width: int) -> "LocalPrior":
        """This network with ``width`` units per layer, computing the same function: the new units
        take freshly drawn weights in and give nothing out (zero weights into the old units and
        the outputs), so that training grows them from where this network stands."""
        old = self.config.width
        if width < old:
            raise ValueError(f"width {width} is narrower than the network's {old}")
        wide = LocalPrior(replace(self.config, width=width))
        with torch.no_grad():
            for new, src in [(wide.first, self.first), *zip(wide.hidden, self.hidden), (wide.out, self.out)]:
                rows, cols = src.weight.shape  # (the inputs' and outputs' counts do not grow: empty slices)
                new.weight[:rows, cols:] = 0
                new.bias[rows:] = 0
                new.weight[:rows, :cols] = src.weight
                new.bias[:rows] = src.bias
        return wide

    def with_horizon(self, horizon: int) -> "LocalPrior":
        """This network over a window of ``horizon`` (at least its own), computing the same
        function: each old window position keeps its input weights, the new positions' weights
        are zero, so that training grows them from where this network stands."""
        old = self.config.horizon
        if horizon < old:
            raise ValueError(f"horizon {horizon} is smaller than the network's {old}")
        big = LocalPrior(replace(self.config, horizon=horizon))
        state = self.state_dict()
        first = state["first.weight"].new_zeros(big.first.weight.shape)
        per = self.config.channels + 1
        where = {offset: j for j, offset in enumerate(window(horizon))}
        for i, offset in enumerate(window(old)):
            j = where[offset]
            first[:, j * per : (j + 1) * per] = state["first.weight"][:, i * per : (i + 1) * per]
        big.load_state_dict({**state, "first.weight": first})
        return big

    def deepened(self, layers: int) -> "LocalPrior":
        """This network with ``layers`` residual layers, the new ones after the old: their weights
        drawn small (a hundredth of the usual) and biases zero, so that the network computes nearly
        the same function at first and training grows them from where it stands."""
        old = self.config.layers
        if layers < old:
            raise ValueError(f"{layers} layers are fewer than the network's {old}")
        deep = LocalPrior(replace(self.config, layers=layers))
        for new, src in [(deep.first, self.first), *zip(deep.hidden, self.hidden), (deep.out, self.out)]:
            new.load_state_dict(src.state_dict())
        with torch.no_grad():
            for layer in deep.hidden[old:]:
                layer.weight.mul_(0.01)
                layer.bias.zero_()
        return deep


def load_run(path) -> LocalPrior:
    """A local prior from a training run of ``scripts/gpu/train_local.py`` (its last snapshot) or a
    checkpoint of ``scripts/train/local_cifar_cpu.py``. Runs without a config, or with the first
    session's key names, get ``local-rgb-v1``'s network; input columns the network does not have
    (that session's activity inputs) are dropped."""
    src = torch.load(path, map_location="cpu", weights_only=False)
    c = src.get("config", {})
    config = LocalPriorConfig(c.get("channels", 3), c.get("horizon", c.get("h", 3)), c.get("width", 64),
                              c.get("layers", 2), c.get("mixture", c.get("mix", 5)))
    model = LocalPrior(config)
    state = dict(src["snaps"][-1]["state"] if "snaps" in src else src["state"])
    state["first.weight"] = state["first.weight"][:, : model.first.in_features].clone()
    model.load_state_dict(state)
    return model
