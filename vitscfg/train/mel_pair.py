"""The mel target pair every step compares: the real log mel of the dataset's linear
spectrogram and the fake log mel of G's decoded audio, from one STFT/mel geometry.

The steps read the geometry from different owners (VITS and VITS2: the model's
``ModelHParams``; the fork steps: their ``MelStepSettings``) with the same field names, so
the helpers take anything with those fields. The forks with their own spectrogram floors
(RVC, GPT-SoVITS) share only the padded STFT and the filterbank lookup.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch.nn import functional as F

from vitscfg.model.hparams import ModelHParams
from vitscfg.model.mel import hann_window, mel_filterbank, mel_spectrogram, spec_to_mel


class MelGeometry(Protocol):
    """The STFT and mel fields a step reads (``ModelHParams`` and ``MelStepSettings`` have them)."""

    @property
    def filter_length(self) -> int: ...
    @property
    def hop_length(self) -> int: ...
    @property
    def win_length(self) -> int: ...
    @property
    def n_mel_channels(self) -> int: ...
    @property
    def sampling_rate(self) -> int: ...
    @property
    def mel_fmin(self) -> float: ...
    @property
    def mel_fmax(self) -> float | None: ...


def real_mel(spec: torch.Tensor, g: MelGeometry) -> torch.Tensor:
    """Linear magnitude (B, F, T) -> log mel (B, n_mels, T), float32 (VITS's floor)."""
    return spec_to_mel(
        spec, g.filter_length, g.n_mel_channels, g.sampling_rate, g.mel_fmin, g.mel_fmax
    )


def target_mel(spec: torch.Tensor, hp: ModelHParams) -> torch.Tensor:
    """The log-mel target of a batch's frames: the frames themselves when the posterior
    encoder reads mel frames (VITS2's use_mel_posterior_encoder), else ``real_mel``."""
    if hp.vits2 is not None and hp.vits2.use_mel_posterior_encoder:
        return spec
    return real_mel(spec, hp)


def fake_mel(audio: torch.Tensor, g: MelGeometry) -> torch.Tensor:
    """Audio (B, T) -> log mel (B, n_mels, T // hop), float32 (VITS's floors)."""
    return mel_spectrogram(
        audio,
        g.filter_length,
        g.n_mel_channels,
        g.sampling_rate,
        g.hop_length,
        g.win_length,
        g.mel_fmin,
        g.mel_fmax,
    )


def mel_basis(g: MelGeometry, device: torch.device) -> torch.Tensor:
    """The (n_mels, F) float32 filterbank of ``g`` on ``device`` (cached)."""
    return mel_filterbank(
        g.filter_length, g.n_mel_channels, g.sampling_rate, g.mel_fmin, g.mel_fmax, device
    )


def padded_stft(audio: torch.Tensor, g: MelGeometry) -> torch.Tensor:
    """Audio (B, T) -> complex STFT (B, F, T // hop): reflect-padded by (n_fft - hop) / 2 on
    each side, not centred, Hann window (the forks' own mel functions; each adds its floor)."""
    pad = (g.filter_length - g.hop_length) // 2
    y = F.pad(audio.unsqueeze(1), (pad, pad), mode="reflect").squeeze(1)
    return torch.stft(
        y,
        g.filter_length,
        hop_length=g.hop_length,
        win_length=g.win_length,
        window=hann_window(g.win_length, y.device),
        center=False,
        normalized=False,
        onesided=True,
        return_complex=True,
    )
