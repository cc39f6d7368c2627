"""Precompute the frozen flows' level-1 latents (and the rest of their NLL) for all 50000 CIFAR-10 train images.
IDF (idf-rgb-v2): finest level (16x16) -> kept 3 channels + factored-out 9 channels (integers), the IDF prior's
(mu, ls) for the 9, and per image the NLL of all other levels' latents. Glow (glow-rgb-v2): level 1 (16x16) ->
kept 6 + factored-out 6 (float), with one fixed uniform dequantization draw per image (seed 1234+batch), and
per image -(log density of everything but the level-1 factor-out term)."""
import os, sys, time, io, lzma, math, numpy as np, torch
sys.path.insert(0, os.environ.get("FLOWZIP_0_2", "../flowzip-0.2"))  # a checkout of 47cff20
torch.set_num_threads(1)
from flowzip.zoo import load_model
from flowzip.models import logistic
from flowzip.models.glow import logistic_log_density
from flowzip.models.layers import squeeze
from flowzip.models.constants import PIXEL_OFFSET

arr = np.load(io.BytesIO(lzma.open(os.path.join(os.environ.get("DATA", "../shared/data"), "cifar10/train.npy.xz")).read()))
N = len(arr); B = 250
which = sys.argv[1]

@torch.no_grad()
def idf_batch(m, x):
    z = x - PIXEL_OFFSET
    rest = torch.zeros(len(x), dtype=torch.float64)
    first = None
    for i, level in enumerate(m.levels):
        z = level(squeeze(z))
        if level.prior is not None:
            keep, out = z[:, :level.keep], z[:, level.keep:]
            mu, ls = m._prior(level, keep)
            lp = logistic.log_prob(out, mu, ls).flatten(1).sum(1).double()
            if i == 0:
                first = (keep, out, mu, ls, -lp)
            else:
                rest -= lp
            z = keep
    rest -= logistic.log_prob(z, *m._top_prior(z)).flatten(1).sum(1).double()
    return first, rest

@torch.no_grad()
def glow_batch(m, x, gen):
    v = (x + torch.rand(x.shape, generator=gen)) / 256 - 0.5
    total = torch.full((len(x),), -math.log(256) * v[0].numel(), dtype=torch.float64)
    first = None
    for i, level in enumerate(m.levels):
        v = squeeze(v)
        for step in level.steps:
            v, logdet = step(v)
            total = total + logdet.double()
        if level.prior is not None:
            keep, out = v[:, :level.keep], v[:, level.keep:]
            term = logistic_log_density(out, *m.prior(level, keep)).flatten(1).sum(1).double()
            if i == 0:
                first = (keep.clone(), out.clone(), -term)
            else:
                total = total + term
            v = keep
    total = total + logistic_log_density(v, *m.top_prior(v)).flatten(1).sum(1).double()
    return first, -total

t0 = time.time()
if which == "idf":
    m = load_model("idf-rgb-v2").model.eval()
    lat = np.zeros((N, 12, 16, 16), np.int16); mus = np.zeros((N, 9, 16, 16), np.int16); lss = np.zeros((N, 9, 16, 16), np.int16)
    rest = np.zeros(N); base1 = np.zeros(N)
    for s in range(0, N, B):
        x = torch.from_numpy(np.ascontiguousarray(arr[s:s + B].transpose(0, 3, 1, 2))).float()
        (keep, out, mu, ls, nll1), r = idf_batch(m, x)
        zz = torch.cat([keep, out], 1)
        assert zz.abs().max() < 32000 and torch.equal(zz, zz.round())
        lat[s:s + B] = zz.numpy().astype(np.int16)
        mus[s:s + B] = torch.round(mu * 16).numpy().astype(np.int16)
        lss[s:s + B] = torch.round(ls * 1024).numpy().astype(np.int16)
        rest[s:s + B] = r.numpy(); base1[s:s + B] = nll1.numpy()
        if s % 5000 == 0: print(s, time.time() - t0, flush=True)
    np.save("idf_lat.npy", lat); np.save("idf_mu16.npy", mus); np.save("idf_ls1024.npy", lss)
    np.save("idf_rest.npy", rest); np.save("idf_base1.npy", base1)
else:
    m = load_model("glow-rgb-v2").model.eval()
    lat = np.zeros((N, 12, 16, 16), np.float32); rest = np.zeros(N); base1 = np.zeros(N)
    for s in range(0, N, B):
        gen = torch.Generator().manual_seed(1234 + s)
        x = torch.from_numpy(np.ascontiguousarray(arr[s:s + B].transpose(0, 3, 1, 2))).float()
        (keep, out, nll1), r = glow_batch(m, x, gen)
        lat[s:s + B] = torch.cat([keep, out], 1).numpy()
        rest[s:s + B] = r.numpy(); base1[s:s + B] = nll1.numpy()
        if s % 5000 == 0: print(s, time.time() - t0, flush=True)
    np.save("glow_lat.npy", lat); np.save("glow_rest.npy", rest); np.save("glow_base1.npy", base1)
print("done", time.time() - t0)
