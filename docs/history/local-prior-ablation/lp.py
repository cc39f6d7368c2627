"""A local causal prior for pixels or flow latents, generalising runs/lab/prior4.LocalPrior (act=()):
dense net over each position's causal window (rows -h..-1 cols -h..h, row 0 cols -h..-1; per position every
coded channel scaled plus a validity flag), optional per-position context features (the flow's kept channels
in a 3x3 neighbourhood with validity flags, and optionally the flow prior's (mu, ls)), ReLU, residual dense
layers, output a K-component mixture per position with channels coded one after another (channel c's mean
gets coupling coefficients times the earlier channels' residuals x_j - m_j, as PixelCNN++ / prior4).
kind: 'pixel' (discretized logistic on 0..255 with edges, mean = reference + 64 p, as prior4),
      'int' (discretized logistic over unbounded integers), 'cont' (logistic density)."""
import math, torch, torch.nn as nn, torch.nn.functional as F

def offsets(h):
    return [(dy, dx) for dy in range(-h, 0) for dx in range(-h, h + 1)] + [(0, dx) for dx in range(-h, 0)]

def window(v, offs, pad):
    """v (B,C,H,W) -> (B,H,W,(C+1)*P): per offset the values and a validity flag (zero padding = invalid)."""
    B, C, H, W = v.shape
    v = torch.cat([v, torch.ones_like(v[:, :1])], 1)
    top, left, right, bottom = pad
    p = F.pad(v, (left, right, top, bottom))
    cols = [p[:, :, top + dy: top + dy + H, left + dx: left + dx + W] for dy, dx in offs]
    return torch.cat(cols, 1).permute(0, 2, 3, 1)

def reference(x):  # prior4.reference
    x = x.float(); B, C, H, W = x.shape
    left = F.pad(x, (1, 0, 0, 0))[..., :, :W]; up = F.pad(x, (0, 0, 1, 0))[..., :H, :]
    ref = torch.floor((left + up + 1) / 2)
    ref[..., 0, :] = left[..., 0, :]; ref[..., :, 0] = up[..., :, 0]; ref[..., 0, 0] = 128
    return ref

def disc_logistic_pixel(x, mu, ls):  # prior4.disc_logistic_logp
    inv = torch.exp(-ls); c = x - mu
    up, lo = (c + 0.5) * inv, (c - 0.5) * inv
    log_up = F.logsigmoid(up); log_1m_lo = -F.softplus(lo)
    d = torch.sigmoid(up) - torch.sigmoid(lo)
    mid = torch.where(d > 1e-5, torch.log(d.clamp_min(1e-12)), c * inv - ls - 2 * F.softplus(c * inv))
    return torch.where(x < 0.5, log_up, torch.where(x > 254.5, log_1m_lo, mid))

def disc_logistic_int(z, mu, ls):  # flowzip.models.logistic.log_prob (unbounded integers)
    inv = torch.exp(-ls)
    return F.logsigmoid((z + 0.5 - mu) * inv) + F.logsigmoid(-(z - 0.5 - mu) * inv) + torch.log(-torch.expm1(-inv))

def logistic_density(z, mu, ls):  # flowzip.models.glow.logistic_log_density
    a = (z - mu) * torch.exp(-ls)
    return -a - 2 * F.softplus(-a) - ls

class LocalPrior(nn.Module):
    def __init__(self, C, kind, h=3, width=64, layers=2, mix=5, ctx_channels=0, flow_feats=False,
                 in_scale=1.0, ctx_scale=1.0, out_scale=64.0, ls_range=(-3.0, 5.0), ls_init=0.0, coupling=True):
        super().__init__()
        self.C, self.kind, self.h, self.mix = C, kind, h, mix
        self.in_scale, self.out_scale, self.ls_range, self.coupling = in_scale, out_scale, ls_range, coupling
        self.ctx_scale = ctx_scale
        self.flow_feats, self.ctx_channels = flow_feats, ctx_channels
        self.offs = offsets(h)
        self.ctx_offs = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
        n_in = (C + 1) * len(self.offs) + ((ctx_channels + 1) * 9 if ctx_channels else 0) + (2 * C if flow_feats else 0)
        self.ncoef = C * (C - 1) // 2
        self.nparam = 1 + 2 * C + self.ncoef
        self.first = nn.Linear(n_in, width)
        self.hidden = nn.ModuleList([nn.Linear(width, width) for _ in range(layers)])
        self.out = nn.Linear(width, mix * self.nparam)
        with torch.no_grad():
            if flow_feats:  # start near the flow's own prior: small outputs, ls relative to the flow's ls
                self.out.weight.mul_(0.1); self.out.bias.zero_()
            else:
                b = self.out.bias.view(self.nparam, mix); b[1 + C: 1 + 2 * C] += ls_init

    def features(self, x, ctx=None, fmu=None, fls=None):
        if self.kind == 'pixel':
            v = (x.float() * 2 - 255) / 128
        else:
            v = x * self.in_scale
        h = self.h
        feats = [window(v, self.offs, (h, h, h, 0))]
        if self.ctx_channels:
            feats.append(window(ctx * self.ctx_scale, self.ctx_offs, (1, 1, 1, 1)))
        if self.flow_feats:
            feats += [(fmu * self.in_scale).permute(0, 2, 3, 1), (fls / 4).permute(0, 2, 3, 1)]
        return torch.cat(feats, -1)

    def nll(self, x, ctx=None, fmu=None, fls=None):
        """-log p (nats per image; for 'cont' a density in x's own units)."""
        f = self.features(x, ctx, fmu, fls)
        hdn = F.relu(self.first(f))
        for layer in self.hidden:
            hdn = hdn + F.relu(layer(hdn))
        p = self.out(hdn)
        B, H, W, _ = p.shape
        C, K = self.C, self.mix
        p = p.view(B, H, W, self.nparam, K)
        logit = p[..., 0, :]
        if self.kind == 'pixel':
            ref = reference(x).permute(0, 2, 3, 1).unsqueeze(-1)
        elif fmu is not None and self.flow_feats:
            ref = fmu.permute(0, 2, 3, 1).unsqueeze(-1)
        else:
            ref = 0.0
        mu = p[..., 1:1 + C, :] * self.out_scale + ref
        ls = p[..., 1 + C:1 + 2 * C, :]
        if self.flow_feats:
            ls = ls + fls.permute(0, 2, 3, 1).unsqueeze(-1)
        ls = ls.clamp(*self.ls_range)
        coef = p[..., 1 + 2 * C:, :].clamp(-2.0, 2.0) * (1.0 if self.coupling else 0.0)
        xf = x.float().permute(0, 2, 3, 1).unsqueeze(-1)  # (B,H,W,C,1)
        ms, k = [], 0
        for c in range(C):
            m = mu[..., c, :]
            for j in range(c):
                m = m + coef[..., k, :] * (xf[..., j, :] - ms[j]); k += 1
            ms.append(m)
        m = torch.stack(ms, -2)
        fn = {'pixel': disc_logistic_pixel, 'int': disc_logistic_int, 'cont': logistic_density}[self.kind]
        lp = fn(xf, m, ls)
        total = lp.sum(-2) + F.log_softmax(logit, -1)
        return -torch.logsumexp(total, -1).sum((1, 2))
