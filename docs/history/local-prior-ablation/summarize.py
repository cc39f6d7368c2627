import json, math, glob, numpy as np, os
N = 50000; D = 3072 * math.log(2)
fh = np.sort(np.random.default_rng(0).permutation(N)[:1000])
sets = {"h48k": np.arange(48000, 50000), "flowheld": fh}
print("baselines (float estimates, bits per sub-pixel):")
for f in ["idf", "glow"]:
    if not os.path.exists(f"{f}_rest.npy"): continue
    r, b = np.load(f"{f}_rest.npy"), np.load(f"{f}_base1.npy")
    print(f"  {f}: " + ", ".join(f"{n} total {(r + b)[i].mean() / D:.4f} (finest factor-out part {b[i].mean() / D:.4f})" for n, i in sets.items()))
print("local-prior runs (held-out bpd at each eval; total = local part + the flow's other levels):")
for p in sorted(glob.glob("*.jsonl")):
    rows = [json.loads(l) for l in open(p)]
    last = rows[-1]
    print(f"  {p}: steps {last['step']}, train_s {last['train_s']}, wall {last['t']}s")
    for r in rows:
        print(f"    step {r['step']:5d}  h48k {r['h48k']:.4f} (part {r['h48k_part']:.4f})  flowheld {r['flowheld']:.4f} (part {r['flowheld_part']:.4f})")
