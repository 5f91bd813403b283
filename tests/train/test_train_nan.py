"""Non-finite losses: the update is skipped, the utterances are named, the weights roll
back after `nan_rollback_steps` bad steps in a row, and a second streak before any new
checkpoint stops the run with the likely causes (P2, P3)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.slow]

import torch  # noqa: E402
from _trainkit import lines, make_config, nan_mel_from_second_call, recording_console  # noqa: E402
from rich.console import Console  # noqa: E402

import vitscfg.model.losses as losses  # noqa: E402
from vitscfg.train.run import run_train  # noqa: E402


def test_nan_steps_are_skipped_rolled_back_then_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(
        tmp_path / "cfg",
        train_lines=lines("train.txt")[:4],
        train={"nan_rollback_steps": 2, "epochs": 100},
    )
    nan_mel_from_second_call(monkeypatch)
    console, buffer = recording_console()
    code = run_train(config, run_dir=tmp_path / "run", max_steps=50, console=console)
    out = buffer.getvalue()

    assert code == 1, out
    # skipped, with the offending utterances named (file:line path)
    assert out.count("non-finite g/mel") == 4, out
    assert "update skipped (1/2 in a row)" in out
    assert "train.txt:" in out and "wavs/tiny_00" in out
    # first streak: back to the newest checkpoint (G_0, written at step 0)
    assert "rolled back to G_0.pth" in out
    # second streak with no checkpoint since: stop with the causes
    assert "even after a rollback. Likely causes" in out
    assert "learning_rate" in out
    assert "step      1" in out  # the one good step was logged


def test_guard_leaves_weights_untouched(monkeypatch: pytest.MonkeyPatch) -> None:
    """train_step(guard=True) on a NaN loss: no optimiser steps, grads dropped."""
    import json

    from _trainkit import MICRO_MODEL, TINY

    from vitscfg.model import build_models
    from vitscfg.model.hparams import ModelHParams
    from vitscfg.train.step import Batch, StepState, make_optimizers, train_step

    cfg: dict[str, Any] = json.loads((TINY / "config.json").read_text())
    cfg["model"].update(MICRO_MODEL)
    cfg["train"]["segment_size"] = 1024
    torch.manual_seed(0)
    net_g, net_d = build_models(cfg)
    optim_g, optim_d = make_optimizers(net_g, net_d, 2e-4, (0.8, 0.99), 1e-9)
    state = StepState(
        net_g, net_d, optim_g, optim_d, torch.amp.GradScaler("cpu", enabled=False),
        ModelHParams.from_config(cfg), 45.0, 1.0,
    )  # fmt: skip
    text = torch.randint(1, 100, (2, 12))
    spec = torch.rand(2, 257, 40)
    wav = torch.rand(2, 1, 40 * 128) * 0.1
    lengths = torch.tensor([40, 36])
    batch = Batch(text, torch.tensor([12, 10]), spec, lengths, wav, lengths * 128, None, [0, 1])
    before_g = {k: v.clone() for k, v in net_g.state_dict().items()}
    before_d = {k: v.clone() for k, v in net_d.state_dict().items()}
    monkeypatch.setattr(losses, "kl_loss", lambda *a: torch.tensor(float("inf")))
    result = train_step(state, batch, guard=True)
    assert result.skipped and not result.stepped and not result.finite()
    assert all(torch.equal(before_g[k], v) for k, v in net_g.state_dict().items())
    assert all(torch.equal(before_d[k], v) for k, v in net_d.state_dict().items())
    assert all(p.grad is None for p in net_g.parameters())
    assert not optim_d.state and not optim_g.state


def test_out_of_memory_names_the_batch_and_the_estimate_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vitscfg.train.loop as loop

    def oom(*args: Any, **kwargs: Any) -> Any:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(loop, "train_step", oom)
    config = make_config(tmp_path / "cfg", train_lines=lines("train.txt")[:4])
    buffer = io.StringIO()
    console = Console(file=buffer, width=400, highlight=False, soft_wrap=True)
    code = run_train(config, run_dir=tmp_path / "run", max_steps=3, console=console)
    out = buffer.getvalue()
    assert code == 1, out
    assert "out of memory" in out and "batch_size 2" in out and "segment_size 2048" in out
    assert "longest text" in out and "frames" in out
    assert f"vitscfg estimate {config} --gpu" in out
