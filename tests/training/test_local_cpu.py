"""The local priors' CPU fine-tuning loop (scripts/train/local_cpu.py): its weights' moving average,
and scripts/train/soup.py, which averages runs."""

from __future__ import annotations

import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import pytest
import torch

from flowzip.models.localprior import LocalPrior, LocalPriorConfig, load_run

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts" / "train"
sys.path.insert(0, str(SCRIPTS))
from local_cpu import held_out_of, train  # noqa: E402


def _options(out, **kw):
    return Namespace(**{**dict(lr=1e-3, steps=3, eval_every=3, bf16=False, resume=False, average=None, out=str(out)), **kw})


def _batch():
    return torch.randint(0, 256, (2, 3, 4, 4), dtype=torch.uint8)


def test_the_moving_average_is_logged_and_written_as_a_checkpoint(tmp_path):
    torch.manual_seed(0)
    model = LocalPrior(LocalPriorConfig(3, 1, 8, 1, 2))
    start = [p.detach().clone() for p in model.parameters()]
    held = [_batch() for _ in range(2)]
    bpd = lambda: -sum(model.log_prob(x).sum().item() for x in held)  # noqa: E731
    train(model, _batch, bpd, _options(tmp_path / "ft", average=0.5))
    records = (tmp_path / "ft.jsonl").read_text().splitlines()
    assert '"held_avg"' in records[-1]
    averaged = load_run(tmp_path / "ft.avg.pt")
    live = load_run(tmp_path / "ft.pt")
    assert all(torch.equal(a, b) for a, b in zip(live.parameters(), model.parameters()))
    for s, a, p in zip(start, averaged.parameters(), model.parameters()):
        assert not torch.equal(a, p) and not torch.equal(a, s)  # between the start and the end


def test_held_out_of_puts_the_weights_back():
    model = LocalPrior(LocalPriorConfig(3, 1, 8, 1, 2))
    before = [p.detach().clone() for p in model.parameters()]
    zeros = [torch.zeros_like(p) for p in before]
    seen = held_out_of(model, zeros, lambda: sum(p.abs().sum().item() for p in model.parameters()))
    assert seen == 0
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_soup_averages_runs_of_one_network_and_refuses_others(tmp_path):
    paths = []
    for i, width in enumerate((8, 8, 16)):
        torch.manual_seed(i)
        model = LocalPrior(LocalPriorConfig(3, 1, width, 1, 2))
        paths.append(tmp_path / f"run{i}.pt")
        torch.save(dict(config=model.config.to_dict(), state=model.state_dict()), paths[-1])
    soup = tmp_path / "soup.pt"
    run = [sys.executable, str(SCRIPTS / "soup.py")]
    subprocess.run(run + [str(paths[0]), str(paths[1]), "--out", str(soup)], check=True, capture_output=True)
    a, b, mixed = (load_run(p).state_dict() for p in (paths[0], paths[1], soup))
    assert all(torch.allclose(mixed[k], (a[k] + b[k]) / 2) for k in a)
    refused = subprocess.run(run + [str(paths[0]), str(paths[2]), "--out", str(tmp_path / "no.pt")],
                             capture_output=True, text=True)
    assert refused.returncode != 0 and "differ" in refused.stderr and not (tmp_path / "no.pt").exists()


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
