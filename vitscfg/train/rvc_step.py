"""ONE training step of RVC, as RVC's train script runs it: what `vitscfg estimate` traces for
RVC configs (vitscfg does not train RVC: its inputs are HuBERT/ContentVec features and F0
tracks that vitscfg cannot produce).

Order: G forward (autocast when fp16); real mel from the dataset's linear spectrogram cut at
G's random window, fake mel from the decoded audio (float32, no autocast); D on (real,
fake.detach()) with the LSGAN loss; D steps (AdamW); D again on (real, fake) for the
adversarial and feature-matching terms; mel L1 x c_mel + KL x c_kl; G steps; the grad scaler
updates once. Losses are float32 outside autocast, as there.

RVC's own spectrogram floors differ from VITS's: magnitude sqrt(|X|^2 + 2e-7) and log of the
mel clamped at 2e-6 (VITS: 1e-6 and 1e-5).

Precision is not in RVC's config: it trains in fp16 whenever every visible CUDA device is
eligible (``rvc_precision``), otherwise fp32.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn
from torch.nn import functional as F

from vitscfg.model import losses as L
from vitscfg.model.commons import slice_segments
from vitscfg.model.rvc import CONTENT_DIMS, RvcSynthesizer, RvcVariant
from vitscfg.train.fork_settings import MelStepSettings
from vitscfg.train.gan_step import Amp, GanForward, mel_gan_step
from vitscfg.train.mel_pair import mel_basis, padded_stft

_MAGNITUDE_EPS = 2e-7
_LOG_CLAMP = 2e-6

#: The longest item RVC trains on, in content frames (spectrogram frames): its loader cuts
#: features to 900 frames and its bucket sampler drops longer items, so 900 is the
#: worst case an estimate must cover.
RVC_MAX_FRAMES = 900


def rvc_precision(
    capability: tuple[int, int] | None, name: str = "", total_bytes: int = 0
) -> Literal["fp16", "fp32"]:
    """RVC's choice for one CUDA device (``capability`` None: no CUDA device -> fp32).

    fp16 on compute capability above 6.1 with at least ~3.6 GiB (RVC adds 0.4 GiB of slack to
    a 4 GiB floor); fp32 on Pascal SM 6.1 and on GTX 16xx (SM 7.5), whose fp16 is slow, and
    on anything below SM 5.3 or 4 GiB (RVC does not train on those GPUs at all).
    """
    if capability is None:
        return "fp32"
    sm = capability[0] + capability[1] / 10
    gib = total_bytes / 1024**3 + 0.4
    gtx16 = re.search(r"16\d{2}", name) is not None and sm == 7.5
    if gib < 4 or sm < 5.3 or sm == 6.1 or gtx16:
        return "fp32"
    return "fp16" if sm > 6.1 else "fp32"


#: The compute capability assumed for a card an estimate knows only by name or size
#: (``--vram``): every card of the estimator's table is SM 7.0 or newer and none is a GTX
#: 16xx, so RVC trains each of them in fp16.
ASSUMED_CAPABILITY = (7, 0)


def rvc_device_precision(
    cuda: bool, name: str, total_bytes: int, capability: tuple[int, int] | None
) -> tuple[Literal["fp16", "fp32"], str]:
    """RVC's precision on the device an estimate is for, and why, in the report's words.

    ``cuda`` False: training on the CPU (fp32). ``capability`` None on a CUDA device: a card
    known only by name or size, taken as :data:`ASSUMED_CAPABILITY`; the reason then says
    which cards RVC trains in fp32 instead.
    """
    if not cuda:
        return "fp32", "RVC's own choice: fp32 without a CUDA device"
    precision = rvc_precision(capability or ASSUMED_CAPABILITY, name, total_bytes)
    if capability is not None:
        sm = f"SM {capability[0]}.{capability[1]}"
        return precision, f"RVC's train.py picks it from the GPU: {name} ({sm})"
    return precision, (
        f"RVC's train.py picks it from the GPU: {name}, taken as compute capability above "
        "6.1; on Pascal SM 6.1 and GTX 16xx cards RVC trains in fp32 (estimate with --gpu "
        "there)"
    )


@dataclass(frozen=True)
class RvcStepSettings(MelStepSettings):
    """The config values RVC's step reads (``data`` and ``train``), and its precision."""

    fp16: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any], fp16: bool = False) -> RvcStepSettings:
        return cls(**MelStepSettings.read(config), fp16=fp16)


@dataclass
class RvcBatch:
    """A padded batch as RVC's collate functions return it (pitch fields: f0 models only)."""

    phone: torch.Tensor  # (B, T, D) content features
    phone_lengths: torch.Tensor  # (B,)
    spec: torch.Tensor  # (B, F, T) linear magnitude
    spec_lengths: torch.Tensor  # (B,)
    wave: torch.Tensor  # (B, 1, T * hop)
    sid: torch.Tensor  # (B,)
    pitch: torch.Tensor | None = None  # (B, T) coarse bins
    pitchf: torch.Tensor | None = None  # (B, T) F0 in Hz


def rvc_trace_batch(
    config: Mapping[str, Any],
    variant: RvcVariant,
    batch_size: int,
    frames: int,
    device: torch.device,
) -> RvcBatch:
    """A batch of ``batch_size`` items of ``frames`` content frames each, for memory traces
    (meta/fake tensors) and GPU probes: constant but finite values (silence, a flat
    spectrogram, 200 Hz), so a real fp16 step neither overflows nor skips its update."""
    data = config["data"]
    lengths = torch.full((batch_size,), frames, dtype=torch.long, device=device)
    n_freq = int(data["filter_length"]) // 2 + 1
    hop = int(data["hop_length"])
    return RvcBatch(
        phone=torch.zeros(batch_size, frames, CONTENT_DIMS[variant.version], device=device),
        phone_lengths=lengths,
        spec=torch.full((batch_size, n_freq, frames), 0.1, device=device),
        spec_lengths=lengths.clone(),
        wave=torch.zeros(batch_size, 1, frames * hop, device=device),
        sid=torch.zeros(batch_size, dtype=torch.long, device=device),
        pitch=torch.zeros(batch_size, frames, dtype=torch.long, device=device)
        if variant.f0
        else None,
        pitchf=torch.full((batch_size, frames), 200.0, device=device) if variant.f0 else None,
    )


def rvc_spec_to_mel(spec: torch.Tensor, s: RvcStepSettings) -> torch.Tensor:
    """Linear magnitude (B, F, T) -> log mel (B, n_mels, T) with RVC's floor."""
    basis = mel_basis(s, spec.device)
    mel = torch.matmul(basis.to(spec.dtype), spec)
    return torch.log(torch.clamp(mel, min=_LOG_CLAMP))


def rvc_mel_spectrogram(audio: torch.Tensor, s: RvcStepSettings) -> torch.Tensor:
    """Audio (B, T) float32 -> log mel (B, n_mels, T // hop) with RVC's floors."""
    spec = padded_stft(audio, s)
    magnitude = torch.sqrt(spec.real.pow(2) + spec.imag.pow(2) + _MAGNITUDE_EPS)
    return rvc_spec_to_mel(magnitude, s)


@dataclass
class RvcLosses:
    """The step's losses (weighted as RVC weights them), detached."""

    disc: torch.Tensor
    gen: torch.Tensor
    fm: torch.Tensor
    mel: torch.Tensor  # x c_mel
    kl: torch.Tensor  # x c_kl
    gen_all: torch.Tensor


def rvc_train_step(
    net_g: RvcSynthesizer,
    net_d: nn.Module,
    optim_g: torch.optim.Optimizer,
    optim_d: torch.optim.Optimizer,
    batch: RvcBatch,
    s: RvcStepSettings,
    scaler: torch.amp.GradScaler | None = None,  # type: ignore[name-defined]
) -> RvcLosses:
    """D update then G update on ``batch``; returns the losses RVC logs."""
    device = batch.spec.device.type
    segment_frames = s.segment_size // s.hop_length
    scaler = scaler or torch.amp.GradScaler(device, enabled=s.fp16)  # type: ignore[attr-defined]

    def forward() -> GanForward[tuple[Any, torch.Tensor, torch.Tensor]]:
        out = net_g(
            batch.phone,
            batch.phone_lengths,
            batch.spec,
            batch.spec_lengths,
            batch.sid,
            pitch=batch.pitch,
            pitchf=batch.pitchf,
        )
        y_mel = slice_segments(rvc_spec_to_mel(batch.spec, s), out.ids_slice, segment_frames)
        with torch.autocast(device, enabled=False):
            y_hat_mel = rvc_mel_spectrogram(out.audio.float().squeeze(1), s)
        if s.fp16:
            y_hat_mel = y_hat_mel.half()
        wave = slice_segments(batch.wave, out.ids_slice * s.hop_length, s.segment_size)
        return GanForward((out, y_mel, y_hat_mel), out.audio, wave)

    def terms(state: tuple[Any, torch.Tensor, torch.Tensor]) -> dict[str, torch.Tensor]:
        out, y_mel, y_hat_mel = state
        return {
            "mel": F.l1_loss(y_mel.float(), y_hat_mel.float()) * s.c_mel,
            "kl": L.kl_loss(out.z_p, out.logs_q, out.m_p, out.logs_p, out.y_mask) * s.c_kl,
        }

    amp = Amp(device, torch.float16, s.fp16, disc_loss_fp32=False)
    r = mel_gan_step(net_d, optim_g, optim_d, scaler, amp, forward, terms)
    return RvcLosses(r.disc, r.gen, r.fm, r.terms["mel"], r.terms["kl"], r.gen_all)
