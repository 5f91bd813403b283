"""MB-iSTFT-VITS's sub-band loss: a multi-resolution STFT loss between the multi-band
decoder's band signals and the pseudo-QMF bands of the real waveform.

Per resolution (``train.fft_sizes[i]``, ``hop_sizes[i]``, ``win_lengths[i]``, Hann window):
spectral convergence ``||Y - X||_F / ||Y||_F`` plus the mean absolute difference of the
log-magnitudes; each averaged over the resolutions, then added. Every band of every item is
one signal. Magnitudes are floored (power >= 1e-7) so the logarithm stays finite on silence.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.nn import functional as F

#: Floor of the squared magnitude before its square root and logarithm.
POWER_FLOOR = 1e-7


def stft_magnitude(x: torch.Tensor, n_fft: int, hop: int, win_length: int) -> torch.Tensor:
    """Signals (N, T) -> floored STFT magnitudes (N, n_fft // 2 + 1, frames), centred frames."""
    window = torch.hann_window(win_length, dtype=x.dtype, device=x.device)
    spec = torch.stft(x, n_fft, hop, win_length, window, return_complex=True)
    power = spec.real**2 + spec.imag**2
    return torch.sqrt(torch.clamp(power, min=POWER_FLOOR))


def multi_resolution_stft_loss(
    fake: torch.Tensor,
    real: torch.Tensor,
    fft_sizes: Sequence[int],
    hop_sizes: Sequence[int],
    win_lengths: Sequence[int],
) -> tuple[torch.Tensor, torch.Tensor]:
    """(spectral convergence, log-magnitude L1), each the mean over resolutions. (N, T) inputs."""
    if not len(fft_sizes) == len(hop_sizes) == len(win_lengths) > 0:
        raise ValueError("fft_sizes, hop_sizes and win_lengths need one equal, non-zero length")
    convergence = fake.new_zeros(())
    log_l1 = fake.new_zeros(())
    for n_fft, hop, win in zip(fft_sizes, hop_sizes, win_lengths, strict=True):
        fake_mag = stft_magnitude(fake, n_fft, hop, win)
        real_mag = stft_magnitude(real, n_fft, hop, win)
        convergence = convergence + torch.linalg.norm(real_mag - fake_mag) / torch.linalg.norm(
            real_mag
        )
        log_l1 = log_l1 + F.l1_loss(torch.log(fake_mag), torch.log(real_mag))
    return convergence / len(fft_sizes), log_l1 / len(fft_sizes)


def subband_stft_loss(
    fake_bands: torch.Tensor,
    real_bands: torch.Tensor,
    fft_sizes: Sequence[int],
    hop_sizes: Sequence[int],
    win_lengths: Sequence[int],
) -> torch.Tensor:
    """Sub-band loss of decoder bands (B, M, T') against real bands (B, M, T), T' >= T: the
    decoder's bands are cut to the real ones' length."""
    real = real_bands.reshape(-1, real_bands.shape[-1])
    fake = fake_bands.reshape(-1, fake_bands.shape[-1])[:, : real.shape[-1]]
    convergence, log_l1 = multi_resolution_stft_loss(fake, real, fft_sizes, hop_sizes, win_lengths)
    return convergence + log_l1
