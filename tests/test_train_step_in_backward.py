"""The generator's optimiser step inside its backward (engines/training/step_in_backward.py) and D frozen
during G's step give the same training as the plain official order: same losses, same weights, same
optimiser state."""

from __future__ import annotations

import pytest
import torch

from regionpaint.engines.training.options import resolve_options
from regionpaint.engines.training.step_in_backward import StepInBackward
from regionpaint.engines.training.synthetic import write_dataset
from regionpaint.engines.training.trainer import Trainer

pytestmark = pytest.mark.slow  # trains (tiny runs)

TINY = {"ngf": 4, "ndf": 8, "batchSize": 2, "log_every": 1, "sample_every": 10**6, "save_every": 10**6, "steps": 3}
ENGINE_TINY = {
    "spade": {"crop_size": 64},
    "sean": {"crop_size": 32, "style_length": 8, "zencoder_ngf": 4},
    "pix2pixhd": {"crop_size": 32, "load_size": 32, "n_downsample_global": 2, "n_blocks_global": 1},
}


def run(engine, data, out, in_backward: bool, monkeypatch):
    monkeypatch.setattr(Trainer, "step_generator_in_backward", in_backward)
    opt = resolve_options(engine, data, out, {**TINY, **ENGINE_TINY[engine]}, "flat", "cpu")
    events: list[dict] = []
    trainer = Trainer(opt, events.append)
    trainer.run()
    losses = [e["losses"] for e in events if e["event"] == "step"]
    return trainer, losses


@pytest.mark.parametrize("engine", ["spade", "sean", "pix2pixhd"])
def test_stepping_in_backward_trains_exactly_as_the_plain_order(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))  # no VGG weights: no VGG term
    data = write_dataset(tmp_path / "data", "flat", count=2, size=(48, 48), label_nc=5)
    plain, plain_losses = run(engine, data, tmp_path / "plain", False, monkeypatch)
    fused, fused_losses = run(engine, data, tmp_path / "fused", True, monkeypatch)
    assert plain.step_in_backward is None and fused.step_in_backward is not None
    assert fused.step_in_backward.stepped > 10  # the hooks did the updates
    assert len(fused_losses) == len(plain_losses) == 3
    # Both orders run the same kernels on the same tensors (a frozen D still gets its input gradient from the
    # same backward primitive; Adam's per-parameter step is the optimiser's own): measured bit-identical for
    # all three engines. The tolerances only leave room for a backend that sums in another order; they are not
    # what makes the test pass.
    for a, b in zip(fused_losses, plain_losses, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-5, abs=1e-7), key
    for role in ("G", "D"):
        ours, theirs = fused.model.module(role).state_dict(), plain.model.module(role).state_dict()
        for key, value in theirs.items():
            assert torch.allclose(ours[key], value, rtol=1e-5, atol=1e-7), f"{role} {key}"
    g_plain = plain.run_dir.load_optimizers()["optimizer_G"]["state"]
    g_fused = fused.run_dir.load_optimizers()["optimizer_G"]["state"]
    assert g_plain.keys() == g_fused.keys()
    for index, state in g_plain.items():
        assert torch.equal(state["step"], g_fused[index]["step"])
        assert torch.allclose(state["exp_avg_sq"], g_fused[index]["exp_avg_sq"], rtol=1e-4, atol=1e-12)


def test_one_parameter_steps_equal_the_optimiser_step():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    twin = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    twin.load_state_dict(net.state_dict())
    adam = torch.optim.Adam(net.parameters(), lr=0.1, betas=(0.0, 0.9))
    twin_adam = torch.optim.Adam(twin.parameters(), lr=0.1, betas=(0.0, 0.9))
    hooks = StepInBackward(twin.parameters())
    x = torch.randn(5, 4)
    for _ in range(3):
        adam.zero_grad()
        net(x).square().sum().backward()
        adam.step()
        with hooks.stepping(twin_adam):
            twin(x).square().sum().backward()
        assert hooks.stepped == 4 and all(p.grad is None for p in twin.parameters())
    for p, q in zip(net.parameters(), twin.parameters(), strict=True):
        assert torch.equal(p, q)  # bit for bit: the same Adam arithmetic on the same gradients, one process
    ours, theirs = twin_adam.state_dict(), adam.state_dict()
    assert ours["param_groups"] == theirs["param_groups"]
    assert sorted(ours["state"]) == sorted(theirs["state"])  # filled in backward order, same entries
    for index, state in theirs["state"].items():
        for key, value in state.items():
            assert torch.equal(ours["state"][index][key], value), (index, key)
