"""Neural source-filter (NSF) HiFi-GAN decoder: the waveform generator of RVC's pitch models.

A plain HiFi-GAN has to invent the periodicity of voiced speech from the latent alone; an
NSF decoder is handed it. From the frame-level F0 a *source module* synthesises, at the
audio rate, a sine at F0 (plus overtones when ``harmonic_num`` > 0) in voiced frames and
Gaussian noise in unvoiced ones, merges the harmonics into one excitation with a linear
layer + tanh, and every upsampling stage of the HiFi-GAN adds a strided convolution of that
excitation brought down to the stage's own rate (``noise_convs``).

Randomness: the source draws the initial phases of the overtones (``torch.rand``, the
fundamental always starts at phase 0) and the additive noise (``torch.randn_like``), in that
order, from the global generator; a test replays recorded draws to compare against golden
outputs (tests/model/test_rvc_parity.py).

Sub-module names (``m_source.l_linear``, ``noise_convs``, ``ups``, ``resblocks``,
``conv_pre``, ``conv_post``, ``cond``) are those of RVC's checkpoints.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from vitscfg.model.decoder import fold_weight_norm, mrf, resblock_stack, upsample_conv
from vitscfg.model.norms import LRELU_SLOPE

# Source-module constants RVC's models fix (none comes from the config).
SINE_AMP = 0.1  # amplitude of the sine in voiced samples
NOISE_STD = 0.003  # noise std in voiced samples; unvoiced noise has std SINE_AMP / 3
VOICED_THRESHOLD = 0.0  # F0 (Hz) above which a frame counts as voiced
HARMONIC_NUM = 0  # overtones besides the fundamental


def phase_steps(f0: torch.Tensor, n_harmonics: int, sampling_rate: int) -> torch.Tensor:
    """Per-step phase increments in cycles, wrapped to [0, 1), of every harmonic of ``f0``
    (B, N) Hz -> (B, N, H), with each overtone's random initial phase (``torch.rand``, (B, H))
    added at the first step; the fundamental starts at phase 0."""
    multiples = torch.arange(1, n_harmonics + 1, device=f0.device, dtype=f0.dtype)
    freqs = f0.unsqueeze(-1) * multiples  # (B, N, H) Hz of each harmonic
    step = (freqs / sampling_rate) % 1
    phase0 = torch.rand(f0.size(0), n_harmonics, device=f0.device)  # (B, H)
    phase0[:, 0] = 0
    step[:, 0, :] = step[:, 0, :] + phase0
    return step


def wrapped_sines(phase: torch.Tensor, step: torch.Tensor, amp: float) -> torch.Tensor:
    """``amp * sin(2 pi * cumsum(step))`` (B, N, H), with one cycle subtracted after every
    sample where ``phase`` (the running phase mod 1) wraps, so the long float32 sum stays
    small; a whole cycle does not change the sine."""
    wraps = (phase[:, 1:, :] - phase[:, :-1, :]) < 0
    correction = torch.zeros_like(step)
    correction[:, 1:, :] = wraps * -1.0
    return torch.sin(torch.cumsum(step + correction, dim=1) * 2 * math.pi) * amp


def voiced_mix(
    sines: torch.Tensor, voiced: torch.Tensor, sine_amp: float, noise_std: float
) -> torch.Tensor:
    """Sines where voiced plus Gaussian noise (``torch.randn_like``): std ``noise_std`` where
    voiced, ``sine_amp / 3`` where not. ``voiced``: 1.0 / 0.0, broadcast over harmonics."""
    noise_amp = voiced * noise_std + (1 - voiced) * sine_amp / 3
    noise = noise_amp * torch.randn_like(sines)
    return sines * voiced + noise


def stage_convs(
    upsample_initial_channel: int,
    upsample_rates: Sequence[int],
    upsample_kernel_sizes: Sequence[int],
    extra_padding: int = 0,
) -> tuple[nn.ModuleList, nn.ModuleList]:
    """(``ups``, ``noise_convs``), built stage by stage. The excitation is at the audio rate;
    the stage after upsample i runs at audio rate / prod(rates after i), so a strided conv
    brings it down there (padding ``(s + extra_padding) // 2``, as ``upsample_conv``'s)."""
    ups, noise_convs = nn.ModuleList(), nn.ModuleList()
    for i, (rate, kernel) in enumerate(zip(upsample_rates, upsample_kernel_sizes, strict=True)):
        ups.append(upsample_conv(upsample_initial_channel, i, rate, kernel, extra_padding))
        channels = upsample_initial_channel // (2 ** (i + 1))
        stride = math.prod(upsample_rates[i + 1 :])
        if i + 1 < len(upsample_rates):
            padding = (stride + extra_padding) // 2
            noise_convs.append(nn.Conv1d(1, channels, stride * 2, stride=stride, padding=padding))
        else:
            noise_convs.append(nn.Conv1d(1, channels, 1))
    return ups, noise_convs


def nsf_stages(
    x: torch.Tensor,
    source: torch.Tensor,
    convs: tuple[nn.ModuleList, nn.ModuleList],
    resblocks: nn.ModuleList,
    num_kernels: int,
) -> torch.Tensor:
    """Every upsampling stage with the excitation (B, 1, T_audio) added after its upsample;
    ``convs``: ``stage_convs``'s pair."""
    for i, (up, noise_conv) in enumerate(zip(*convs, strict=True)):
        x = up(F.leaky_relu(x, LRELU_SLOPE))
        x = x + noise_conv(source)
        x = mrf(resblocks, i, num_kernels, x)
    return x


class SineSource(nn.Module):
    """F0 (B, T_frames) in Hz -> excitation (B, T_frames * upp, harmonic_num + 1). No weights.

    The phase is accumulated per frame and interpolated linearly to the audio rate, then the
    per-sample increments are integrated again with a correction at each place where the
    interpolated phase wraps past 1 — so the sine stays continuous across frames whose F0
    differs, without accumulating a long float sum of tiny increments.
    """

    def __init__(
        self,
        sampling_rate: int,
        harmonic_num: int = HARMONIC_NUM,
        sine_amp: float = SINE_AMP,
        noise_std: float = NOISE_STD,
        voiced_threshold: float = VOICED_THRESHOLD,
    ) -> None:
        super().__init__()
        self.sampling_rate = sampling_rate
        self.n_harmonics = harmonic_num + 1
        self.sine_amp = sine_amp
        self.noise_std = noise_std
        self.voiced_threshold = voiced_threshold

    @torch.no_grad()
    def forward(self, f0: torch.Tensor, upp: int) -> torch.Tensor:
        """f0: (B, T) frame F0 in Hz (0 where unvoiced); upp: audio samples per frame."""
        f0 = f0.float()
        step = phase_steps(f0, self.n_harmonics, self.sampling_rate)  # (B, T, H)

        # Phase at each frame boundary (scaled by upp: upp samples per frame), interpolated
        # to every sample, wrapped; a negative difference marks a wrap between two samples.
        frame_phase = torch.cumsum(step, dim=1) * upp  # (B, T, H)
        sample_phase = F.interpolate(
            frame_phase.transpose(1, 2), scale_factor=float(upp), mode="linear", align_corners=True
        ).transpose(1, 2)  # (B, T*upp, H)
        sample_phase = sample_phase % 1
        sample_step = F.interpolate(
            step.transpose(1, 2), scale_factor=float(upp), mode="nearest"
        ).transpose(1, 2)  # (B, T*upp, H)
        sines = wrapped_sines(sample_phase, sample_step, self.sine_amp)

        voiced = (f0 > self.voiced_threshold).to(sines.dtype).unsqueeze(1)  # (B, 1, T)
        voiced = F.interpolate(voiced, scale_factor=float(upp), mode="nearest").transpose(1, 2)
        return voiced_mix(sines, voiced, self.sine_amp, self.noise_std)  # (B, T*upp, H)


class HarmonicSource(nn.Module):
    """Sine excitation merged over harmonics: (B, T) F0 -> (B, T * upp, 1) in [-1, 1]."""

    def __init__(self, sampling_rate: int, harmonic_num: int = HARMONIC_NUM) -> None:
        super().__init__()
        self.l_sin_gen = SineSource(sampling_rate, harmonic_num)
        self.l_linear = nn.Linear(harmonic_num + 1, 1)
        self.l_tanh = nn.Tanh()

    def forward(self, f0: torch.Tensor, upp: int) -> torch.Tensor:
        sines = self.l_sin_gen(f0, upp).to(self.l_linear.weight.dtype)
        merged: torch.Tensor = self.l_tanh(self.l_linear(sines))
        return merged


class NsfGenerator(nn.Module):
    """HiFi-GAN generator with a harmonic source added after every upsampling stage.

    x (B, C_inter, T) and f0 (B, T) -> audio (B, 1, T * prod(upsample_rates)) in [-1, 1].
    """

    def __init__(
        self,
        initial_channel: int,
        resblock: str,
        resblock_kernel_sizes: Sequence[int],
        resblock_dilation_sizes: Sequence[Sequence[int]],
        upsample_rates: Sequence[int],
        upsample_initial_channel: int,
        upsample_kernel_sizes: Sequence[int],
        gin_channels: int,
        sampling_rate: int,
    ) -> None:
        super().__init__()
        self.num_kernels = len(resblock_kernel_sizes)
        self.upp = math.prod(upsample_rates)
        self.m_source = HarmonicSource(sampling_rate)
        self.conv_pre = nn.Conv1d(initial_channel, upsample_initial_channel, 7, 1, padding=3)
        self.ups, self.noise_convs = stage_convs(
            upsample_initial_channel, upsample_rates, upsample_kernel_sizes
        )
        self.resblocks = resblock_stack(
            resblock,
            upsample_initial_channel,
            len(upsample_rates),
            resblock_kernel_sizes,
            resblock_dilation_sizes,
        )
        channels = upsample_initial_channel // (2 ** len(upsample_rates))
        self.conv_post = nn.Conv1d(channels, 1, 7, 1, padding=3, bias=False)
        if gin_channels > 0:
            self.cond = nn.Conv1d(gin_channels, upsample_initial_channel, 1)

    def forward(
        self, x: torch.Tensor, f0: torch.Tensor, g: torch.Tensor | None = None
    ) -> torch.Tensor:
        """x: (B, C_inter, T); f0: (B, T) Hz; g: (B, G, 1). Returns (B, 1, T * upp)."""
        source = self.m_source(f0, self.upp).transpose(1, 2)  # (B, 1, T * upp)
        x = self.conv_pre(x)
        if g is not None:
            x = x + self.cond(g)
        x = nsf_stages(x, source, (self.ups, self.noise_convs), self.resblocks, self.num_kernels)
        # Default slope (0.01) before conv_post, as in HiFi-GAN.
        x = self.conv_post(F.leaky_relu(x))
        return torch.tanh(x)

    def remove_weight_norm(self) -> None:
        """Fold weight norm into plain weights (inference/export only)."""
        fold_weight_norm(self.ups, self.resblocks)
