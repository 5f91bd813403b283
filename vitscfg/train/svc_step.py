"""ONE training step of so-vits-svc 4.x, as its train.py runs it: what `vitscfg estimate`
traces for so-vits-svc configs (vitscfg does not train so-vits-svc: its inputs are
HuBERT/ContentVec features and F0 tracks that vitscfg cannot produce).

Order: G forward (autocast when ``train.fp16_run``, in ``train.half_type``: bf16 or fp16);
real mel from the dataset's linear spectrogram cut at G's random window, fake mel from the
decoded audio; D on (real, fake.detach()) with the LSGAN loss (float32); D steps (AdamW);
D again on (real, fake) for the adversarial and feature-matching terms; mel L1 x c_mel +
KL x c_kl + the F0 predictor's MSE on log-F0 (when ``use_automatic_f0_prediction``);
G steps; the grad scaler updates once. so-vits-svc's spectrogram floors are VITS's.
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
from vitscfg.model.svc import SvcSynthesizer
from vitscfg.train.fork_settings import MelStepSettings
from vitscfg.train.gan_step import Amp, GanForward, mel_gan_step
from vitscfg.train.mel_pair import fake_mel, real_mel

#: The longest item so-vits-svc trains on, in content frames: its loader cuts an item longer
#: than 800 spectrogram frames to a random 790, and lets anything up to 800 through whole.
SVC_MAX_FRAMES = 800


@dataclass(frozen=True)
class SvcStepSettings(MelStepSettings):
    """The config values so-vits-svc's step reads (``data`` and ``train``), and its
    autocast dtype (None: fp32)."""

    half: torch.dtype | None = None  # autocast dtype when fp16_run, else None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SvcStepSettings:
        train = config["train"]
        half = None
        if train.get("fp16_run"):
            half = torch.bfloat16 if train.get("half_type") == "bf16" else torch.float16
        return cls(**MelStepSettings.read(config), half=half)


@dataclass
class SvcBatch:
    """A padded batch as so-vits-svc's collate returns it (content channel-first)."""

    c: torch.Tensor  # (B, ssl_dim, T) content features
    f0: torch.Tensor  # (B, T) Hz
    spec: torch.Tensor  # (B, F, T) linear magnitude
    wave: torch.Tensor  # (B, 1, T * hop)
    sid: torch.Tensor  # (B, 1) long
    lengths: torch.Tensor  # (B,) content = spectrogram frames
    uv: torch.Tensor  # (B, T) 1.0 where voiced
    vol: torch.Tensor  # (B, T) loudness (read by the model only with vol_embedding)


def svc_trace_batch(
    config: Mapping[str, Any], batch_size: int, frames: int, device: torch.device
) -> SvcBatch:
    """``batch_size`` items of ``frames`` frames each, uninitialised (memory traces)."""
    data, model = config["data"], config["model"]
    lengths = torch.full((batch_size,), frames, dtype=torch.long, device=device)
    n_freq = int(data["filter_length"]) // 2 + 1
    return SvcBatch(
        c=torch.empty(batch_size, int(model["ssl_dim"]), frames, device=device),
        f0=torch.empty(batch_size, frames, device=device),
        spec=torch.empty(batch_size, n_freq, frames, device=device),
        wave=torch.empty(batch_size, 1, frames * int(data["hop_length"]), device=device),
        sid=torch.zeros(batch_size, 1, dtype=torch.long, device=device),
        lengths=lengths,
        uv=torch.empty(batch_size, frames, device=device),
        vol=torch.empty(batch_size, frames, device=device),
    )


@dataclass
class SvcLosses:
    """The step's losses (weighted as so-vits-svc weights them), detached."""

    disc: torch.Tensor
    gen: torch.Tensor
    fm: torch.Tensor
    mel: torch.Tensor  # x c_mel
    kl: torch.Tensor  # x c_kl
    lf0: torch.Tensor  # F0 predictor MSE (0 without the predictor)
    gen_all: torch.Tensor


def svc_train_step(
    net_g: SvcSynthesizer,
    net_d: nn.Module,
    optim_g: torch.optim.Optimizer,
    optim_d: torch.optim.Optimizer,
    batch: SvcBatch,
    s: SvcStepSettings,
    scaler: torch.amp.GradScaler | None = None,  # type: ignore[name-defined]
) -> SvcLosses:
    """D update then G update on ``batch``; returns the losses so-vits-svc logs."""
    device = batch.spec.device.type
    half = s.half or torch.float16
    enabled = s.half is not None
    segment_frames = s.segment_size // s.hop_length
    scaler = scaler or torch.amp.GradScaler(device, enabled=enabled)  # type: ignore[attr-defined]
    mel = real_mel(batch.spec, s)

    def forward() -> GanForward[tuple[Any, torch.Tensor, torch.Tensor]]:
        out = net_g(
            batch.c,
            batch.f0,
            batch.uv,
            batch.spec,
            batch.sid,
            batch.lengths,
            batch.lengths,
            vol=batch.vol,
        )
        y_mel = slice_segments(mel, out.ids_slice, segment_frames)
        y_hat_mel = fake_mel(out.audio.squeeze(1), s)
        wave = slice_segments(batch.wave, out.ids_slice * s.hop_length, s.segment_size)
        return GanForward((out, y_mel, y_hat_mel), out.audio, wave)

    def terms(state: tuple[Any, torch.Tensor, torch.Tensor]) -> dict[str, torch.Tensor]:
        out, y_mel, y_hat_mel = state
        return {
            "mel": F.l1_loss(y_mel, y_hat_mel) * s.c_mel,
            "kl": L.kl_loss(out.z_p, out.logs_q, out.m_p, out.logs_p, out.spec_mask) * s.c_kl,
        }

    def lf0_term(state: tuple[Any, torch.Tensor, torch.Tensor]) -> dict[str, torch.Tensor]:
        out = state[0]
        if out.pred_lf0 is not None and out.lf0 is not None:
            return {"lf0": F.mse_loss(out.pred_lf0, out.lf0)}
        return {"lf0": torch.zeros((), device=out.audio.device)}

    amp = Amp(device, half, enabled)
    r = mel_gan_step(net_d, optim_g, optim_d, scaler, amp, forward, terms, lf0_term)
    t = r.terms
    return SvcLosses(r.disc, r.gen, r.fm, t["mel"], t["kl"], t["lf0"], r.gen_all)
