"""VITS discriminator: one scale discriminator on raw audio plus period discriminators for
periods 2, 3, 5, 7, 11 (HiFi-GAN's MPD; the reference keeps a single MSD scale, no pooling).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from vitscfg.model.norms import LRELU_SLOPE, get_padding, weight_or_spectral_norm

PERIODS: tuple[int, ...] = (2, 3, 5, 7, 11)


def scaled(channels: int, width: float) -> int:
    """``channels * width`` rounded, at least 1: ``width`` (model.discriminator_width, vitscfg
    dialect) shrinks D for CPU smoke runs; 1.0 gives the reference shapes exactly."""
    return channels if width == 1.0 else max(1, round(channels * width))


# (B,) logits of one discriminator, and its per-layer feature maps for feature matching.
DiscriminatorOutput = tuple[torch.Tensor, list[torch.Tensor]]


class DiscriminatorP(nn.Module):
    """Period discriminator: folds audio (B, 1, T) into (B, 1, T/p, p) and runs 2-D convs
    with kernels (k, 1), so each column sees samples spaced ``period`` apart."""

    def __init__(
        self,
        period: int,
        kernel_size: int = 5,
        stride: int = 3,
        use_spectral_norm: bool = False,
        width: float = 1.0,
    ) -> None:
        super().__init__()
        self.period = period
        pad = (get_padding(kernel_size, 1), 0)
        widths = [1] + [scaled(c, width) for c in (32, 128, 512, 1024, 1024)]
        strides = [stride, stride, stride, stride, 1]
        self.convs = nn.ModuleList(
            weight_or_spectral_norm(
                nn.Conv2d(c_in, c_out, (kernel_size, 1), (s, 1), padding=pad), use_spectral_norm
            )
            for c_in, c_out, s in zip(widths[:-1], widths[1:], strides, strict=True)
        )
        self.conv_post = weight_or_spectral_norm(
            nn.Conv2d(widths[-1], 1, (3, 1), 1, padding=(1, 0)), use_spectral_norm
        )

    def forward(self, x: torch.Tensor) -> DiscriminatorOutput:
        """x: (B, 1, T) audio."""
        batch, channels, length = x.shape
        if length % self.period != 0:
            # Reflect-pad to a whole number of periods before folding.
            n_pad = self.period - length % self.period
            x = F.pad(x, (0, n_pad), "reflect")
            length += n_pad
        x = x.view(batch, channels, length // self.period, self.period)  # (B, 1, T/p, p)

        fmap: list[torch.Tensor] = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), LRELU_SLOPE)
            fmap.append(x)
        x = self.conv_post(x)
        fmap.append(x)
        return torch.flatten(x, 1, -1), fmap


class DiscriminatorS(nn.Module):
    """Scale discriminator on raw audio: grouped strided 1-D convs (MelGAN style)."""

    def __init__(self, use_spectral_norm: bool = False, width: float = 1.0) -> None:
        super().__init__()
        # (in, out, kernel, stride, groups, padding)
        layers = [
            (1, 16, 15, 1, 1, 7),
            (16, 64, 41, 4, 4, 20),
            (64, 256, 41, 4, 16, 20),
            (256, 1024, 41, 4, 64, 20),
            (1024, 1024, 41, 4, 256, 20),
            (1024, 1024, 5, 1, 1, 2),
        ]
        self.convs = nn.ModuleList(
            weight_or_spectral_norm(
                nn.Conv1d(c_in, c_out, k, s, groups=groups, padding=pad), use_spectral_norm
            )
            for c_in, c_out, k, s, groups, pad in _scaled_layers(layers, width)
        )
        self.conv_post = weight_or_spectral_norm(
            nn.Conv1d(scaled(1024, width), 1, 3, 1, padding=1), use_spectral_norm
        )

    def forward(self, x: torch.Tensor) -> DiscriminatorOutput:
        """x: (B, 1, T) audio."""
        fmap: list[torch.Tensor] = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), LRELU_SLOPE)
            fmap.append(x)
        x = self.conv_post(x)
        fmap.append(x)
        return torch.flatten(x, 1, -1), fmap


def _scaled_layers(
    layers: list[tuple[int, int, int, int, int, int]], width: float
) -> list[tuple[int, int, int, int, int, int]]:
    """Scale channels by ``width``; groups shrink too and must divide both channel counts."""
    out = []
    for c_in, c_out, k, s, groups, pad in layers:
        c_in2 = c_in if c_in == 1 else scaled(c_in, width)
        c_out2 = scaled(c_out, width)
        g = math.gcd(scaled(groups, width), c_in2, c_out2)
        out.append((c_in2, c_out2, k, s, g, pad))
    return out


class MultiPeriodDiscriminator(nn.Module):
    """The scale discriminator then one period discriminator per period (VITS: 2, 3, 5, 7,
    11; forks add longer periods); ``discriminators.0`` is the scale one, as in the checkpoints."""

    def __init__(
        self,
        use_spectral_norm: bool = False,
        width: float = 1.0,
        periods: Sequence[int] = PERIODS,
        joint: bool = True,
    ) -> None:
        super().__init__()
        self.joint = joint
        discs: list[nn.Module] = [DiscriminatorS(use_spectral_norm=use_spectral_norm, width=width)]
        discs += [
            DiscriminatorP(p, use_spectral_norm=use_spectral_norm, width=width) for p in periods
        ]
        self.discriminators = nn.ModuleList(discs)

    def forward(
        self, y: torch.Tensor, y_hat: torch.Tensor
    ) -> tuple[
        list[torch.Tensor], list[torch.Tensor], list[list[torch.Tensor]], list[list[torch.Tensor]]
    ]:
        """y, y_hat: (B, 1, T) real and generated audio.

        Returns ``(real_logits, fake_logits, real_fmaps, fake_fmaps)``, one entry per
        discriminator. Real and fake go through each discriminator as one batch (B -> 2B),
        halving the number of conv launches; with weight norm the results equal two calls
        (with spectral norm the power iteration then runs once per call instead of twice).
        ``joint=False`` makes the two calls, as forks' training steps do: each call
        recomputes the weight-normed weights, and autograd keeps both copies until backward
        (RVC v2: 0.27 GiB more), so a trace of the fork's step needs it.
        """
        real_logits: list[torch.Tensor] = []
        fake_logits: list[torch.Tensor] = []
        real_fmaps: list[list[torch.Tensor]] = []
        fake_fmaps: list[list[torch.Tensor]] = []
        if not self.joint:
            for disc in self.discriminators:
                for inputs, logits_out, fmaps_out in (
                    (y, real_logits, real_fmaps),
                    (y_hat, fake_logits, fake_fmaps),
                ):
                    logits, fmap = disc(inputs)
                    logits_out.append(logits)
                    fmaps_out.append(fmap)
            return real_logits, fake_logits, real_fmaps, fake_fmaps
        batch = y.size(0)
        both = torch.cat([y, y_hat], dim=0)  # (2B, 1, T)
        for disc in self.discriminators:
            logits, fmap = disc(both)
            real_logits.append(logits[:batch])
            fake_logits.append(logits[batch:])
            real_fmaps.append([f[:batch] for f in fmap])
            fake_fmaps.append([f[batch:] for f in fmap])
        return real_logits, fake_logits, real_fmaps, fake_fmaps
