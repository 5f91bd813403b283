"""Depthwise-separable 1-D convolution (so-vits-svc 4.1's ``use_depthwise_conv``).

A ``k``-wide convolution from C_in to C_out channels costs C_in * C_out * k weights; split into
a per-channel ``k``-wide convolution (``depth_conv``, groups = C_in) and a 1x1 mixing
convolution (``point_conv``) it costs C_in * k + C_in * C_out. so-vits-svc's small ("tiny")
models use it for the dilated convolutions of every WaveNet stack. Each half carries its own
weight norm when requested, so a checkpoint has ``depth_conv.weight_g`` / ``point_conv.weight_v``
... under the layer's name.
"""

from __future__ import annotations

import torch
from torch import nn

from vitscfg.model.norms import weight_norm


class DepthwiseSeparableConv1d(nn.Module):
    """(B, C_in, T) -> (B, C_out, T'): grouped ``kernel_size`` conv, then a 1x1 conv."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        dilation: int = 1,
        padding: int = 0,
        normalized: bool = False,
    ) -> None:
        super().__init__()
        depth = nn.Conv1d(
            in_channels,
            in_channels,
            kernel_size,
            padding=padding,
            dilation=dilation,
            groups=in_channels,
        )
        point = nn.Conv1d(in_channels, out_channels, 1)
        self.depth_conv = weight_norm(depth) if normalized else depth
        self.point_conv = weight_norm(point) if normalized else point

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.point_conv(self.depth_conv(x))
        return out
