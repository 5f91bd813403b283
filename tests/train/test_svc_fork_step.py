"""so-vits-svc's entry in the per-fork step registry: its batch and step on builder parts."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

pytest.importorskip("torch")

import torch  # noqa: E402

from tests.model.svc_golden import case_config  # noqa: E402
from vitscfg.model import build_nets  # noqa: E402
from vitscfg.model.svc import SvcSynthesizer  # noqa: E402
from vitscfg.train.fork_steps import FORK_STEPS, fork_step  # noqa: E402

pytestmark = pytest.mark.torch


def test_so_vits_svc_has_its_step() -> None:
    step = fork_step("so-vits-svc")
    assert step is FORK_STEPS["so-vits-svc"] and step.max_frames == 800
    batch = step.make_batch(case_config("wavenet-flow-vol"), 3, 20, torch.device("meta"))
    assert tuple(batch.c.shape) == (3, 32, 20) and tuple(batch.sid.shape) == (3, 1)
    assert tuple(batch.wave.shape) == (3, 1, 320) and len(step.batch_tensors(batch)) == 8


@pytest.mark.slow  # so-vits-svc's discriminator is full size (47 M parameters)
def test_so_vits_svc_step_runs_on_builder_parts() -> None:
    config = case_config("wavenet-flow-vol")
    nets = build_nets(config, "so-vits-svc")
    parts = SimpleNamespace(
        nets=nets,
        optimizers={n: torch.optim.AdamW(net.parameters(), 1e-4) for n, net in nets.items()},
        scaler=torch.amp.GradScaler("cpu", enabled=False),  # type: ignore[attr-defined]
        step=SimpleNamespace(precision="fp32"),
    )
    step = FORK_STEPS["so-vits-svc"]
    batch = step.make_batch(config, 2, 12, torch.device("cpu"))
    torch.manual_seed(0)
    batch.c.normal_()
    batch.f0.uniform_(80.0, 400.0)
    batch.uv.fill_(1.0)
    batch.vol.uniform_(0.0, 1.0)
    batch.spec.uniform_(0.01, 1.0)
    batch.wave.uniform_(-0.5, 0.5)
    net_g = nets["G"]
    assert isinstance(net_g, SvcSynthesizer)
    before = net_g.pre.weight.detach().clone()
    losses = step.run(config, parts, batch)
    assert all(torch.isfinite(v) for v in vars(losses).values())
    assert float(losses.lf0) > 0  # the F0 predictor is trained
    assert not torch.equal(before, net_g.pre.weight)  # G stepped
    with pytest.raises(TypeError, match="so-vits-svc step"):
        step.run(config, SimpleNamespace(**{**vars(parts), "nets": {"G": nets["D"]}}), batch)
