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
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn

from vitscfg.model import losses as L
from vitscfg.model.commons import slice_segments
from vitscfg.model.duration_discriminator import DurationDiscriminator
from vitscfg.model.hparams import ModelHParams
from vitscfg.model.mel import mel_spectrogram, spec_to_mel
from vitscfg.model.synthesizer import SynthesizerTrn
from vitscfg.train.step import Batch


@dataclass
class Vits2StepResult:
    """Losses under the fork's log names (0-d, detached) and the gradient norms it logs."""

    losses: dict[str, torch.Tensor]
    grad_norms: dict[str, torch.Tensor]  # by network name, before each optimizer step


def _norm(net: nn.Module) -> torch.Tensor:
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.nn.utils.get_total_norm(grads)


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
) -> Vits2StepResult:
    """Update "DurDisc" (when the config has one), "D" and "G" on ``batch`` in the fork's
    order. ``nets``/``optimizers``: by the names of `vitscfg.model.build_nets` (networks may
    be DDP-wrapped; ``nets["G"]`` then wraps a VITS2 ``SynthesizerTrn``). ``global_step``:
    optimizer steps taken so far (the alignment noise decays with it)."""
    net_g, net_d = nets["G"], nets["D"]
    net_dd = nets.get("DurDisc")
    judge = getattr(net_dd, "module", net_dd)
    assert judge is None or isinstance(judge, DurationDiscriminator)
    generator = getattr(net_g, "module", net_g)
    assert isinstance(generator, SynthesizerTrn) and generator.hp.vits2 is not None
    hp = generator.hp
    options = hp.vits2
    assert options is not None
    device = batch.spec.device.type
    fp16 = precision == "fp16"
    dtype = torch.float16 if fp16 else torch.bfloat16
    amp = precision != "fp32"
    if scaler is None:
        kind = "cuda" if device == "cuda" else "cpu"  # a meta trace emulates the CPU's
        scaler = torch.amp.GradScaler(kind, enabled=fp16)  # type: ignore[attr-defined]
    segment_samples = hp.segment_frames * hp.hop_length
    norms: dict[str, torch.Tensor] = {}

    def autocast() -> contextlib.AbstractContextManager[None]:
        # No autocast object at all in fp32: meta tensors (traces) have no autocast.
        if not amp:
            return contextlib.nullcontext()
        return torch.autocast(device, dtype=dtype)

    with autocast():
        out = net_g(
            batch.text,
            batch.text_lengths,
            batch.spec,
            batch.spec_lengths,
            batch.sid,
            mas_noise_scale=options.mas_noise_scale(global_step),
        )
        if options.use_mel_posterior_encoder:
            mel = batch.spec
        else:
            mel = spec_to_mel(
                batch.spec,
                hp.filter_length,
                hp.n_mel_channels,
                hp.sampling_rate,
                hp.mel_fmin,
                hp.mel_fmax,
            )
        y_mel = slice_segments(mel, out.ids_slice, hp.segment_frames)
        y_hat_mel = mel_spectrogram(
            out.audio.squeeze(1),
            hp.filter_length,
            hp.n_mel_channels,
            hp.sampling_rate,
            hp.hop_length,
            hp.win_length,
            hp.mel_fmin,
            hp.mel_fmax,
        )
        y = slice_segments(batch.wav, out.ids_slice * hp.hop_length, segment_samples)
        real, fake, _, _ = net_d(y, out.audio.detach())
        loss_disc, _, _ = L.discriminator_loss(real, fake)
        losses = {"d/total": loss_disc}

        if net_dd is not None and judge is not None:
            assert out.hidden_x is not None and out.logw is not None
            assert out.logw_target is not None
            p_real, p_fake = net_dd(
                out.hidden_x.detach(), out.x_mask, out.logw_target.detach(), out.logw.detach()
            )
            loss_dd, _, _ = L.discriminator_loss(judge.loss_terms(p_real), judge.loss_terms(p_fake))
            losses["dur_disc/total"] = loss_dd
            optim_dd = optimizers["DurDisc"]
            optim_dd.zero_grad()
            scaler.scale(loss_dd).backward()
            scaler.unscale_(optim_dd)
            norms["DurDisc"] = _norm(net_dd)
            scaler.step(optim_dd)

    optim_d = optimizers["D"]
    optim_d.zero_grad()
    scaler.scale(loss_disc).backward()
    scaler.unscale_(optim_d)
    norms["D"] = _norm(net_d)
    scaler.step(optim_d)

    with autocast():
        _, fake, fmap_real, fmap_fake = net_d(y, out.audio)
        losses["g/gen"] = L.generator_loss(fake)[0]
        losses["g/fm"] = L.feature_loss(fmap_real, fmap_fake)
        losses["g/mel"] = L.mel_loss(y_mel, y_hat_mel) * c_mel
        losses["g/dur"] = L.duration_loss(out.dur_loss)
        losses["g/kl"] = L.kl_loss(out.z_p, out.logs_q, out.m_p, out.logs_p, out.y_mask) * c_kl
        loss_g = losses["g/gen"] + losses["g/fm"] + losses["g/mel"]
        loss_g = loss_g + losses["g/dur"] + losses["g/kl"]
        if net_dd is not None and judge is not None:
            assert out.hidden_x is not None and out.logw is not None
            assert out.logw_target is not None
            _, p_fake = net_dd(out.hidden_x, out.x_mask, out.logw_target, out.logw)
            losses["g/dur_gen"] = L.generator_loss(judge.loss_terms(p_fake))[0]
            loss_g = loss_g + losses["g/dur_gen"]
        losses["g/total"] = loss_g

    optim_g = optimizers["G"]
    optim_g.zero_grad()
    scaler.scale(loss_g).backward()
    scaler.unscale_(optim_g)
    norms["G"] = _norm(net_g)
    scaler.step(optim_g)
    scaler.update()
    return Vits2StepResult({k: v.detach() for k, v in losses.items()}, norms)
