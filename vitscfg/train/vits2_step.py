"""ONE training step of VITS2, as p0p4k/vits2_pytorch's train scripts run it: what `vitscfg
estimate` should trace for VITS2 configs and what `vitscfg train` should run for them.

Order (train_ms.py): the alignment-noise scale for this step; G forward (autocast when fp16);
real mel = the batch's own input when the posterior encoder reads mel frames, else the mel of
the linear spectrogram, cut at G's random window; fake mel from the decoded audio (float32);
D on (real, fake.detach()); the duration discriminator on (text states, alignment durations,
predicted durations), all detached, its LSGAN loss, its backward and AdamW step; D's backward
and step; D and the duration discriminator again, now on G's live outputs, for the adversarial,
feature-matching and duration-adversarial terms; mel L1 x c_mel + KL x c_kl + duration loss;
G's backward and step; the grad scaler updates once.

As in the fork, D and the duration discriminator collect gradients from G's loss too (thrown
away at their next zero_grad): the step's memory is the fork's. The batch is vitscfg's
(`vitscfg.train.step.Batch`); with a mel posterior encoder its ``spec`` holds log-mel frames.

MB-iSTFT-VITS2 (FENRlR/MB-iSTFT-VITS2's train.py / train_ms.py) runs this same step and, with
its multi-band decoder (``model.mb_istft_vits``), adds one term to G's loss after the KL: the
sub-band STFT loss between the decoder's bands and a PQMF analysis of the real segment
(``subband``, built from the config by `vitscfg.train.subband`; None for every other config).

MB-iSTFT-VITS (MasayaKawamura/MB-iSTFT-VITS's train_latest.py) runs the same order without the
VITS2 parts (a generator whose ``hp.vits2`` is None: no duration discriminator, no alignment
noise, the linear spectrogram's mel as target) and the same sub-band term: the reference VITS
order, which keeps G's previous gradients until just before G's backward and lets D collect
gradients from G's loss (`vitscfg.train.step` frees and freezes them: 13-15 % less memory
than the fork's step, bench/mb_istft_step_peak.py --v1).

What the trainer adds, with VITS's semantics (`vitscfg.train.step`):
- The duration discriminator's optimizer steps after D's backward instead of before it: D's
  backward never reads the duration discriminator, so the numbers are the fork's, and one
  finite-check can then come before any network changes.
- ``guard=True`` (the NaN guard): before the first optimizer step, one host sync checks the
  discriminators' losses and gradient norms and G's losses that do not depend on D (mel, KL,
  duration; a non-finite G forward shows there); before G's step, G's loss and gradient norm.
  A non-finite value drops every gradient and the result says ``skipped`` (the duration
  discriminator and D have stepped when only G's check fails, as in VITS's step). Under DDP
  the verdict is all-reduced, so every rank skips together.
- Gradient accumulation (``micro_batches > 1``): each micro-batch back-propagates every loss
  divided by ``micro_batches``; the three optimizers step after the last one. D and the
  duration discriminator are frozen during G's backward then, since their gradients from G's
  loss would otherwise add into the ones they accumulate.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import nn

from vitscfg.model import losses as L
from vitscfg.model.commons import slice_segments
from vitscfg.model.duration_discriminator import DurationDiscriminator
from vitscfg.model.hparams import ModelHParams
from vitscfg.model.synthesizer import SynthesizerTrn
from vitscfg.train.mel_pair import fake_mel, target_mel
from vitscfg.train.step import Batch, _all_finite, _frozen


@dataclass
class Vits2StepResult:
    """Losses under the fork's log names (0-d, detached) and the gradient norms it logs."""

    losses: dict[str, torch.Tensor]
    grad_norms: dict[str, torch.Tensor]  # by network name, before each optimizer step
    stepped: bool = True  # the optimizers stepped (the last micro-batch)
    skipped: bool = False  # the guard found a non-finite value: gradients dropped


def _norm(net: nn.Module) -> torch.Tensor:
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.nn.utils.get_total_norm(grads)


def _no_autocast(device: str, amp: bool) -> contextlib.AbstractContextManager[None]:
    # An fp32 step has no autocast to leave (and a meta trace has no autocast at all).
    if not amp:
        return contextlib.nullcontext()
    return torch.autocast(device, enabled=False)


def vits2_trace_batch(
    hp: ModelHParams, batch_size: int, text_len: int, frames: int, device: torch.device
) -> Batch:
    """A batch of ``batch_size`` items of ``text_len`` tokens and ``frames`` frames, with
    uninitialised values (memory traces) and the posterior encoder's input width."""
    lengths = torch.full((batch_size,), frames, dtype=torch.long, device=device)
    samples = frames * hp.hop_length
    return Batch(
        text=torch.zeros(batch_size, text_len, dtype=torch.long, device=device),
        text_lengths=torch.full((batch_size,), text_len, dtype=torch.long, device=device),
        spec=torch.empty(batch_size, hp.spec_channels, frames, device=device),
        spec_lengths=lengths,
        wav=torch.empty(batch_size, 1, samples, device=device),
        wav_lengths=torch.full((batch_size,), samples, dtype=torch.long, device=device),
        sid=torch.zeros(batch_size, dtype=torch.long, device=device) if hp.n_speakers > 1 else None,
    )


def _drop(
    optimizers: Mapping[str, torch.optim.Optimizer],
    scaler: torch.amp.GradScaler,  # type: ignore[name-defined]
    unscaled: bool,
) -> None:
    """Discard this step's gradients; an fp16 scaler backs off as on inf gradients."""
    for optimizer in optimizers.values():
        optimizer.zero_grad(set_to_none=True)
    if scaler.is_enabled():
        if unscaled:  # unscale_ recorded found_inf: update() backs off from it
            scaler.update()
        else:
            scaler.update(scaler.get_scale() * scaler.get_backoff_factor())


def vits2_train_step(
    nets: Mapping[str, nn.Module],
    optimizers: Mapping[str, torch.optim.Optimizer],
    batch: Batch,
    *,
    c_mel: float,
    c_kl: float,
    global_step: int,
    precision: str = "fp32",
    scaler: torch.amp.GradScaler | None = None,  # type: ignore[name-defined]
    micro_index: int = 0,
    micro_batches: int = 1,
    guard: bool = False,
    subband: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> Vits2StepResult:
    """Update "DurDisc" (when the config has one), "D" and "G" on ``batch`` in the fork's
    order. ``nets``/``optimizers``: by the names of `vitscfg.model.build_nets` (networks may
    be DDP-wrapped; ``nets["G"]`` then wraps a VITS2 ``SynthesizerTrn``). ``global_step``:
    optimizer steps taken so far (the alignment noise decays with it). ``micro_index`` of
    ``micro_batches``: gradient accumulation; ``guard``: the NaN guard; ``subband``:
    (decoder bands, real segment) -> MB-iSTFT-VITS2's sub-band loss, "g/subband" (module
    docstring)."""
    net_g, net_d = nets["G"], nets["D"]
    net_dd = nets.get("DurDisc")
    judge = getattr(net_dd, "module", net_dd)
    assert judge is None or isinstance(judge, DurationDiscriminator)
    generator = getattr(net_g, "module", net_g)
    assert isinstance(generator, SynthesizerTrn)
    hp = generator.hp
    options = hp.vits2  # None: MB-iSTFT-VITS (module docstring)
    device = batch.spec.device.type
    fp16 = precision == "fp16"
    dtype = torch.float16 if fp16 else torch.bfloat16
    amp = precision != "fp32"
    if scaler is None:
        kind = "cuda" if device == "cuda" else "cpu"  # a meta trace emulates the CPU's
        scaler = torch.amp.GradScaler(kind, enabled=fp16)  # type: ignore[attr-defined]
    segment_samples = hp.segment_frames * hp.hop_length
    first, last = micro_index == 0, micro_index == micro_batches - 1
    norms: dict[str, torch.Tensor] = {}
    used = {k: optimizers[k] for k in ("DurDisc", "D", "G") if k in nets}

    def autocast() -> contextlib.AbstractContextManager[None]:
        # No autocast object at all in fp32: meta tensors (traces) have no autocast.
        if not amp:
            return contextlib.nullcontext()
        return torch.autocast(device, dtype=dtype)

    def backward(loss: torch.Tensor) -> None:
        # One micro-batch's share (no extra op without accumulation: the traced step).
        scaler.scale(loss if micro_batches == 1 else loss / micro_batches).backward()

    def skip(losses: dict[str, torch.Tensor], unscaled: bool) -> Vits2StepResult:
        _drop(used, scaler, unscaled)
        return Vits2StepResult({k: v.detach() for k, v in losses.items()}, {}, False, True)

    with autocast():
        out = net_g(
            batch.text,
            batch.text_lengths,
            batch.spec,
            batch.spec_lengths,
            batch.sid,
            mas_noise_scale=0.0 if options is None else options.mas_noise_scale(global_step),
        )
        mel = target_mel(batch.spec, hp)
        y_mel = slice_segments(mel, out.ids_slice, hp.segment_frames)
        y_hat_mel = fake_mel(out.audio.squeeze(1), hp)
        y = slice_segments(batch.wav, out.ids_slice * hp.hop_length, segment_samples)
        real, fake, _, _ = net_d(y, out.audio.detach())
        loss_disc, _, _ = L.discriminator_loss(real, fake)
        losses = {"d/total": loss_disc}
        # G's terms that do not involve D (here so that the guard sees them before any step).
        losses["g/mel"] = L.mel_loss(y_mel, y_hat_mel) * c_mel
        losses["g/dur"] = L.duration_loss(out.dur_loss)
        losses["g/kl"] = L.kl_loss(out.z_p, out.logs_q, out.m_p, out.logs_p, out.y_mask) * c_kl

        if net_dd is not None and judge is not None:
            assert out.hidden_x is not None and out.logw is not None
            assert out.logw_target is not None
            p_real, p_fake = net_dd(
                out.hidden_x.detach(), out.x_mask, out.logw_target.detach(), out.logw.detach()
            )
            loss_dd, _, _ = L.discriminator_loss(judge.loss_terms(p_real), judge.loss_terms(p_fake))
            losses["dur_disc/total"] = loss_dd
            if first:
                used["DurDisc"].zero_grad()
            backward(loss_dd)

    if first:
        used["D"].zero_grad()
    backward(loss_disc)
    if last:
        for name in ("DurDisc", "D"):
            if name in used:
                scaler.unscale_(used[name])
                norms[name] = _norm(nets[name])
    if guard and not _all_finite([*losses.values(), *norms.values()]):
        return skip(losses, unscaled=last)
    if last:
        for name in ("DurDisc", "D"):
            if name in used:
                scaler.step(used[name])

    # With accumulation D and the duration discriminator keep only their own gradients.
    frozen = contextlib.ExitStack()
    if micro_batches > 1:
        for critic in (net_d, net_dd):
            if critic is not None:
                frozen.enter_context(_frozen(critic))
    with frozen:  # through G's backward: autograd reads requires_grad while it runs
        with autocast():
            _, fake, fmap_real, fmap_fake = net_d(y, out.audio)
            losses["g/gen"] = L.generator_loss(fake)[0]
            losses["g/fm"] = L.feature_loss(fmap_real, fmap_fake)
            loss_g = losses["g/gen"] + losses["g/fm"] + losses["g/mel"]
            loss_g = loss_g + losses["g/dur"] + losses["g/kl"]
            if subband is not None:
                assert out.audio_bands is not None, "the sub-band loss needs a multi-band decoder"
                # float32 as in the fork (its PQMF convolution must not run in half).
                with _no_autocast(device, amp):
                    losses["g/subband"] = subband(out.audio_bands, y)
                loss_g = loss_g + losses["g/subband"]
            if net_dd is not None and judge is not None:
                assert out.hidden_x is not None and out.logw is not None
                assert out.logw_target is not None
                _, p_fake = net_dd(out.hidden_x, out.x_mask, out.logw_target, out.logw)
                losses["g/dur_gen"] = L.generator_loss(judge.loss_terms(p_fake))[0]
                loss_g = loss_g + losses["g/dur_gen"]
            losses["g/total"] = loss_g
        if first:
            used["G"].zero_grad()
        backward(loss_g)

    if last:
        scaler.unscale_(used["G"])
        norms["G"] = _norm(net_g)
    if guard and not _all_finite([loss_g, norms.get("G")]):
        return skip(losses, unscaled=last)
    if last:
        scaler.step(used["G"])
        scaler.update()
    return Vits2StepResult({k: v.detach() for k, v in losses.items()}, norms, last)
