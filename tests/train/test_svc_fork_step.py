"""so-vits-svc's entry in the per-fork step registry: its batch and step on builder parts."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

pytest.importorskip("torch")

import torch  # noqa: E402

from tests.model.svc_golden import case_config  # noqa: E402
from vitscfg.model import build_nets  # noqa: E402
from vitscfg.train.fork_steps import FORK_STEPS, fork_step  # noqa: E402

pytestmark = pytest.mark.torch


def test_so_vits_svc_has_its_step() -> None:
    step = fork_step("so-vits-svc")
    assert step is FORK_STEPS["so-vits-svc"] and step.max_frames == 800
    batch = step.make_batch(case_config("wavenet-flow-vol"), 3, 20, torch.device("meta"))
    assert tuple(batch.c.shape) == (3, 32, 20) and tuple(batch.sid.shape) == (3, 1)
    assert tuple(batch.wave.shape) == (3, 1, 320) and len(step.batch_tensors(batch)) == 8


@pytest.mark.slow  # the full-size discriminator (47 M parameters), on fake tensors
def test_so_vits_svc_step_runs_on_builder_parts() -> None:
    """The registry's glue on fake tensors (shapes only, as the estimator's fake backend; the
    step's numbers: tests/model/test_svc_parity.py)."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    from vitscfg.model.mel import hann_window, mel_filterbank

    config = case_config("wavenet-flow-vol")
    cpu = torch.device("cpu")
    data = config["data"]
    # Real cached filterbank and window first, as the estimator warms them (a cache filled
    # inside the fake mode would keep fake tensors).
    mel_filterbank(
        data["filter_length"], data["n_mel_channels"], data["sampling_rate"], 0.0, None, cpu
    )
    hann_window(data["win_length"], cpu)
    with FakeTensorMode(allow_non_fake_inputs=True):
        nets = build_nets(config, "so-vits-svc")
        parts = SimpleNamespace(
            nets=nets,
            optimizers={n: torch.optim.AdamW(net.parameters(), 1e-4) for n, net in nets.items()},
            scaler=torch.amp.GradScaler("cpu", enabled=False),  # type: ignore[attr-defined]
            step=SimpleNamespace(precision="fp32"),
        )
        step = FORK_STEPS["so-vits-svc"]
        batch = step.make_batch(config, 2, 12, cpu)
        losses = step.run(config, parts, batch)
        assert set(vars(losses)) == {"disc", "gen", "fm", "mel", "kl", "lf0", "gen_all"}
        assert all(v.shape == () for v in vars(losses).values())
        assert all(p.grad is not None for p in nets["G"].parameters())  # G's backward ran
        with pytest.raises(TypeError, match="so-vits-svc step"):
            step.run(config, SimpleNamespace(**{**vars(parts), "nets": {"G": nets["D"]}}), batch)
