"""Ablation for issue #25: the same local prior (h=3, width 64, 2 residual layers, K=5) on
(a) pixels, (b) the IDF's finest-level factored-out latents, (c) the Glow's level-1 factored-out latents,
at equal training budget. Frozen flows' latents come from precompute.py. Estimates from float models."""
import os, argparse, json, math, time, io, lzma, sys, numpy as np, torch
sys.path.insert(0, os.environ.get("FLOWZIP_0_2", "../flowzip-0.2"))  # a checkout of 47cff20
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lp import LocalPrior
ap = argparse.ArgumentParser()
ap.add_argument("--mode", choices=["pix", "idf", "glow"], required=True)
ap.add_argument("--flowctx", type=int, default=0, help="also feed the flow prior's (mu, ls) and use them as reference")
ap.add_argument("--steps", type=int, default=3000); ap.add_argument("--batch", type=int, default=32)
ap.add_argument("--lr", type=float, default=2e-3); ap.add_argument("--warmup", type=int, default=100)
ap.add_argument("--eval_every", type=int, default=500); ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--out", required=True)
a = ap.parse_args()
torch.set_num_threads(1); torch.manual_seed(a.seed)
LN2, D = math.log(2), 3 * 32 * 32
N = 50000
flow_held = np.random.default_rng(0).permutation(N)[:1000]          # the shipped flows' held-out images
train_idx = np.setdiff1d(np.arange(48000), flow_held)                 # rows 0..47999 minus those
sets = {"h48k": np.arange(48000, 50000), "flowheld": np.sort(flow_held)}

if a.mode == "pix":
    arr = np.load(io.BytesIO(lzma.open(os.path.join(os.environ.get("DATA", "../shared/data"), "cifar10/train.npy.xz")).read()))
    model = LocalPrior(3, "pixel")
    def get(idx):
        return dict(x=torch.from_numpy(np.ascontiguousarray(arr[idx].transpose(0, 3, 1, 2))))
    rest = np.zeros(N)
elif a.mode == "idf":
    lat = np.load("idf_lat.npy"); mu16 = np.load("idf_mu16.npy"); ls1k = np.load("idf_ls1024.npy")
    rest = np.load("idf_rest.npy")
    def get(idx):
        z = torch.from_numpy(lat[idx].astype(np.float32))
        d = dict(x=z[:, 3:], ctx=z[:, :3])
        if a.flowctx:
            d.update(fmu=torch.from_numpy(mu16[idx].astype(np.float32) / 16), fls=torch.from_numpy(ls1k[idx].astype(np.float32) / 1024))
        return d
    s_out = float(lat[train_idx[:4000], 3:].std()); s_ctx = float(lat[train_idx[:4000], :3].std())
    model = LocalPrior(9, "int", ctx_channels=3, flow_feats=bool(a.flowctx), in_scale=1 / 16, ctx_scale=1 / (2 * s_ctx),
                       out_scale=16.0, ls_range=(-3.5, 6.5), ls_init=math.log(s_out / 1.81))
    print("idf out std", s_out, "ctx std", s_ctx)
else:
    from flowzip.zoo import load_model
    glow = load_model("glow-rgb-v2").model.eval()
    lat = np.load("glow_lat.npy"); rest = np.load("glow_rest.npy")
    def get(idx):
        z = torch.from_numpy(lat[idx])
        d = dict(x=z[:, 6:], ctx=z[:, :6])
        if a.flowctx:
            with torch.no_grad():
                mu, ls = glow.prior(glow.levels[0], d["ctx"])
            d.update(fmu=mu, fls=ls)
        return d
    s_out = float(lat[train_idx[:4000], 6:].std()); s_ctx = float(lat[train_idx[:4000], :6].std())
    model = LocalPrior(6, "cont", ctx_channels=6, flow_feats=bool(a.flowctx), in_scale=1 / s_out, ctx_scale=1 / s_ctx,
                       out_scale=s_out, ls_range=(-9.0, 3.0), ls_init=math.log(s_out / 1.81))
    print("glow out std", s_out, "ctx std", s_ctx)
print("params", sum(p.numel() for p in model.parameters()), flush=True)

@torch.no_grad()
def evaluate():
    res = {}
    for name, idx in sets.items():
        loc = np.concatenate([model.nll(**get(idx[i:i + 250])).double().numpy() for i in range(0, len(idx), 250)])
        res[name] = float((loc + rest[idx]).sum() / (len(idx) * D * LN2))
        res[name + "_part"] = float(loc.sum() / (len(idx) * D * LN2))  # the prior's share, in bits per image sub-pixel
    return res

rng = np.random.default_rng(1000 + a.seed)   # same image order for every mode
opt = torch.optim.Adam(model.parameters(), a.lr)
log = open(a.out + ".jsonl", "w"); t0 = time.time(); tl = None; train_s = 0.0
def record(step):
    r = dict(step=step, train=tl, t=round(time.time() - t0, 1), train_s=round(train_s, 1), **evaluate())
    print(r, flush=True); log.write(json.dumps(r) + "\n"); log.flush()
record(0)
for step in range(1, a.steps + 1):
    ts = time.time()
    lr = a.lr * min(1.0, step / a.warmup) * 0.5 * (1 + math.cos(math.pi * step / a.steps))
    for g in opt.param_groups: g["lr"] = lr
    b = get(np.sort(rng.choice(train_idx, a.batch)))
    loss = model.nll(**b).sum() / (a.batch * D * LN2)
    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
    tl = loss.item() if tl is None else 0.99 * tl + 0.01 * loss.item()
    train_s += time.time() - ts
    if step % a.eval_every == 0 or step == a.steps:
        record(step)
torch.save(model.state_dict(), a.out + ".pt")
