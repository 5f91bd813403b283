"""Duration predictors: stochastic (flow-based, default) and deterministic (``use_sdp: false``).

Both see the text encoder's hidden states *detached*: duration modelling must not push
gradients back into the text encoder (the MAS targets already depend on it).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from vitscfg.model.flow import Flip, zero_conv
from vitscfg.model.norms import LayerNorm
from vitscfg.model.spline import rational_quadratic_spline

_LOG_2PI = math.log(2 * math.pi)


class DDSConv(nn.Module):
    """Dilated depth-separable conv stack (dilation ``kernel_size**i``) with residual adds."""

    def __init__(
        self, channels: int, kernel_size: int, n_layers: int, p_dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.drop = nn.Dropout(p_dropout)
        self.convs_sep = nn.ModuleList()
        self.convs_1x1 = nn.ModuleList()
        self.norms_1 = nn.ModuleList()
        self.norms_2 = nn.ModuleList()
        for i in range(n_layers):
            dilation = kernel_size**i
            padding = (kernel_size * dilation - dilation) // 2
            self.convs_sep.append(
                nn.Conv1d(
                    channels,
                    channels,
                    kernel_size,
                    groups=channels,
                    dilation=dilation,
                    padding=padding,
                )
            )
            self.convs_1x1.append(nn.Conv1d(channels, channels, 1))
            self.norms_1.append(LayerNorm(channels))
            self.norms_2.append(LayerNorm(channels))

    def forward(
        self, x: torch.Tensor, x_mask: torch.Tensor, g: torch.Tensor | None = None
    ) -> torch.Tensor:
        """x: (B, C, T); g: (B, C, T or 1) added once at the input."""
        if g is not None:
            x = x + g
        for conv_sep, conv_1x1, norm_1, norm_2 in zip(
            self.convs_sep, self.convs_1x1, self.norms_1, self.norms_2, strict=True
        ):
            y = F.gelu(norm_1(conv_sep(x * x_mask)))
            y = F.gelu(norm_2(conv_1x1(y)))
            x = x + self.drop(y)
        return x * x_mask


class ElementwiseAffine(nn.Module):
    """Learned per-channel affine map ``y = m + exp(logs) * x``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.m = nn.Parameter(torch.zeros(channels, 1))
        self.logs = nn.Parameter(torch.zeros(channels, 1))

    def forward(
        self,
        x: torch.Tensor,
        x_mask: torch.Tensor,
        g: torch.Tensor | None = None,
        reverse: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, C, T). Returns ``(y, logdet (B,))``."""
        logdet = torch.sum(self.logs * x_mask, [1, 2])
        if not reverse:
            return (self.m + torch.exp(self.logs) * x) * x_mask, logdet
        return (x - self.m) * torch.exp(-self.logs) * x_mask, -logdet


class Log(nn.Module):
    """``y = log(x)`` on positive durations (clamped at 1e-5); reverse is ``exp``."""

    def forward(
        self,
        x: torch.Tensor,
        x_mask: torch.Tensor,
        g: torch.Tensor | None = None,
        reverse: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not reverse:
            y = torch.log(torch.clamp_min(x, 1e-5)) * x_mask
            return y, torch.sum(-y, [1, 2])
        y = torch.exp(x) * x_mask
        return y, torch.sum(x * x_mask, [1, 2])


class ConvFlow(nn.Module):
    """Coupling layer whose element-wise transform is a rational-quadratic spline.

    The first half of the channels, through a DDSConv, predicts ``3*num_bins - 1`` spline
    parameters per element of the second half. ``proj`` starts at zero (identity-like flow).
    """

    def __init__(
        self,
        in_channels: int,
        filter_channels: int,
        kernel_size: int,
        n_layers: int,
        num_bins: int = 10,
        tail_bound: float = 5.0,
    ) -> None:
        super().__init__()
        self.filter_channels = filter_channels
        self.num_bins = num_bins
        self.tail_bound = tail_bound
        self.half_channels = in_channels // 2

        self.pre = nn.Conv1d(self.half_channels, filter_channels, 1)
        self.convs = DDSConv(filter_channels, kernel_size, n_layers, p_dropout=0.0)
        self.proj = zero_conv(filter_channels, self.half_channels * (num_bins * 3 - 1))

    def forward(
        self,
        x: torch.Tensor,
        x_mask: torch.Tensor,
        g: torch.Tensor | None = None,
        reverse: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, C, T); g: (B, filter, T) conditioning. Returns ``(y, logdet (B,))``."""
        x0, x1 = torch.split(x, [self.half_channels, self.half_channels], dim=1)
        h = self.convs(self.pre(x0), x_mask, g=g)
        h = self.proj(h) * x_mask  # (B, C/2 * (3K-1), T)

        batch, channels, length = x0.shape
        h = h.reshape(batch, channels, -1, length).permute(0, 1, 3, 2)  # (B, C/2, T, 3K-1)
        k = self.num_bins
        scale = math.sqrt(self.filter_channels)
        x1, logabsdet = rational_quadratic_spline(
            x1,
            h[..., :k] / scale,
            h[..., k : 2 * k] / scale,
            h[..., 2 * k :],
            inverse=reverse,
            tail_bound=self.tail_bound,
        )
        y = torch.cat([x0, x1.to(x0.dtype)], dim=1) * x_mask
        logdet = torch.sum(logabsdet * x_mask, [1, 2])
        return y, logdet


def _flow_stack(channels: int, kernel_size: int, n_flows: int) -> nn.ModuleList:
    """ElementwiseAffine followed by ``n_flows`` x (ConvFlow, Flip) on 2 channels."""
    flows = nn.ModuleList([ElementwiseAffine(2)])
    for _ in range(n_flows):
        flows.append(ConvFlow(2, channels, kernel_size, n_layers=3))
        flows.append(Flip())
    return flows


class StochasticDurationPredictor(nn.Module):
    """Flow-based duration model (VITS section 2.3).

    Training returns a variational upper bound on ``-log p(d | text)`` per item: durations are
    dequantised with a posterior flow (``post_*``) and mapped to noise by the main flow.
    Inference runs the main flow backwards from Gaussian noise to log-durations.

    The reference passes ``filter_channels=192`` but then overrides it with ``in_channels``;
    we take the single width it really uses.
    """

    def __init__(
        self,
        in_channels: int,
        kernel_size: int,
        p_dropout: float,
        n_flows: int = 4,
        gin_channels: int = 0,
    ) -> None:
        super().__init__()
        channels = in_channels
        self.log_flow = Log()
        self.flows = _flow_stack(channels, kernel_size, n_flows)

        self.post_pre = nn.Conv1d(1, channels, 1)
        self.post_proj = nn.Conv1d(channels, channels, 1)
        self.post_convs = DDSConv(channels, kernel_size, n_layers=3, p_dropout=p_dropout)
        self.post_flows = _flow_stack(channels, kernel_size, 4)

        self.pre = nn.Conv1d(in_channels, channels, 1)
        self.proj = nn.Conv1d(channels, channels, 1)
        self.convs = DDSConv(channels, kernel_size, n_layers=3, p_dropout=p_dropout)
        if gin_channels > 0:
            self.cond = nn.Conv1d(gin_channels, channels, 1)

    def _condition(
        self, x: torch.Tensor, x_mask: torch.Tensor, g: torch.Tensor | None
    ) -> torch.Tensor:
        x = self.pre(torch.detach(x))  # (B, C, T)
        if g is not None:
            x = x + self.cond(torch.detach(g))
        x = self.convs(x, x_mask)
        cond: torch.Tensor = self.proj(x) * x_mask
        return cond

    def forward(
        self,
        x: torch.Tensor,
        x_mask: torch.Tensor,
        w: torch.Tensor,
        g: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Training loss. x: (B, H, T); w: (B, 1, T) frame counts. Returns nll + log q, (B,)."""
        cond = self._condition(x, x_mask, g)  # (B, C, T)

        # Posterior q(u, nu | d): sample noise, push it through the posterior flow.
        h_w = self.post_convs(self.post_pre(w), x_mask)
        h_w = self.post_proj(h_w) * x_mask
        e_q = torch.randn(w.size(0), 2, w.size(2), device=x.device, dtype=cond.dtype) * x_mask
        z_q = e_q
        logdet_q = x.new_zeros(x.size(0), dtype=torch.float32)
        for flow in self.post_flows:
            z_q, logdet = flow(z_q, x_mask, g=cond + h_w)
            logdet_q = logdet_q + logdet
        z_u, z1 = torch.split(z_q, [1, 1], dim=1)
        u = torch.sigmoid(z_u) * x_mask  # dequantisation noise in (0, 1)
        z0 = (w - u) * x_mask
        logdet_q = logdet_q + torch.sum((F.logsigmoid(z_u) + F.logsigmoid(-z_u)) * x_mask, [1, 2])
        logq = torch.sum(-0.5 * (_LOG_2PI + e_q**2) * x_mask, [1, 2]) - logdet_q

        # Main flow: (log(d - u), nu) -> standard normal.
        z0, logdet_tot = self.log_flow(z0, x_mask)
        z = torch.cat([z0, z1], dim=1)
        for flow in self.flows:
            z, logdet = flow(z, x_mask, g=cond)
            logdet_tot = logdet_tot + logdet
        nll = torch.sum(0.5 * (_LOG_2PI + z**2) * x_mask, [1, 2]) - logdet_tot
        bound: torch.Tensor = nll + logq  # (B,)
        return bound

    def infer(
        self,
        x: torch.Tensor,
        x_mask: torch.Tensor,
        g: torch.Tensor | None = None,
        noise_scale: float = 1.0,
    ) -> torch.Tensor:
        """Sample log-durations (B, 1, T) from noise scaled by ``noise_scale``."""
        cond = self._condition(x, x_mask, g)
        flows = list(reversed(self.flows))
        # The first ConvFlow (last when reversed) only changes the channel that is discarded
        # below, so it is skipped, as in the reference.
        flows = [*flows[:-2], flows[-1]]
        z = torch.randn(x.size(0), 2, x.size(2), device=x.device, dtype=cond.dtype) * noise_scale
        for flow in flows:
            z, _ = flow(z, x_mask, g=cond, reverse=True)
        logw, _ = torch.split(z, [1, 1], dim=1)
        return logw


class DurationPredictor(nn.Module):
    """Deterministic log-duration regressor: two conv+ReLU+LayerNorm blocks and a projection."""

    def __init__(
        self,
        in_channels: int,
        filter_channels: int,
        kernel_size: int,
        p_dropout: float,
        gin_channels: int = 0,
    ) -> None:
        super().__init__()
        self.drop = nn.Dropout(p_dropout)
        self.conv_1 = nn.Conv1d(in_channels, filter_channels, kernel_size, padding=kernel_size // 2)
        self.norm_1 = LayerNorm(filter_channels)
        self.conv_2 = nn.Conv1d(
            filter_channels, filter_channels, kernel_size, padding=kernel_size // 2
        )
        self.norm_2 = LayerNorm(filter_channels)
        self.proj = nn.Conv1d(filter_channels, 1, 1)
        if gin_channels > 0:
            self.cond = nn.Conv1d(gin_channels, in_channels, 1)

    def forward(
        self, x: torch.Tensor, x_mask: torch.Tensor, g: torch.Tensor | None = None
    ) -> torch.Tensor:
        """x: (B, H, T) -> log-durations (B, 1, T)."""
        x = torch.detach(x)
        if g is not None:
            x = x + self.cond(torch.detach(g))
        x = self.drop(self.norm_1(torch.relu(self.conv_1(x * x_mask))))
        x = self.drop(self.norm_2(torch.relu(self.conv_2(x * x_mask))))
        logw: torch.Tensor = self.proj(x * x_mask) * x_mask
        return logw
