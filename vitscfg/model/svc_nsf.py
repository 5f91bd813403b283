"""so-vits-svc's NSF-HiFiGAN decoder (its ``vocoder_name: "nsf-hifigan"``).

The same idea as RVC's decoder (vitscfg.model.nsf): a harmonic excitation built from the frame
F0 is added, through a strided convolution, after every upsampling stage of a HiFi-GAN. It is
not the same network, so it is its own registry entry:

- nine harmonics (the fundamental and eight overtones), so ``m_source.l_linear`` is (1, 9);
- ``conv_pre`` and ``conv_post`` are weight-normed and ``conv_post`` has a bias;
- the speaker projection ``cond`` always exists;
- the excitation is computed at the audio rate: F0 is first repeated ``upp`` times per frame
  and the per-sample phase increments are integrated directly (RVC integrates per frame and
  interpolates);
- the transposed convolutions and the excitation convolutions pad ``(k - u + 1) // 2`` and
  ``(s + 1) // 2`` in 4.1, ``(k - u) // 2`` and ``s // 2`` in 4.0 (equal for even sizes,
  which every shipped config has).

Randomness, in the order the module draws it from the global generator: the overtones'
initial phases (``torch.rand``, (B, 9); the fundamental starts at 0), the additive noise
(``torch.randn_like`` of the (B, T * upp, 9) sines) and a noise branch (``randn_like`` of the
(B, T * upp, 1) voicing mask) whose value is not used; it is drawn anyway so that a seeded run
consumes the generator exactly as so-vits-svc does (tests/model/test_svc_parity.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from vitscfg.model.decoder import (
    DECODERS,
    DecoderBuilder,
    fold_weight_norm,
    resblock_stack,
    trunk_args,
)
from vitscfg.model.hparams import ModelHParams
from vitscfg.model.norms import weight_norm
from vitscfg.model.nsf import nsf_stages, phase_steps, stage_convs, voiced_mix, wrapped_sines

# Source constants fixed by so-vits-svc's decoder (none comes from the config).
HARMONIC_NUM = 8
SINE_AMP = 0.1
NOISE_STD = 0.003
VOICED_THRESHOLD = 0.0


class SampleRateSineSource(nn.Module):
    """Audio-rate F0 (B, N) in Hz -> sines + noise (B, N, harmonics). No weights."""

    def __init__(self, sampling_rate: int, harmonic_num: int = HARMONIC_NUM) -> None:
        super().__init__()
        self.sampling_rate = sampling_rate
        self.n_harmonics = harmonic_num + 1

    @torch.no_grad()
    def forward(self, f0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns ``(excitation (B, N, H), voiced (B, N, 1))``."""
        step = phase_steps(f0, self.n_harmonics, self.sampling_rate)  # cycles per sample
        sines = wrapped_sines(torch.cumsum(step, dim=1) % 1, step, SINE_AMP)
        voiced = (f0 > VOICED_THRESHOLD).to(torch.float32).unsqueeze(-1)  # (B, N, 1)
        return voiced_mix(sines, voiced, SINE_AMP, NOISE_STD), voiced


class SvcHarmonicSource(nn.Module):
    """Sines merged over the harmonics by a linear layer + tanh: (B, N) -> (B, N, 1)."""

    def __init__(self, sampling_rate: int, harmonic_num: int = HARMONIC_NUM) -> None:
        super().__init__()
        self.l_sin_gen = SampleRateSineSource(sampling_rate, harmonic_num)
        self.l_linear = nn.Linear(harmonic_num + 1, 1)
        self.l_tanh = nn.Tanh()

    def forward(self, f0: torch.Tensor) -> torch.Tensor:
        sines, voiced = self.l_sin_gen(f0)
        merged: torch.Tensor = self.l_tanh(self.l_linear(sines.to(self.l_linear.weight.dtype)))
        torch.randn_like(voiced)  # the unused noise branch: see the module docstring
        return merged


class SvcNsfGenerator(nn.Module):
    """x (B, C_inter, T), f0 (B, T) Hz, g (B, G, 1) -> audio (B, 1, T * prod(upsample_rates)).

    Sub-module names (``m_source``, ``conv_pre``, ``ups``, ``noise_convs``, ``resblocks``,
    ``conv_post``, ``cond``) are so-vits-svc's checkpoint keys.
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
        round_padding_up: bool = True,
    ) -> None:
        super().__init__()
        up = 1 if round_padding_up else 0
        self.num_kernels = len(resblock_kernel_sizes)
        self.upp = math.prod(upsample_rates)
        self.m_source = SvcHarmonicSource(sampling_rate)
        self.conv_pre = weight_norm(
            nn.Conv1d(initial_channel, upsample_initial_channel, 7, 1, padding=3)
        )
        self.ups, self.noise_convs = stage_convs(
            upsample_initial_channel, upsample_rates, upsample_kernel_sizes, extra_padding=up
        )
        self.resblocks = resblock_stack(
            resblock,
            upsample_initial_channel,
            len(upsample_rates),
            resblock_kernel_sizes,
            resblock_dilation_sizes,
        )
        channels = upsample_initial_channel // (2 ** len(upsample_rates))
        self.conv_post = weight_norm(nn.Conv1d(channels, 1, 7, 1, padding=3))
        self.cond = nn.Conv1d(gin_channels, upsample_initial_channel, 1)

    def forward(self, x: torch.Tensor, f0: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """x: (B, C_inter, T); f0: (B, T) Hz; g: (B, G, 1). Returns (B, 1, T * upp)."""
        f0_audio = f0.repeat_interleave(self.upp, dim=1)  # (B, T * upp): each frame's F0 held
        source = self.m_source(f0_audio).transpose(1, 2)  # (B, 1, T * upp)
        x = self.conv_pre(x) + self.cond(g)
        x = nsf_stages(x, source, (self.ups, self.noise_convs), self.resblocks, self.num_kernels)
        # Default slope (0.01) before conv_post, as in HiFi-GAN.
        return torch.tanh(self.conv_post(F.leaky_relu(x)))

    def remove_weight_norm(self) -> None:
        """Fold weight norm into plain weights (inference/export only)."""
        fold_weight_norm([self.conv_pre, *self.ups, self.conv_post], self.resblocks)


def _builder(round_padding_up: bool) -> DecoderBuilder:
    def build(hp: ModelHParams) -> nn.Module:
        return SvcNsfGenerator(
            *trunk_args(hp),
            gin_channels=hp.gin_channels,
            sampling_rate=hp.sampling_rate,
            round_padding_up=round_padding_up,
        )

    return build


#: so-vits-svc's decoders by version (keys of vitscfg.model.decoder.DECODERS).
SVC_DECODERS = {"4.1": "svc-nsf-hifigan", "4.0": "svc4.0-nsf-hifigan"}
DECODERS[SVC_DECODERS["4.1"]] = _builder(round_padding_up=True)
DECODERS[SVC_DECODERS["4.0"]] = _builder(round_padding_up=False)
