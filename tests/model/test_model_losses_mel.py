"""Losses and spectrograms: exact values on hand-made inputs, fp32 under autocast."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("torch")

import torch  # noqa: E402

from vitscfg.model.losses import (  # noqa: E402
    discriminator_loss,
    duration_loss,
    feature_loss,
    generator_loss,
    kl_loss,
    mel_loss,
)
from vitscfg.model.mel import mel_filterbank, mel_spectrogram, spectrogram  # noqa: E402

pytestmark = pytest.mark.torch


def test_gan_losses_values() -> None:
    ones, zeros = [torch.ones(2, 5)] * 3, [torch.zeros(2, 5)] * 3
    total, real_terms, fake_terms = discriminator_loss(ones, zeros)
    assert total.item() == 0.0 and len(real_terms) == len(fake_terms) == 3
    total, _, _ = discriminator_loss(zeros, ones)  # worst case: 1 + 1 per discriminator
    assert total.item() == pytest.approx(6.0)
    gen_total, terms = generator_loss([torch.full((2, 5), 0.5)] * 2)
    assert gen_total.item() == pytest.approx(0.5) and len(terms) == 2
    fm = feature_loss(
        [[torch.zeros(3), torch.zeros(2, 2)]], [[torch.ones(3), torch.full((2, 2), 3.0)]]
    )
    assert fm.item() == pytest.approx(2 * (1 + 3))
    assert mel_loss(torch.zeros(1, 4, 3), torch.ones(1, 4, 3)).item() == pytest.approx(1.0)
    assert duration_loss(torch.tensor([0.5, 1.5])).item() == pytest.approx(2.0)


def test_kl_loss_value() -> None:
    mask = torch.tensor([[[1.0, 1.0, 0.0]]])  # 2 valid frames
    z_p = torch.zeros(1, 2, 3)
    m_p = torch.ones(1, 2, 3)
    logs_p = torch.zeros(1, 2, 3)
    logs_q = torch.full((1, 2, 3), -1.0)
    # per element: 0 - (-1) - 0.5 + 0.5 * 1 * 1 = 1; 2 channels x 2 frames / 2 frames = 2
    assert kl_loss(z_p, logs_q, m_p, logs_p, mask).item() == pytest.approx(2.0)


def _librosa_slaney_mel(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """Independent NumPy re-derivation of librosa.filters.mel(htk=False, norm='slaney')."""

    def hz_to_mel(f: np.ndarray) -> np.ndarray:
        lin = f / (200.0 / 3)
        log_part = 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
        return np.where(f >= 1000.0, log_part, lin)

    def mel_to_hz(m: np.ndarray) -> np.ndarray:
        lin = m * (200.0 / 3)
        log_part = 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0))
        return np.where(m >= 15.0, log_part, lin)

    fft_freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(np.array(fmin)), hz_to_mel(np.array(fmax)), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    weights = np.zeros((n_mels, len(fft_freqs)))
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    normalised: np.ndarray = weights * (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, None]
    return normalised


def test_mel_filterbank_is_librosa_slaney() -> None:
    ours = mel_filterbank(1024, 80, 22050, 0.0, None, torch.device("cpu")).numpy()
    expected = _librosa_slaney_mel(22050, 1024, 80, 0.0, 11025.0)
    assert ours.shape == (80, 513)
    assert np.allclose(ours, expected, atol=1e-6, rtol=1e-4)
    assert mel_filterbank(1024, 80, 22050, 0.0, None, torch.device("cpu")) is mel_filterbank(
        1024, 80, 22050, 0.0, None, torch.device("cpu")
    )


def test_spectrogram_frames_and_peak() -> None:
    sr, n_fft, hop = 8000, 256, 64
    t = torch.arange(sr // 2) / sr
    audio = (0.5 * torch.sin(2 * math.pi * 1000.0 * t)).unsqueeze(0)  # (1, 4000)
    spec = spectrogram(audio, n_fft, hop, n_fft)
    assert spec.shape == (1, n_fft // 2 + 1, audio.size(1) // hop)
    assert spec.dtype == torch.float32
    assert int(spec[0, :, 10].argmax()) == round(1000 * n_fft / sr)
    # Hann-windowed full-scale sinusoid: peak magnitude = amplitude * sum(window) / 2.
    assert spec[0, 32, 10].item() == pytest.approx(0.5 * n_fft / 2 / 2, rel=0.02)
    silence = spectrogram(torch.zeros(1, 1024), n_fft, hop, n_fft)
    assert torch.allclose(silence, torch.full_like(silence, 1e-3))


def test_mel_is_float32_under_autocast() -> None:
    audio = torch.rand(2, 2048) * 2 - 1
    reference = mel_spectrogram(audio, 256, 20, 8000, 64, 256, 0.0, None)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mel = mel_spectrogram(audio.bfloat16(), 256, 20, 8000, 64, 256, 0.0, None)
    assert mel.dtype == torch.float32
    expected = mel_spectrogram(audio.bfloat16().float(), 256, 20, 8000, 64, 256, 0.0, None)
    assert torch.allclose(mel, expected, atol=1e-5)
    assert mel.shape == reference.shape == (2, 20, 32)
    assert reference.min().item() >= math.log(1e-5) - 1e-6
