"""VITS2's step with what the trainer adds (vitscfg/train/vits2_step.py): the NaN guard
skips a non-finite step without changing any network, gradient accumulation steps the
three optimizers once per ``micro_batches`` with D and the duration discriminator keeping
only their own gradients, and the step runs under bf16 and fp16 autocast on the CPU."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.slow]

import torch  # noqa: E402
from _trainkit import MICRO_MODEL  # noqa: E402
from _vits2kit import EXAMPLE  # noqa: E402
from torch import nn  # noqa: E402

import vitscfg.model.losses as losses  # noqa: E402
from vitscfg.model import build_nets  # noqa: E402
from vitscfg.model.synthesizer import SynthesizerTrn  # noqa: E402
from vitscfg.train.step import Batch  # noqa: E402
from vitscfg.train.vits2_step import (  # noqa: E402
    Vits2StepResult,
    vits2_trace_batch,
    vits2_train_step,
)

Nets = dict[str, nn.Module]


def _setup(seed: int = 0) -> tuple[Nets, dict[str, torch.optim.Optimizer], Batch]:
    config: dict[str, Any] = json.loads(EXAMPLE.read_text())
    config["model"].update(MICRO_MODEL)
    config["train"]["segment_size"] = 2048
    torch.manual_seed(seed)
    nets = build_nets(config, dialect="vits2")
    assert set(nets) == {"G", "D", "DurDisc"}
    generator = nets["G"]
    assert isinstance(generator, SynthesizerTrn)
    batch = vits2_trace_batch(generator.hp, 2, 16, 40, torch.device("cpu"))
    batch.text.random_(1, 100)
    batch.spec.normal_()
    batch.wav.uniform_(-0.5, 0.5)
    optimizers = {n: torch.optim.AdamW(net.parameters(), 2e-4) for n, net in nets.items()}
    return nets, optimizers, batch


def _step(nets: Nets, optimizers: Any, batch: Batch, **kw: Any) -> Vits2StepResult:
    return vits2_train_step(nets, optimizers, batch, c_mel=45.0, c_kl=1.0, global_step=0, **kw)


def _copy(nets: Nets) -> dict[str, list[torch.Tensor]]:
    return {n: [p.detach().clone() for p in net.parameters()] for n, net in nets.items()}


def _changed(nets: Nets, before: dict[str, list[torch.Tensor]]) -> set[str]:
    return {
        n
        for n, net in nets.items()
        if any(not torch.equal(a, b) for a, b in zip(before[n], net.parameters(), strict=True))
    }


def test_guard_skips_a_non_finite_step_and_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nets, optimizers, batch = _setup()
    before = _copy(nets)
    real: Callable[..., Any] = losses.kl_loss
    monkeypatch.setattr(losses, "kl_loss", lambda *a: real(*a) * float("nan"))
    result = _step(nets, optimizers, batch, guard=True)
    assert result.skipped and not result.stepped
    assert not torch.isfinite(result.losses["g/kl"])
    assert _changed(nets, before) == set()  # DurDisc and D were checked before stepping
    assert all(p.grad is None for net in nets.values() for p in net.parameters())
    assert all(not opt.state for opt in optimizers.values())

    # Unguarded, the same step applies its NaN updates (what the guard prevents).
    _step(nets, optimizers, batch)
    weights = torch.cat([p.detach().flatten() for p in nets["G"].parameters()])
    assert not bool(torch.isfinite(weights).all())


def test_guard_on_g_alone_keeps_g(monkeypatch: pytest.MonkeyPatch) -> None:
    """A non-finite adversarial loss shows only at G's check: D and the duration
    discriminator have stepped (as in VITS's step), G has not."""
    nets, optimizers, batch = _setup()
    before = _copy(nets)
    real: Callable[..., Any] = losses.feature_loss
    monkeypatch.setattr(losses, "feature_loss", lambda *a: real(*a) * float("nan"))
    result = _step(nets, optimizers, batch, guard=True)
    assert result.skipped
    assert _changed(nets, before) == {"D", "DurDisc"}


def _critic_grads(nets: Nets) -> list[torch.Tensor]:
    params = [p for n in ("D", "DurDisc") for p in nets[n].parameters()]
    # dur_disc_1 never applies its norms: those have no gradient.
    return [torch.zeros_like(p) if p.grad is None else p.grad.clone() for p in params]


def test_accumulation_steps_once_and_critics_keep_their_own_gradients(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nets, optimizers, batch = _setup()
    before = _copy(nets)
    torch.manual_seed(1)
    first = _step(nets, optimizers, batch, micro_index=0, micro_batches=2, guard=True)
    assert not first.stepped and not first.skipped and first.grad_norms == {}
    assert _changed(nets, before) == set() and all(not o.state for o in optimizers.values())
    with_g_terms = _critic_grads(nets)

    # The same micro-batch with G's adversarial terms zeroed: D's and the duration
    # discriminator's gradients are the same, so G's loss added nothing to them.
    nets_b, optimizers_b, batch_b = _setup()
    zero: Callable[..., Any] = lambda *a: (torch.zeros(()), [])  # noqa: E731
    monkeypatch.setattr(losses, "generator_loss", zero)
    monkeypatch.setattr(losses, "feature_loss", lambda *a: torch.zeros(()))
    torch.manual_seed(1)
    _step(nets_b, optimizers_b, batch_b, micro_index=0, micro_batches=2)
    without = _critic_grads(nets_b)
    assert all(torch.equal(a, b) for a, b in zip(with_g_terms, without, strict=True))

    # Without accumulation they do differ (the fork's step lets G's loss reach them):
    # the comparison above can fail.
    monkeypatch.undo()
    nets_c, optimizers_c, batch_c = _setup()
    torch.manual_seed(1)
    _step(nets_c, optimizers_c, batch_c)
    assert not all(
        torch.equal(a, b * 2) for a, b in zip(_critic_grads(nets_c), with_g_terms, strict=True)
    )

    second = _step(nets, optimizers, batch, micro_index=1, micro_batches=2, guard=True)
    assert second.stepped and set(second.grad_norms) == {"G", "D", "DurDisc"}
    assert _changed(nets, before) == {"G", "D", "DurDisc"}
    assert all(len(o.state) > 0 for o in optimizers.values())


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_on_the_cpu(precision: str) -> None:
    nets, optimizers, batch = _setup()
    before = _copy(nets)
    # fp16: a small first scale, so that the micro model's first step does not overflow
    # (the GradScaler's default 65536 does, and the guard would skip it).
    scaler = torch.amp.GradScaler("cpu", enabled=precision == "fp16", init_scale=16.0)  # type: ignore[attr-defined]
    result = _step(nets, optimizers, batch, precision=precision, scaler=scaler, guard=True)
    assert not result.skipped and result.stepped
    assert all(bool(torch.isfinite(v)) for v in result.losses.values()), result.losses
    assert _changed(nets, before) == {"G", "D", "DurDisc"}


@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_mixed_precision_on_a_gpu(precision: str) -> None:
    """On CUDA with torch's default GradScaler: the first fp16 steps may overflow and be
    skipped while the scale backs off; one of the first 8 steps applies, with finite
    losses."""
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bfloat16")
    nets, _, batch = _setup()
    cuda = torch.device("cuda")
    nets = {n: net.to(cuda) for n, net in nets.items()}
    optimizers = {n: torch.optim.AdamW(net.parameters(), 2e-4) for n, net in nets.items()}
    scaler = torch.amp.GradScaler("cuda", enabled=precision == "fp16")  # type: ignore[attr-defined]
    for _ in range(8):
        result = _step(
            nets, optimizers, batch.to(cuda), precision=precision, scaler=scaler, guard=True
        )
        if not result.skipped:
            break
    assert not result.skipped and result.stepped
    assert all(bool(torch.isfinite(v)) for v in result.losses.values()), result.losses
