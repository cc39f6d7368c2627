"""Training loop: random crops, Adam with warm-up, an EMA of the weights, held-out bpd,
checkpoints with resume, and a JSON-lines log.

A run is described by a JSON config::

    {"family": "idf", "model": {...IDFConfig fields...},
     "train": {"steps": ..., "batch": ..., "lr": ..., ...},
     "data": {"arrays": ["../shared/data/cifar10/train.npy.xz"], "folders": [...], ...}}
"""

from __future__ import annotations

import copy
import json
import math
import os
import pickle
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import distributed as dist
from torch.nn.parallel import DistributedDataParallel

from .. import families, zoo
from ..images.image import read_array
from .data import CropSampler, load_folder, to_gray
from ..errors import FlowzipError, ModelError


@dataclass
class TrainConfig:
    steps: int = 10000
    batch: int = 64
    lr: float = 1e-3
    warmup: int = 500
    lr_decay_end: float = 0.1  # cosine decay to this fraction of lr at the last step
    ema: float = 0.999
    crop: int = 32
    photo_fraction: float = 0.25
    held_out: int = 1000  # images kept out of the first array, for held-out bpd
    held_out_photos: int = 20  # photos kept out of training, for held-out bpd on whole photos
    eval_every: int = 1000
    checkpoint_every: int = 500
    seed: int = 0
    threads: int = 0  # 0: torch's default
    init: str = ""  # start from these weights (a shipped model's name or an exported .json): fine-tuning
    stop_at: int = 0  # end the run at this step (0: at ``steps``), keeping the schedule of ``steps``
    max_wall_s: float = 0  # end the run (with a checkpoint) once it has trained this long; 0: no limit


@dataclass
class DataConfig:
    arrays: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    jpeg_downsample: float | list[float] = 2  # several factors: each JPEG photo at several scales


def _lr_at(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (cfg.lr_decay_end + (1 - cfg.lr_decay_end) * 0.5 * (1 + math.cos(math.pi * progress)))


@torch.no_grad()
def held_out_bpd(model, images: list[np.ndarray], device: torch.device, batch: int = 250) -> float:
    """Bits per sub-pixel of the model's likelihood over uint8 images (C, H, W), pooled; images of
    one shape are batched together."""
    model.eval()
    nats, subpixels = 0.0, 0
    by_shape: dict[tuple, list[np.ndarray]] = {}
    for im in images:
        by_shape.setdefault(im.shape, []).append(im)
    for group in by_shape.values():
        for i in range(0, len(group), batch):
            x = torch.from_numpy(np.stack(group[i : i + batch])).to(device, torch.float32)
            nats += -model.log_prob(x).sum().item()
            subpixels += x.numel()
    return nats / (subpixels * math.log(2))


def _distributed(device: torch.device) -> tuple[int, int]:
    """(rank, world size); joins the process group when started by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def _held_out(arrays: list[np.ndarray], photos: list[list[np.ndarray]], cfg: TrainConfig, multiple: int):
    """Split off held-out images (never trained on): some of the first array, and some photo files
    (``photos`` holds each file's versions; a held-out file is measured at its first, cropped to a
    multiple of the model's size unit). Returns (arrays, training photos, held-out sets)."""
    rng = np.random.default_rng(cfg.seed)
    held = {}
    if arrays and cfg.held_out:
        order = rng.permutation(len(arrays[0]))
        held["array"] = list(arrays[0][order[: cfg.held_out]])
        arrays = [arrays[0][np.sort(order[cfg.held_out :])], *arrays[1:]]
    if photos and cfg.held_out_photos and len(photos) > cfg.held_out_photos:
        order = rng.permutation(len(photos))
        held["photos"] = [p[: p.shape[0] // multiple * multiple, : p.shape[1] // multiple * multiple]
                          for p in (photos[i][0] for i in order[: cfg.held_out_photos])]
        photos = [photos[i] for i in np.sort(order[cfg.held_out_photos :])]
    return arrays, [p for versions in photos for p in versions], held


def _out_of_time(elapsed: float, limit: float, world: int) -> bool:
    """Whether the run's time is used up, agreed by every process of a distributed run."""
    over = elapsed >= limit
    if world > 1:
        flag = torch.tensor([float(over)])
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        over = bool(flag.item())
    return over


def _load_initial_weights(model: torch.nn.Module, config: dict, init: str) -> None:
    """Copy a released model's weights into ``model``; its family and architecture must match, or
    the model must be a grown version of it (``grow_from``: more couplings, starting as identities)."""
    source = zoo.load_model(init)
    family = families.by_name(config["family"])
    if source.family is family and source.card["config"] == config["model"]:
        model.load_state_dict(source.model.state_dict())
        return
    try:
        if source.family is not family or not hasattr(model, "grow_from"):
            raise ValueError
        model.grow_from(source.model)
    except ValueError:
        raise ModelError(f"init model {init!r} has another family or architecture than this config") from None


def load_checkpoint(path: str | Path, device="cpu") -> dict:
    """A training checkpoint, loaded without running pickled code (``weights_only``): it may hold
    tensors, numbers, strings and containers of them, nothing else."""
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError:
        raise FlowzipError(f"{path}: refused, the checkpoint holds objects other than weights and numbers "
                           "(loading it could run code)") from None
    except (OSError, RuntimeError, EOFError, ValueError) as e:
        raise FlowzipError(f"{path}: not a readable training checkpoint ({e})") from None
    missing = {"model", "ema", "step", "config"} - set(state if isinstance(state, dict) else ())
    if missing:
        raise FlowzipError(f"{path}: not a flowzip training checkpoint (it lacks {', '.join(sorted(missing))})")
    return state


def train(config: dict, out_dir: str | Path, resume: bool = False, device: str = "cpu",
          log=print, progress=None) -> Path:
    """Train the model ``config`` describes; checkpoints and ``log.jsonl`` go to ``out_dir``.
    ``progress(step, status)`` is called after every step. Under torchrun, each process trains on
    its own crops, gradients are averaged (DistributedDataParallel) and rank 0 logs and saves.
    Returns the path of the final checkpoint."""
    out_dir = Path(out_dir)
    tcfg = TrainConfig(**config.get("train", {}))
    dcfg = DataConfig(**config.get("data", {}))
    if tcfg.threads:
        torch.set_num_threads(tcfg.threads)
    dev = torch.device(device)
    rank, world = _distributed(dev)
    main_process = rank == 0
    if main_process:
        out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(tcfg.seed)
    model = families.by_name(config["family"]).build(config["model"]).to(dev)
    if tcfg.init:  # before loading data, so that a wrong name fails at once
        _load_initial_weights(model, config, tcfg.init)
    channels = config["model"].get("channels", 3)

    arrays = [read_array(p) for p in dcfg.arrays]
    photos = [im for folder in dcfg.folders for im in load_folder(folder, dcfg.jpeg_downsample)]
    arrays, photos, held = _held_out(arrays, photos, tcfg, model.multiple)
    sampler = CropSampler(arrays, photos, tcfg.crop, tcfg.photo_fraction, channels, [tcfg.seed + 1, rank])
    held = {k: [np.ascontiguousarray((to_gray(im) if channels == 1 else im).transpose(2, 0, 1)) for im in v]
            for k, v in held.items()}

    # data-dependent initialisation (actnorm) of a fresh model, before DDP syncs ranks
    if not tcfg.init and hasattr(model, "initialize"):
        model.initialize(torch.from_numpy(sampler.batch(tcfg.batch)).to(dev, torch.float32))
    opt = torch.optim.Adam(model.parameters(), lr=tcfg.lr)
    ema = copy.deepcopy(model).requires_grad_(False)
    step, images_seen, wall = 0, 0, 0.0
    ckpt_path = out_dir / "checkpoint.pt"
    if resume and ckpt_path.exists():
        state = load_checkpoint(ckpt_path, dev)
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["opt"])
        step, images_seen, wall = state["step"], state["images_seen"], state["wall"]
        sampler.rng = np.random.default_rng([tcfg.seed + 1, rank, step])
        log(f"resumed from step {step}")
    trained = DistributedDataParallel(model) if world > 1 else model  # forward() is log_prob()

    def save():
        state = {"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
                 "step": step, "images_seen": images_seen, "wall": wall, "config": config}
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save(state, tmp)
        tmp.replace(ckpt_path)

    log_file = open(out_dir / "log.jsonl", "a") if main_process else None
    t0, window_bpd, window_n = time.time(), 0.0, 0
    last = tcfg.stop_at or tcfg.steps
    while step < last:
        model.train()
        for group in opt.param_groups:
            group["lr"] = _lr_at(step, tcfg)
        x = torch.from_numpy(sampler.batch(tcfg.batch)).to(dev, torch.float32)
        bpd = -trained(x).mean() / (x[0].numel() * math.log(2))
        opt.zero_grad(set_to_none=True)
        bpd.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 100.0)
        opt.step()
        with torch.no_grad():
            decay = min(tcfg.ema, (1 + step) / (10 + step))
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.lerp_(pm, 1 - decay)
        step += 1
        images_seen += tcfg.batch * world
        window_bpd += bpd.item()
        window_n += 1
        if progress and main_process:
            progress(step, f"bpd {bpd.item():.3f}")
        if main_process and (step % 50 == 0 or step == last):
            now = time.time()
            wall += now - t0
            rate = window_n * tcfg.batch * world / max(now - t0, 1e-9)
            record = {"step": step, "images_seen": images_seen, "train_bpd": window_bpd / window_n,
                      "lr": _lr_at(step - 1, tcfg), "images_per_s": rate, "wall_s": wall, "processes": world}
            if step % tcfg.eval_every == 0 or step == last:
                for name, images in held.items():
                    record[f"held_out_{name}_bpd"] = held_out_bpd(ema, images, dev)
            log_file.write(json.dumps(record) + "\n")
            log_file.flush()
            log(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items()))
            if step % tcfg.checkpoint_every == 0 or step == last:
                save()
            t0, window_bpd, window_n = time.time(), 0.0, 0
            if progress:
                progress(0, f"bpd {record['train_bpd']:.3f}, {rate:.0f} img/s")
        if tcfg.max_wall_s and step % 10 == 0 and _out_of_time(wall + time.time() - t0, tcfg.max_wall_s, world):
            log(f"stopped at step {step}: the run's {tcfg.max_wall_s:.0f} s are used up")
            break
    if main_process:
        log_file.close()
        save()
    if world > 1:
        dist.barrier()
    return ckpt_path


def export_checkpoint(checkpoint: str | Path, name: str, out_dir: str | Path, card: dict | None = None) -> Path:
    """Write a checkpoint's EMA weights as a release model ``NAME`` (see ``zoo.export``)."""
    state = load_checkpoint(checkpoint)
    config = state["config"]
    model = families.by_name(config["family"]).build(config["model"])
    model.load_state_dict(state["ema"])
    record = {"training": {"config": config, "steps": state["step"], "images_seen": state["images_seen"],
                           "wall_s": round(state["wall"], 1)}}
    record.update(card or {})
    return zoo.export(model, config["family"], config["model"], name, out_dir, record)
