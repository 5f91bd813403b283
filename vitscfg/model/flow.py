"""Normalising flow between the posterior latent z and the prior space z_p.

A stack of volume-preserving (mean-only) affine coupling layers, each followed by a channel
flip so that both halves get transformed. Forward maps z -> z_p (training), reverse maps
z_p -> z (inference).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from vitscfg.model.wavenet import WN


def zero_conv(in_channels: int, out_channels: int) -> nn.Conv1d:
    """1x1 conv that starts at zero, so every coupling layer starts as the identity."""
    conv = nn.Conv1d(in_channels, out_channels, 1)
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()  # type: ignore[union-attr]  # Conv1d has a bias here
    return conv


def mean_shift(
    x0: torch.Tensor, x1: torch.Tensor, m: torch.Tensor, x_mask: torch.Tensor, reverse: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean-only affine coupling: shift x1 by m (log-determinant 0)."""
    x1 = (x1 - m) * x_mask if reverse else m + x1 * x_mask
    return torch.cat([x0, x1], dim=1), x0.new_zeros(x0.size(0))


class Flip(nn.Module):
    """Reverse the channel order; its own inverse, log-determinant 0."""

    def forward(
        self,
        x: torch.Tensor,
        x_mask: torch.Tensor,
        g: torch.Tensor | None = None,
        reverse: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, C, T). Returns the flipped tensor and a zero log-determinant (B,)."""
        return torch.flip(x, [1]), x.new_zeros(x.size(0))


class MeanOnlyCoupling(nn.Module):
    """A mean-only (volume-preserving) coupling layer: ``shift`` maps the first half of the
    channels to the masked shift of the second half. Subclasses set ``half_channels``."""

    half_channels: int

    def shift(self, x0: torch.Tensor, x_mask: torch.Tensor, g: torch.Tensor | None) -> torch.Tensor:
        """(B, C/2, T) conditioning half -> (B, C/2, T) shift, zero on padding."""
        raise NotImplementedError

    def forward(
        self,
        x: torch.Tensor,
        x_mask: torch.Tensor,
        g: torch.Tensor | None = None,
        reverse: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, C, T). Returns ``(y, logdet (B,))``; logdet is 0."""
        x0, x1 = torch.split(x, [self.half_channels, self.half_channels], dim=1)
        return mean_shift(x0, x1, self.shift(x0, x_mask, g), x_mask, reverse)


class ResidualCouplingLayer(nn.Module):
    """Affine coupling: the first half of the channels predicts a shift (and optionally a
    log-scale) for the second half through a WaveNet.

    ``post`` starts at zero so every coupling layer is the identity at initialisation.
    ``enc``: a WaveNet to use instead of building one (so-vits-svc's ``flow_share_parameter``
    gives every coupling layer the same one).
    """

    def __init__(
        self,
        channels: int,
        hidden_channels: int,
        kernel_size: int,
        dilation_rate: int,
        n_layers: int,
        p_dropout: float = 0.0,
        gin_channels: int = 0,
        mean_only: bool = False,
        enc: nn.Module | None = None,
    ) -> None:
        super().__init__()
        if channels % 2 != 0:
            raise ValueError(f"coupling channels must be even, got {channels}")
        self.half_channels = channels // 2
        self.mean_only = mean_only
        self.pre = nn.Conv1d(self.half_channels, hidden_channels, 1)
        self.enc = enc or WN(
            hidden_channels, kernel_size, dilation_rate, n_layers, gin_channels, p_dropout
        )
        self.post = zero_conv(hidden_channels, self.half_channels * (1 if mean_only else 2))

    def forward(
        self,
        x: torch.Tensor,
        x_mask: torch.Tensor,
        g: torch.Tensor | None = None,
        reverse: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, C, T). Returns ``(y, logdet (B,))``; logdet is 0 for mean-only layers."""
        x0, x1 = torch.split(x, [self.half_channels, self.half_channels], dim=1)
        h = self.enc(self.pre(x0) * x_mask, x_mask, g=g)  # (B, H, T)
        stats = self.post(h) * x_mask  # (B, C/2 or C, T)
        if self.mean_only:
            m, logs = stats, torch.zeros_like(stats)
        else:
            m, logs = torch.split(stats, [self.half_channels, self.half_channels], dim=1)

        if not reverse:
            x1 = m + x1 * torch.exp(logs) * x_mask
            logdet = torch.sum(logs, [1, 2])
        else:
            x1 = (x1 - m) * torch.exp(-logs) * x_mask
            logdet = -torch.sum(logs, [1, 2])
        return torch.cat([x0, x1], dim=1), logdet


class FlowStack(nn.Module):
    """A sequence of invertible layers; forward maps z -> z_p, ``reverse`` z_p -> z."""

    def __init__(self, layers: Sequence[nn.Module]) -> None:
        super().__init__()
        self.flows = nn.ModuleList(layers)

    def forward(
        self,
        x: torch.Tensor,
        x_mask: torch.Tensor,
        g: torch.Tensor | None = None,
        reverse: bool = False,
    ) -> torch.Tensor:
        """x: (B, C, T) -> (B, C, T). z -> z_p when ``reverse`` is False, z_p -> z otherwise."""
        flows = reversed(self.flows) if reverse else self.flows
        for flow in flows:
            x, _ = flow(x, x_mask, g=g, reverse=reverse)
        return x


class ResidualCouplingBlock(FlowStack):
    """``n_flows`` x (mean-only coupling, flip). ``flows`` alternates the two, as the reference."""

    def __init__(
        self,
        channels: int,
        hidden_channels: int,
        kernel_size: int,
        dilation_rate: int,
        n_layers: int,
        n_flows: int = 4,
        gin_channels: int = 0,
    ) -> None:
        layers: list[nn.Module] = []
        for _ in range(n_flows):
            layers.append(
                ResidualCouplingLayer(
                    channels,
                    hidden_channels,
                    kernel_size,
                    dilation_rate,
                    n_layers,
                    gin_channels=gin_channels,
                    mean_only=True,
                )
            )
            layers.append(Flip())
        super().__init__(layers)
