"""Loading a local prior from a training run or checkpoint (the scripts' common entry)."""

from __future__ import annotations

import torch

from flowzip.models.localprior import LocalPrior, LocalPriorConfig, load_run


def test_a_run_and_a_checkpoint_load_the_same_network(tmp_path):
    model = LocalPrior(LocalPriorConfig(3, 2, 8, 1, 2))
    state = model.state_dict()
    run = tmp_path / "run.pt"  # scripts/gpu/train_local.py: snapshots, the last one counts
    torch.save(dict(config=model.config.to_dict(), snaps=[dict(state={k: v * 0 for k, v in state.items()}),
                                                         dict(state=state)]), run)
    checkpoint = tmp_path / "checkpoint.pt"  # scripts/train/local_cifar_cpu.py
    torch.save(dict(config=model.config.to_dict(), state=state), checkpoint)
    for path in (run, checkpoint):
        loaded = load_run(path)
        assert loaded.config == model.config
        assert all(torch.equal(loaded.state_dict()[k], v) for k, v in state.items())


def test_the_first_sessions_runs_lose_their_activity_inputs(tmp_path):
    """Runs whose config used the first session's key names and whose first layer read two more
    inputs per window position: those columns are dropped."""
    model = LocalPrior(LocalPriorConfig(3, 2, 8, 1, 2))
    state = dict(model.state_dict())
    wide = torch.cat([state["first.weight"], torch.ones(8, 2 * 12)], 1)
    path = tmp_path / "old.pt"
    torch.save(dict(config=dict(h=2, width=8, layers=1, mix=2), snaps=[dict(state={**state, "first.weight": wide})]),
               path)
    loaded = load_run(path)
    assert loaded.config == model.config
    assert torch.equal(loaded.first.weight, state["first.weight"])
