"""ONE training step of VITS: discriminator update, then generator update.

This function is what `vitscfg train` runs and what `vitscfg estimate` measures
(on a GPU) or traces with fake tensors (without one): a prediction is only worth
something if it is about exactly this code.

Order and losses follow the reference loop (jaywalnut310/vits train.py):
forward G; cut the real waveform and mel at the same random segment; D on
(real, fake.detach()) with the LSGAN loss; step D; D on (real, fake) for the
adversarial + feature-matching losses; mel L1 x c_mel + KL x c_kl + duration;
step G. STFT/mel and every loss run in float32 outside autocast.

Two deliberate differences, both numerically neutral for one micro-batch:
- D's parameters do not collect gradients from G's loss (the reference computes
  them and throws them away at the next zero_grad): less memory and time.
- Gradient accumulation (`micro_batches > 1`): every micro-batch back-propagates
  both losses; D and G step once after the last one, G's adversarial pass seeing
  the D of the previous update.

`guard=True` (the trainer's NaN/Inf protection: fp16 overflow and bad clips turn the
weights to NaN in the reference, which trains on silently): before each
optimiser step, one host sync checks that the losses and the gradient norm are
finite; if not, the gradients are dropped, that optimiser does not step and the
result says `skipped`. D is checked on its loss and the G losses that do not
depend on D (mel, KL, duration: a NaN forward of G shows there first), so a bad
batch normally changes nothing; G is checked again on its full loss. Under DDP
the verdict is agreed across ranks (all-reduce), so ranks never diverge.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
from torch import nn

from vitscfg.model import losses as L
from vitscfg.model.commons import slice_segments
from vitscfg.model.hparams import ModelHParams
from vitscfg.train.mel_pair import fake_mel, real_mel

PRECISIONS = ("fp32", "fp16", "bf16")


@dataclass
class Batch:
    """A padded batch as the collate function returns it; tensors on the step's device."""

    text: torch.Tensor  # (B, T_text) long
    text_lengths: torch.Tensor  # (B,)
    spec: torch.Tensor  # (B, F, T_spec) linear magnitude
    spec_lengths: torch.Tensor  # (B,)
    wav: torch.Tensor  # (B, 1, T_wav) in [-1, 1]
    wav_lengths: torch.Tensor  # (B,)
    sid: torch.Tensor | None = None  # (B,) speaker ids, multi-speaker only
    ids: list[int] = field(default_factory=list)  # utterance indices, for NaN reports

    def to(self, device: torch.device) -> Batch:
        def move(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(device, non_blocking=True)

        return Batch(
            self.text.to(device, non_blocking=True),
            self.text_lengths.to(device, non_blocking=True),
            self.spec.to(device, non_blocking=True),
            self.spec_lengths.to(device, non_blocking=True),
            self.wav.to(device, non_blocking=True),
            self.wav_lengths.to(device, non_blocking=True),
            move(self.sid),
            self.ids,
        )


@dataclass
class StepState:
    """Everything one step touches. Built once by the trainer (or the estimator)."""

    net_g: nn.Module
    net_d: nn.Module
    optim_g: torch.optim.Optimizer
    optim_d: torch.optim.Optimizer
    scaler: torch.amp.GradScaler  # type: ignore[name-defined]
    hp: ModelHParams
    c_mel: float
    c_kl: float
    precision: str = "fp32"
    micro_batches: int = 1  # gradient accumulation factor (train.grad_accum_steps)
    # An extra generator loss on the decoder's sub-bands (MB-iSTFT-VITS(2); train/subband.py).
    # Added by vits2_step.vits2_train_step, which runs both MB-iSTFT forks' order; this
    # module's VITS step has no such term and refuses a state that carries one.
    subband: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None

    @property
    def device(self) -> torch.device:
        return next(self.net_g.parameters()).device

    def autocast(self) -> contextlib.AbstractContextManager[None]:
        if self.precision == "fp32":
            return contextlib.nullcontext()
        dtype = torch.float16 if self.precision == "fp16" else torch.bfloat16
        return torch.autocast(device_type=self.device.type, dtype=dtype)


@dataclass
class StepResult:
    """Losses as 0-d tensors (no host sync until someone reads them)."""

    losses: dict[str, torch.Tensor]
    grad_norm_g: torch.Tensor | None  # None until the optimisers step
    grad_norm_d: torch.Tensor | None
    stepped: bool  # the optimisers were stepped (last micro-batch)
    skipped: bool = False  # guard found a non-finite loss/gradient: no (further) update

    def finite(self) -> bool:
        """One host sync: were all losses finite? (NaN/Inf handling in the trainer.)"""
        total = torch.stack([v.detach().float() for v in self.losses.values()]).sum()
        return bool(torch.isfinite(total).item())


def make_optimizers(
    net_g: nn.Module, net_d: nn.Module, lr: float, betas: tuple[float, float], eps: float
) -> tuple[torch.optim.AdamW, torch.optim.AdamW]:
    """AdamW for G and D with the config's learning_rate, betas, eps (torch's default
    weight decay 0.01, as the reference)."""
    return (
        torch.optim.AdamW(net_g.parameters(), lr, betas=betas, eps=eps),
        torch.optim.AdamW(net_d.parameters(), lr, betas=betas, eps=eps),
    )


@contextlib.contextmanager
def _frozen(module: nn.Module) -> Iterator[None]:
    flags = [p.requires_grad for p in module.parameters()]
    for p in module.parameters():
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(module.parameters(), flags, strict=True):
            p.requires_grad_(flag)


def _grad_norm(module: nn.Module) -> torch.Tensor:
    """Total L2 norm of the gradients. One foreach op over all of them rather than a norm
    per parameter (~500 in ljs_base's G): fewer kernel launches on a GPU, and a tenth of
    the step's time in the estimator's traces, which pay per op."""
    grads = [p.grad.detach() for p in module.parameters() if p.grad is not None]
    if not grads:
        return torch.zeros((), device=next(module.parameters()).device)
    norms = torch._foreach_norm(grads, 2)
    norm: torch.Tensor = torch.linalg.vector_norm(torch.stack(norms).float(), 2)
    return norm


def _all_finite(values: list[torch.Tensor | None]) -> bool:
    """One host sync: are all values finite (on every rank, when a process group runs)?"""
    flat = torch.stack([v.detach().float().sum() for v in values if v is not None])
    ok = torch.isfinite(flat.sum()).to(torch.int32)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.all_reduce(ok, op=torch.distributed.ReduceOp.MIN)
    return bool(ok.item())


def _drop(state: StepState, unscaled: bool) -> None:
    """Discard this step's gradients; an fp16 scaler backs off as it would on inf grads."""
    state.optim_d.zero_grad(set_to_none=True)
    state.optim_g.zero_grad(set_to_none=True)
    if state.scaler.is_enabled():
        if unscaled:  # unscale_ recorded found_inf: update() backs off from it
            state.scaler.update()
        else:
            state.scaler.update(state.scaler.get_scale() * state.scaler.get_backoff_factor())


def train_step(
    state: StepState, batch: Batch, *, micro_index: int = 0, guard: bool = False
) -> StepResult:
    """Run one micro-batch; step both optimisers on the last of `state.micro_batches`.

    guard: check for non-finite values before each optimiser step (module docstring)."""
    if state.subband is not None:
        raise ValueError("a sub-band loss runs in vits2_step.vits2_train_step, not VITS's step")
    scale = state.micro_batches
    first, last = micro_index == 0, micro_index == scale - 1
    if first:
        state.optim_d.zero_grad(set_to_none=True)
        state.optim_g.zero_grad(set_to_none=True)
    h = state.hp
    segment_samples = h.segment_frames * h.hop_length

    with state.autocast():
        out = state.net_g(batch.text, batch.text_lengths, batch.spec, batch.spec_lengths, batch.sid)
    # Targets: the same random segment of the real mel and waveform (float32).
    mel = real_mel(batch.spec, h)
    y_mel = slice_segments(mel, out.ids_slice, h.segment_frames)
    y_hat_mel = fake_mel(out.audio.squeeze(1), h)
    y = slice_segments(batch.wav, out.ids_slice * h.hop_length, segment_samples)
    # The G losses that do not involve D (computed here so that the guard sees them).
    loss_dur = L.duration_loss(out.dur_loss)
    loss_mel = L.mel_loss(y_mel, y_hat_mel) * state.c_mel
    loss_kl = L.kl_loss(out.z_p, out.logs_q, out.m_p, out.logs_p, out.y_mask) * state.c_kl

    # Discriminator.
    with state.autocast():
        d_real, d_fake, _, _ = state.net_d(y, out.audio.detach())
    loss_disc, _, _ = L.discriminator_loss(d_real, d_fake)
    state.scaler.scale(loss_disc / scale).backward()
    grad_norm_d = None
    if last:
        state.scaler.unscale_(state.optim_d)
        grad_norm_d = _grad_norm(state.net_d)
    if guard and not _all_finite([loss_disc, loss_dur, loss_mel, loss_kl, grad_norm_d]):
        _drop(state, unscaled=last)
        losses = {"d/total": loss_disc, "g/mel": loss_mel, "g/dur": loss_dur, "g/kl": loss_kl}
        return StepResult({k: v.detach() for k, v in losses.items()}, None, None, False, True)
    if last:
        state.scaler.step(state.optim_d)

    # Generator (D frozen: its gradients from this loss would be discarded anyway).
    with _frozen(state.net_d):
        with state.autocast():
            _, d_fake, fmap_real, fmap_fake = state.net_d(y, out.audio)
        loss_fm = L.feature_loss(fmap_real, fmap_fake)
        loss_gen, _ = L.generator_loss(d_fake)
        loss_g = loss_gen + loss_fm + loss_mel + loss_dur + loss_kl
        state.scaler.scale(loss_g / scale).backward()
    grad_norm_g = None
    if last:
        state.scaler.unscale_(state.optim_g)
        grad_norm_g = _grad_norm(state.net_g)
    if guard and not _all_finite([loss_g, grad_norm_g]):
        # D has stepped already (rare: D's update made G's adversarial loss non-finite).
        _drop(state, unscaled=last)
        return StepResult(
            {"d/total": loss_disc.detach(), "g/total": loss_g.detach()}, None, None, False, True
        )
    if last:
        state.scaler.step(state.optim_g)
        state.scaler.update()
    return StepResult(
        {
            "d/total": loss_disc.detach(),
            "g/total": loss_g.detach(),
            "g/gen": loss_gen.detach(),
            "g/fm": loss_fm.detach(),
            "g/mel": loss_mel.detach(),
            "g/dur": loss_dur.detach(),
            "g/kl": loss_kl.detach(),
        },
        grad_norm_g,
        grad_norm_d,
        last,
    )
