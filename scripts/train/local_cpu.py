"""The CPU fine-tuning loop of the local priors (one thread), shared by ``local_cifar_cpu.py`` and
``local_photos_cpu.py``: Adam, 200 warm-up steps, cosine decay to 5 % of ``--lr``; every
``--eval-every`` steps the held-out bpd (float32) is logged (OUT.jsonl: step, training loss, held-out bpd,
seconds) and OUT.pt written (weights, optimizer state, step; ``--resume`` continues from it, the
batches' random draws starting again). ``--average D`` also keeps an exponential moving average of
the weights (decay D a step), logs its held-out bpd beside the live one (``held_avg``) and writes it
as OUT.avg.pt, a checkpoint ``load_run`` and ``export_local.py`` read as they read OUT.pt."""

from __future__ import annotations

import argparse
import json
import math
import time


def arguments(doc: str) -> argparse.ArgumentParser:
    """The options every CPU recipe takes."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--init", required=True, help="a run of scripts/gpu/train_local.py, a checkpoint of these or a shipped card (pretrained/NAME.json)")
    ap.add_argument("--out", required=True, help="OUT.pt and OUT.jsonl are written")
    ap.add_argument("--steps", type=int, default=11000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--eval-every", type=int, default=1000)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--seed", type=int, default=1, help="the batches' and flips' random draws")
    ap.add_argument("--width", type=int, help="widen the network of --init to this width (same function at first)")
    ap.add_argument("--layers", type=int, help="deepen the network of --init to this many residual layers (nearly the same function at first)")
    ap.add_argument("--horizon", type=int, help="widen the causal window of --init to this horizon (same function at first)")
    ap.add_argument("--bf16", action="store_true", help="the inner layers' products in bfloat16 (autocast)")
    ap.add_argument("--average", type=float, metavar="D", help="also keep the weights' moving average, decay D a step (e.g. 0.999)")
    return ap


def setup(doc: str):
    """(options, the model of ``--init``, the batches' random generator): one thread, seeded."""
    import numpy as np
    import torch

    from flowzip.models.localprior import load_run

    a = arguments(doc).parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    if a.init.endswith(".json"):  # a model's card: its float network (loaded for this run alone)
        from flowzip import zoo

        model = zoo.load_model(a.init).model.train().requires_grad_(True)
    else:
        model = load_run(a.init)
    if a.width:
        model = model.widened(a.width)
    if a.layers:
        model = model.deepened(a.layers)
    if a.horizon:
        model = model.with_horizon(a.horizon)
    return a, model, np.random.default_rng(a.seed)


def held_out_of(model, weights, held_out_bpd) -> float:
    """The held-out bpd of ``model`` with ``weights`` (a list like its parameters) put in for the
    measurement; its own weights are back afterwards."""
    import torch

    params = list(model.parameters())
    live = [p.detach().clone() for p in params]
    with torch.no_grad():
        for p, w in zip(params, weights):
            p.copy_(w)
        try:
            return held_out_bpd()
        finally:
            for p, w in zip(params, live):
                p.copy_(w)


def train(model, next_batch, held_out_bpd, a) -> None:
    """Fine-tune ``model`` on ``next_batch()`` ((B, 3, H, W) uint8 tensors) as ``a`` says."""
    import torch

    opt = torch.optim.Adam(model.parameters(), a.lr)
    start = 0
    average = [p.detach().clone() for p in model.parameters()] if a.average else None
    if a.resume:
        ck = torch.load(a.out + ".pt")
        model.load_state_dict(ck["state"])
        opt.load_state_dict(ck["opt"])
        start = ck["step"]
        if average is not None:
            average = ck.get("average") or [p.detach().clone() for p in model.parameters()]
    log = open(a.out + ".jsonl", "a")
    if start == 0:
        log.write(json.dumps(dict(step=0, held=held_out_bpd())) + "\n")
        log.flush()
    t0, ema = time.time(), None
    for step in range(start + 1, a.steps + 1):
        for g in opt.param_groups:
            g["lr"] = a.lr * min(1.0, step / 200) * (0.05 + 0.475 * (1 + math.cos(math.pi * step / a.steps)))
        x = next_batch()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
            loss = -model.log_prob(x).sum() / x.numel() / math.log(2)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if average is not None:
            with torch.no_grad():
                for mean, p in zip(average, model.parameters()):
                    mean.lerp_(p, 1 - a.average)
        ema = loss.item() if ema is None else 0.99 * ema + 0.01 * loss.item()
        if step % a.eval_every == 0 or step == a.steps:
            record = dict(step=step, train=round(ema, 4), held=round(held_out_bpd(), 4))
            if average is not None:
                record["held_avg"] = round(held_out_of(model, average, held_out_bpd), 4)
            record["t"] = round(time.time() - t0)
            print(record, flush=True)
            log.write(json.dumps(record) + "\n")
            log.flush()
            config = model.config.to_dict()
            torch.save(dict(config=config, state=model.state_dict(), opt=opt.state_dict(), step=step, average=average),
                       a.out + ".pt")
            if average is not None:
                names = [n for n, _ in model.named_parameters()]
                torch.save(dict(config=config, state=dict(zip(names, average)), step=step), a.out + ".avg.pt")
