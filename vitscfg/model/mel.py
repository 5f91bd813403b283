"""Linear and log-mel spectrograms, matching the reference ``mel_processing.py``.

Always computed in float32 with autocast disabled: an STFT of fp16 audio is a known NaN/inf
source in VITS training (vits#15), and the log-mel feeds the largest loss term (x45).

Conventions kept from the reference: reflect padding of ``(n_fft - hop) // 2`` on both sides
and ``center=False`` (so ``frames = samples // hop``), magnitude ``sqrt(re^2 + im^2 + 1e-6)``,
Slaney-scale, Slaney-normalised mel filters (librosa's defaults), ``log(clamp(x, 1e-5))``.
"""

from __future__ import annotations

import functools

import torch
import torchaudio.functional as AF
from torch.nn import functional as F

# Floors of the reference: inside the square root, and before the log.
_MAGNITUDE_EPS = 1e-6
_LOG_CLAMP = 1e-5


@functools.lru_cache(maxsize=16)
def mel_filterbank(
    n_fft: int,
    n_mels: int,
    sampling_rate: int,
    fmin: float,
    fmax: float | None,
    device: torch.device,
) -> torch.Tensor:
    """(n_mels, n_fft // 2 + 1) float32 filterbank; cached per parameters and device.

    The cache holds immutable results of a pure function (bounded, no module-level dict);
    callers must not modify the returned tensor in place.
    """
    fbanks = AF.melscale_fbanks(
        n_freqs=n_fft // 2 + 1,
        f_min=fmin,
        f_max=sampling_rate / 2 if fmax is None else fmax,
        n_mels=n_mels,
        sample_rate=sampling_rate,
        norm="slaney",
        mel_scale="slaney",
    )  # (n_freqs, n_mels)
    basis: torch.Tensor = fbanks.T.contiguous().to(device=device, dtype=torch.float32)
    return basis


@functools.lru_cache(maxsize=16)
def hann_window(win_length: int, device: torch.device) -> torch.Tensor:
    """Periodic Hann window in float32, cached per length and device."""
    return torch.hann_window(win_length, dtype=torch.float32, device=device)


def spectrogram(audio: torch.Tensor, n_fft: int, hop_length: int, win_length: int) -> torch.Tensor:
    """Linear magnitude spectrogram. audio: (B, T) in [-1, 1] -> (B, n_fft//2+1, T // hop)."""
    with torch.autocast(device_type=audio.device.type, enabled=False):
        y = audio.float().unsqueeze(1)  # (B, 1, T)
        pad = (n_fft - hop_length) // 2
        y = F.pad(y, (pad, pad), mode="reflect").squeeze(1)  # (B, T + 2*pad)
        spec = torch.stft(
            y,
            n_fft,
            hop_length=hop_length,
            win_length=win_length,
            window=hann_window(win_length, y.device),
            center=False,
            normalized=False,
            onesided=True,
            return_complex=True,
        )  # (B, F, frames) complex
        return torch.sqrt(torch.view_as_real(spec).pow(2).sum(-1) + _MAGNITUDE_EPS)


def spec_to_mel(
    spec: torch.Tensor,
    n_fft: int,
    n_mels: int,
    sampling_rate: int,
    fmin: float,
    fmax: float | None,
) -> torch.Tensor:
    """Linear magnitude (B, F, T) -> natural-log mel (B, n_mels, T), float32."""
    with torch.autocast(device_type=spec.device.type, enabled=False):
        basis = mel_filterbank(n_fft, n_mels, sampling_rate, fmin, fmax, spec.device)
        mel = torch.matmul(basis, spec.float())  # (B, n_mels, T)
        return torch.log(torch.clamp(mel, min=_LOG_CLAMP))


def mel_spectrogram(
    audio: torch.Tensor,
    n_fft: int,
    n_mels: int,
    sampling_rate: int,
    hop_length: int,
    win_length: int,
    fmin: float,
    fmax: float | None,
) -> torch.Tensor:
    """Log-mel spectrogram of audio (B, T) -> (B, n_mels, T // hop), float32."""
    spec = spectrogram(audio, n_fft, hop_length, win_length)
    return spec_to_mel(spec, n_fft, n_mels, sampling_rate, fmin, fmax)
