"""Loading a local prior from a training run or checkpoint (the scripts' common entry)."""

from __future__ import annotations

import pytest
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


def test_a_widened_network_computes_the_same_and_can_grow():
    torch.manual_seed(0)
    model = LocalPrior(LocalPriorConfig(3, 2, 8, 2, 2))
    wide = model.widened(12)
    assert wide.config.width == 12 and model.config.width == 8
    x = torch.randint(0, 256, (2, 3, 5, 7), dtype=torch.uint8)
    assert torch.allclose(wide.log_prob(x), model.log_prob(x), rtol=0, atol=1e-3)
    (-wide.log_prob(x).sum()).backward()
    assert wide.out.weight.grad[:, 8:].abs().sum() > 0  # the new units reach the outputs once trained
    with pytest.raises(ValueError, match="narrower"):
        model.widened(4)


def test_a_deepened_network_computes_nearly_the_same_and_can_grow():
    torch.manual_seed(0)
    model = LocalPrior(LocalPriorConfig(3, 2, 8, 1, 2))
    deep = model.deepened(3)
    assert deep.config.layers == 3 and model.config.layers == 1
    assert torch.equal(deep.hidden[0].weight, model.hidden[0].weight)
    x = torch.randint(0, 256, (2, 3, 5, 7), dtype=torch.uint8)
    assert torch.allclose(deep.log_prob(x), model.log_prob(x), rtol=1e-2)
    (-deep.log_prob(x).sum()).backward()
    assert deep.hidden[2].weight.grad.abs().sum() > 0  # the new layers learn
    with pytest.raises(ValueError, match="fewer"):
        model.deepened(0)


def test_a_network_with_a_larger_window_computes_the_same_and_can_grow():
    torch.manual_seed(0)
    model = LocalPrior(LocalPriorConfig(3, 2, 8, 1, 2))
    big = model.with_horizon(3)
    assert big.config.horizon == 3 and big.first.in_features == 4 * 24 and model.config.horizon == 2
    x = torch.randint(0, 256, (2, 3, 6, 9), dtype=torch.uint8)
    assert torch.allclose(big.log_prob(x), model.log_prob(x), rtol=0, atol=1e-3)
    (-big.log_prob(x).sum()).backward()
    assert big.first.weight.grad[:, :4].abs().sum() > 0  # the new corner position (-3, -3) learns
    with pytest.raises(ValueError, match="smaller"):
        model.with_horizon(1)


def test_the_outputs_stay_float32_under_a_bfloat16_autocast():
    model = LocalPrior(LocalPriorConfig(3, 2, 8, 1, 2))
    x = torch.randint(0, 256, (1, 3, 4, 4), dtype=torch.uint8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert model.outputs(x).dtype == torch.float32
