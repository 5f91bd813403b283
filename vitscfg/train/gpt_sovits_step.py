"""ONE training step of GPT-SoVITS stage 2, as its ``s2_train.py`` runs it: what `vitscfg
estimate` traces for GPT-SoVITS configs (vitscfg does not train it: its inputs are cnhubert
SSL features and phone sequences made by the fork's own preparation scripts).

Order: G forward under autocast when ``train.fp16_run`` (the quantizer in float32); the real
mel from the dataset's linear spectrogram cut at G's random window, the fake mel from the
decoded audio; D on (real, fake.detach()) with the LSGAN loss; D steps (AdamW); D again on
(real, fake) for the adversarial and feature-matching terms; mel L1 x c_mel + KL x c_kl + the
quantizer's commitment loss (``kl_ssl``, weight 1; 0 when ``model.freeze_quantizer``); G
steps; the grad scaler updates once. Losses are float32 outside autocast, as there.

The fork's spectrogram magnitude floor is sqrt(|X|^2 + 1e-8) (VITS: 1e-6); its log-mel clamp
is VITS's 1e-5. Its fake mel runs in the autocast dtype on a GPU; here in float32 (a
(B, 1025, segment frames) STFT: kilobytes either way). The fork also sums every gradient's
norm for its log (host syncs, no memory); that is left out.

Its optimizer gives the phone embedding, the phone transformer and MRTE a lower learning
rate (``train.text_low_lr_rate``) in extra parameter groups: ``optimizer_groups`` builds
them; the memory is one AdamW over every parameter either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from vitscfg.model import losses as L
from vitscfg.model.commons import slice_segments
from vitscfg.model.gpt_sovits import (
    PRO_VERSIONS,
    SSL_DIM,
    SV_DIM,
    GptSovitsSynthesizer,
    gpt_sovits_version,
)
from vitscfg.train.fork_settings import MelStepSettings
from vitscfg.train.gan_step import Amp, GanForward, gan_nets, mel_gan_step
from vitscfg.train.length_units import LengthUnits
from vitscfg.train.mel_pair import mel_basis, padded_stft

_MAGNITUDE_EPS = 1e-8
_LOG_CLAMP = 1e-5

#: The longest item s2_train.py trains on, in frames (SSL-feature frames = spectrogram
#: frames): its bucket sampler drops items longer than 1900 (wav samples // hop; the
#: loader's 54 s limit is longer at 32 kHz / hop 640).
GPT_SOVITS_MAX_FRAMES = 1900
#: What one item's lengths count: phones of the transcript, and SSL frames (one per
#: spectrogram frame at 50 Hz).
GPT_SOVITS_UNITS = LengthUnits("phone ids", "SSL-feature frames")


def padded_frames(frames: int) -> int:
    """s2's collate pads the batch's SSL and spectrogram frames to the next even count above
    the longest item (``2 * (max // 2 + 1)``), so the 25 Hz projection halves it exactly."""
    return 2 * (frames // 2 + 1)


@dataclass(frozen=True)
class GptSovitsStepSettings(MelStepSettings):
    """The config values s2_train.py's step reads (``data`` and ``train``), and its precision."""

    fp16: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any], fp16: bool = False) -> GptSovitsStepSettings:
        return cls(**MelStepSettings.read(config), fp16=fp16)


@dataclass
class GptSovitsBatch:
    """A padded batch as s2's collate function returns it (sv_emb: v2Pro / v2ProPlus)."""

    ssl: torch.Tensor  # (B, 768, T) cnhubert features
    spec: torch.Tensor  # (B, F, T) linear magnitude
    spec_lengths: torch.Tensor  # (B,)
    wave: torch.Tensor  # (B, 1, T * hop)
    text: torch.Tensor  # (B, L) phone ids
    text_lengths: torch.Tensor  # (B,)
    sv_emb: torch.Tensor | None = None  # (B, 20480) speaker-verification embedding


def gpt_sovits_trace_batch(
    config: Mapping[str, Any], batch_size: int, frames: int, text_len: int, device: torch.device
) -> GptSovitsBatch:
    """A batch of ``batch_size`` items of ``frames`` frames and ``text_len`` phones, padded
    as s2's collate pads, for memory traces and GPU probes: constant finite values (silence,
    a flat spectrogram), so a real fp16 step neither overflows nor skips its update."""
    data = config["data"]
    n_freq = int(data["filter_length"]) // 2 + 1
    hop = int(data["hop_length"])
    width = padded_frames(frames)
    lengths = torch.full((batch_size,), frames, dtype=torch.long, device=device)
    pro = gpt_sovits_version(config) in PRO_VERSIONS
    return GptSovitsBatch(
        ssl=torch.zeros(batch_size, SSL_DIM, width, device=device),
        spec=torch.full((batch_size, n_freq, width), 0.1, device=device),
        spec_lengths=lengths,
        wave=torch.zeros(batch_size, 1, width * hop, device=device),
        text=torch.zeros(batch_size, max(text_len, 1), dtype=torch.long, device=device),
        text_lengths=torch.full((batch_size,), max(text_len, 1), dtype=torch.long, device=device),
        sv_emb=torch.zeros(batch_size, SV_DIM, device=device) if pro else None,
    )


def gsv_spec_to_mel(spec: torch.Tensor, s: MelStepSettings) -> torch.Tensor:
    """Linear magnitude (B, F, T) -> log mel (B, n_mels, T), float32."""
    basis = mel_basis(s, spec.device)
    return torch.log(torch.clamp(torch.matmul(basis, spec.float()), min=_LOG_CLAMP))


def gsv_mel_spectrogram(audio: torch.Tensor, s: MelStepSettings) -> torch.Tensor:
    """Audio (B, T) -> log mel (B, n_mels, T // hop) with the fork's magnitude floor."""
    spec = padded_stft(audio.float(), s)
    magnitude = torch.sqrt(torch.view_as_real(spec).pow(2).sum(-1) + _MAGNITUDE_EPS)
    return gsv_spec_to_mel(magnitude, s)


def optimizer_groups(
    net_g: GptSovitsSynthesizer, learning_rate: float, text_low_lr_rate: float
) -> list[dict[str, Any]]:
    """s2_train.py's parameter groups: the phone embedding, phone transformer and MRTE at
    ``learning_rate * text_low_lr_rate``, everything else at ``learning_rate``."""
    low = [net_g.enc_p.text_embedding, net_g.enc_p.encoder_text, net_g.enc_p.mrte]
    low_ids = {id(p) for m in low for p in m.parameters()}
    base = [p for p in net_g.parameters() if id(p) not in low_ids and p.requires_grad]
    low_lr = learning_rate * text_low_lr_rate
    return [{"params": base, "lr": learning_rate}] + [
        {"params": list(m.parameters()), "lr": low_lr} for m in low
    ]


@dataclass
class GptSovitsLosses:
    """The step's losses (weighted as s2_train.py weights them), detached."""

    disc: torch.Tensor
    gen: torch.Tensor
    fm: torch.Tensor
    mel: torch.Tensor  # x c_mel
    kl: torch.Tensor  # x c_kl
    kl_ssl: torch.Tensor  # x 1
    gen_all: torch.Tensor


def gpt_sovits_train_step(
    net_g: GptSovitsSynthesizer,
    net_d: nn.Module,
    optim_g: torch.optim.Optimizer,
    optim_d: torch.optim.Optimizer,
    batch: GptSovitsBatch,
    s: GptSovitsStepSettings,
    scaler: torch.amp.GradScaler | None = None,  # type: ignore[name-defined]
) -> GptSovitsLosses:
    """D update then G update on ``batch``; returns the losses s2_train.py logs."""
    device = batch.spec.device.type
    segment_frames = s.segment_size // s.hop_length
    scaler = scaler or torch.amp.GradScaler(device, enabled=s.fp16)  # type: ignore[attr-defined]

    def forward() -> GanForward[tuple[Any, torch.Tensor, torch.Tensor, torch.Tensor]]:
        out = net_g(
            batch.ssl,
            batch.spec,
            batch.spec_lengths,
            batch.text,
            batch.text_lengths,
            batch.sv_emb,
        )
        mel = gsv_spec_to_mel(batch.spec, s)
        y_mel = slice_segments(mel, out.ids_slice, segment_frames)
        y_hat_mel = gsv_mel_spectrogram(out.audio.squeeze(1), s)
        wave = slice_segments(batch.wave, out.ids_slice * s.hop_length, s.segment_size)
        # The whole real mel stays live to the step's end, as in s2_train.py (the traced peak).
        return GanForward((out, y_mel, y_hat_mel, mel), out.audio, wave)

    def terms(
        state: tuple[Any, torch.Tensor, torch.Tensor, torch.Tensor],
    ) -> dict[str, torch.Tensor]:
        out, y_mel, y_hat_mel, _ = state
        return {
            "mel": F.l1_loss(y_mel, y_hat_mel) * s.c_mel,
            "kl_ssl": out.kl_ssl,
            "kl": L.kl_loss(out.z_p, out.logs_q, out.m_p, out.logs_p, out.y_mask) * s.c_kl,
        }

    amp = Amp(device, torch.float16, s.fp16)
    r = mel_gan_step(net_d, optim_g, optim_d, scaler, amp, forward, terms)
    t = r.terms
    return GptSovitsLosses(r.disc, r.gen, r.fm, t["mel"], t["kl"], t["kl_ssl"], r.gen_all)


def gpt_sovits_fork_batch(
    config: Mapping[str, Any],
    batch_size: int,
    frames: int,
    device: torch.device,
    text_len: int = 1,
) -> GptSovitsBatch:
    """The estimator's worst-case batch (train/fork_steps.py's MakeBatch)."""
    return gpt_sovits_trace_batch(config, batch_size, frames, text_len, device)


def gpt_sovits_fork_run(config: Mapping[str, Any], parts: Any, batch: GptSovitsBatch) -> Any:
    """The step on the state builder's parts (train/fork_steps.py's ``run``); its precision is
    the config's ``train.fp16_run`` (the builder's)."""
    nets = gan_nets(parts, GptSovitsSynthesizer, "the GPT-SoVITS step needs its generator")
    settings = GptSovitsStepSettings.from_config(config, fp16=parts.step.precision == "fp16")
    return gpt_sovits_train_step(*nets, batch, settings, parts.scaler)
