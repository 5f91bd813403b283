"""VITS2's transformer coupling flows, chosen by ``model.transformer_flow_type``.

VITS2 (Kim et al., 2023) adds self-attention to the normalising flow so that a coupling layer
sees long-range context, not only the WaveNet's receptive field. p0p4k/vits2_pytorch offers
five variants; each builder below returns the layer list of ``flow.flows`` with that fork's
parameter names and sizes, so its checkpoints load strictly:

- ``pre_conv``: a 2-layer, 96-wide (half the latent) transformer refines the conditioning
  half before the WaveNet, with a residual add. The fork also builds a ``post_transformer``
  that its forward never calls; it is built here too (its weights are in every checkpoint).
- ``pre_conv2``: one relative-attention layer at WaveNet width after the input conv.
- ``fft``: a causal transformer ("FFT" block) replaces the WaveNet. The fork passes the
  coupling's (kernel, dilation, layers) positionally into (kernel, layers, heads), so the block
  has kernel 5, one layer and four heads, a 768-wide feed-forward and no dropout.
- ``mono_layer_inter_residual`` / ``mono_layer_post_residual``: the VITS coupling layers, each
  followed (after its flip) by a transformer-only coupling layer; the ``post_residual`` one
  also adds its input to its output (Fig. 1b of the paper), which doubles the signal.

Every variant is mean-only (volume preserving), like the VITS flow.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from vitscfg.model.attentions import FFN, Encoder, MultiHeadAttention
from vitscfg.model.commons import fused_add_tanh_sigmoid_multiply
from vitscfg.model.flow import Flip, MeanOnlyCoupling, ResidualCouplingLayer

# Re-exported for the Bert-VITS2 family's modules, which import them from here.
from vitscfg.model.flow import FlowStack as FlowStack
from vitscfg.model.flow import mean_shift as mean_shift
from vitscfg.model.flow import zero_conv as zero_conv
from vitscfg.model.norms import LayerNorm, weight_norm
from vitscfg.model.wavenet import WN

# Fixed by the fork, not by the configs.
INNER_HEADS, INNER_LAYERS, INNER_KERNEL, INNER_DROPOUT = 2, 2, 3, 0.1
FFT_FILTER_CHANNELS = 768


@dataclass(frozen=True)
class FlowSizes:
    """The flow's sizes (as VITS fixes them, with the config's widths and speaker vector)."""

    channels: int  # latent width (inter_channels)
    hidden_channels: int
    kernel_size: int
    dilation_rate: int
    n_layers: int  # WaveNet layers per coupling
    n_flows: int
    gin_channels: int


def _flow_encoder(channels: int) -> Encoder:
    """The small transformer of the pre_conv and mono variants (no relative positions)."""
    return Encoder(
        channels,
        channels,
        INNER_HEADS,
        INNER_LAYERS,
        INNER_KERNEL,
        INNER_DROPOUT,
        window_size=None,
    )


class PreTransformerCoupling(MeanOnlyCoupling):
    """``pre_conv``: transformer on the conditioning half, residual, then the WaveNet."""

    def __init__(self, s: FlowSizes) -> None:
        super().__init__()
        self.half_channels = s.channels // 2
        self.pre_transformer = _flow_encoder(self.half_channels)
        self.pre = nn.Conv1d(self.half_channels, s.hidden_channels, 1)
        self.enc = WN(s.hidden_channels, s.kernel_size, s.dilation_rate, s.n_layers, s.gin_channels)
        # Never called (the fork's forward leaves it out); kept for checkpoint compatibility.
        self.post_transformer = _flow_encoder(s.hidden_channels)
        self.post = zero_conv(s.hidden_channels, self.half_channels)

    def shift(self, x0: torch.Tensor, x_mask: torch.Tensor, g: torch.Tensor | None) -> torch.Tensor:
        h = self.pre_transformer(x0 * x_mask, x_mask) + x0
        h = self.enc(self.pre(h) * x_mask, x_mask, g=g)
        shift: torch.Tensor = self.post(h) * x_mask
        return shift


class ConvTransformerCoupling(MeanOnlyCoupling):
    """``pre_conv2``: input conv, one relative-attention layer (residual), then the WaveNet."""

    def __init__(self, s: FlowSizes) -> None:
        super().__init__()
        self.half_channels = s.channels // 2
        self.pre = nn.Conv1d(self.half_channels, s.hidden_channels, 1)
        self.pre_transformer = Encoder(
            s.hidden_channels, s.hidden_channels, INNER_HEADS, 1, s.kernel_size, 0.0
        )
        self.enc = WN(s.hidden_channels, s.kernel_size, s.dilation_rate, s.n_layers, s.gin_channels)
        self.post = zero_conv(s.hidden_channels, self.half_channels)

    def shift(self, x0: torch.Tensor, x_mask: torch.Tensor, g: torch.Tensor | None) -> torch.Tensor:
        h = self.pre(x0) * x_mask
        h = h + self.pre_transformer(h * x_mask, x_mask)
        h = self.enc(h, x_mask, g=g)
        shift: torch.Tensor = self.post(h) * x_mask
        return shift


class CausalTransformer(nn.Module):
    """The "FFT" block: causal self-attention (no relative positions, proximal init) and a
    causal feed-forward per layer; a speaker vector gates the input of every layer."""

    def __init__(
        self,
        hidden_channels: int,
        filter_channels: int,
        n_heads: int,
        n_layers: int,
        kernel_size: int,
        p_dropout: float,
        gin_channels: int = 0,
    ) -> None:
        super().__init__()
        self.hidden_channels = hidden_channels
        if gin_channels > 0:
            self.cond_pre = nn.Conv1d(hidden_channels, 2 * hidden_channels, 1)
            self.cond_layer = weight_norm(
                nn.Conv1d(gin_channels, 2 * hidden_channels * n_layers, 1)
            )
        self.drop = nn.Dropout(p_dropout)
        self.self_attn_layers = nn.ModuleList()
        self.norm_layers_0 = nn.ModuleList()
        self.ffn_layers = nn.ModuleList()
        self.norm_layers_1 = nn.ModuleList()
        for _ in range(n_layers):
            self.self_attn_layers.append(
                MultiHeadAttention(
                    hidden_channels,
                    hidden_channels,
                    n_heads,
                    p_dropout,
                    window_size=None,
                    proximal_init=True,
                )
            )
            self.norm_layers_0.append(LayerNorm(hidden_channels))
            self.ffn_layers.append(
                FFN(
                    hidden_channels,
                    hidden_channels,
                    filter_channels,
                    kernel_size,
                    p_dropout,
                    causal=True,
                )
            )
            self.norm_layers_1.append(LayerNorm(hidden_channels))

    def forward(
        self, x: torch.Tensor, x_mask: torch.Tensor, g: torch.Tensor | None = None
    ) -> torch.Tensor:
        """x: (B, H, T); x_mask: (B, 1, T); g: (B, gin, 1) or None."""
        hidden = self.hidden_channels
        length = x.size(2)
        # Frame t attends to frames <= t (padding is not masked: later frames never see it).
        causal = torch.tril(torch.ones(length, length, device=x.device, dtype=x.dtype))
        causal = causal.view(1, 1, length, length)
        g_all = self.cond_layer(g) if g is not None else None  # (B, 2*H*L, 1)
        x = x * x_mask
        for i, (attn, norm_0, ffn, norm_1) in enumerate(
            zip(
                self.self_attn_layers,
                self.norm_layers_0,
                self.ffn_layers,
                self.norm_layers_1,
                strict=True,
            )
        ):
            if g_all is not None:
                g_l = g_all[:, i * 2 * hidden : (i + 1) * 2 * hidden]
                x = fused_add_tanh_sigmoid_multiply(self.cond_pre(x), g_l, hidden)
            x = norm_0(x + self.drop(attn(x, causal)))
            x = norm_1(x + self.drop(ffn(x, x_mask)))
        return x * x_mask


class CausalTransformerCoupling(MeanOnlyCoupling):
    """``fft``: the causal transformer in place of the WaveNet, with a residual add."""

    def __init__(self, s: FlowSizes) -> None:
        super().__init__()
        self.half_channels = s.channels // 2
        self.pre = nn.Conv1d(self.half_channels, s.hidden_channels, 1)
        # (kernel, layers, heads) = the coupling's (kernel, dilation, WaveNet layers): see above.
        self.enc = CausalTransformer(
            s.hidden_channels,
            FFT_FILTER_CHANNELS,
            n_heads=s.n_layers,
            n_layers=s.dilation_rate,
            kernel_size=s.kernel_size,
            p_dropout=0.0,
            gin_channels=s.gin_channels,
        )
        self.post = zero_conv(s.hidden_channels, self.half_channels)

    def shift(self, x0: torch.Tensor, x_mask: torch.Tensor, g: torch.Tensor | None) -> torch.Tensor:
        h = self.pre(x0) * x_mask
        h = self.enc(h, x_mask, g=g) + h
        shift: torch.Tensor = self.post(h) * x_mask
        return shift


class TransformerOnlyCoupling(MeanOnlyCoupling):
    """The mono variants' extra layer: a transformer on the conditioning half predicts the
    shift. ``residual``: the layer's output is added to its input (y = x + coupling(x)),
    which doubles the volume (no longer mean-only)."""

    def __init__(self, channels: int, residual: bool) -> None:
        super().__init__()
        self.half_channels = channels // 2
        self.residual = residual
        self.pre_transformer = _flow_encoder(self.half_channels)
        self.post = zero_conv(self.half_channels, self.half_channels)

    def shift(self, x0: torch.Tensor, x_mask: torch.Tensor, g: torch.Tensor | None) -> torch.Tensor:
        h = self.pre_transformer(x0 * x_mask, x_mask) + x0
        shift: torch.Tensor = self.post(h) * x_mask
        return shift

    def forward(
        self,
        x: torch.Tensor,
        x_mask: torch.Tensor,
        g: torch.Tensor | None = None,
        reverse: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.residual:
            return super().forward(x, x_mask, g, reverse)
        x0, x1 = torch.split(x, [self.half_channels, self.half_channels], dim=1)
        # y0 = 2 x0 and y1 = 2 x1 + m(x0): the inverse halves y0 first, then recomputes m.
        if reverse:
            x0 = x0 / 2
        m = self.post(self.pre_transformer(x0, x_mask)) * x_mask
        if reverse:
            return torch.cat([x0, (x1 - m) / 2 * x_mask], dim=1), x.new_zeros(x.size(0))
        y = x + torch.cat([x0, m + x1 * x_mask], dim=1)
        # Both halves are doubled on the valid frames.
        logdet = math.log(2) * x.size(1) * torch.sum(x_mask, [1, 2])
        return y, logdet


def _wavenet_coupling(s: FlowSizes) -> ResidualCouplingLayer:
    return ResidualCouplingLayer(
        s.channels,
        s.hidden_channels,
        s.kernel_size,
        s.dilation_rate,
        s.n_layers,
        gin_channels=s.gin_channels,
        mean_only=True,
    )


def _pairs(layer: Callable[[FlowSizes], nn.Module]) -> Callable[[FlowSizes], list[nn.Module]]:
    """n_flows x (coupling, flip), the VITS layout."""
    return lambda s: [m for _ in range(s.n_flows) for m in (layer(s), Flip())]


def _mono(residual: bool) -> Callable[[FlowSizes], list[nn.Module]]:
    """n_flows x (WaveNet coupling, flip, transformer-only coupling)."""
    return lambda s: [
        m
        for _ in range(s.n_flows)
        for m in (_wavenet_coupling(s), Flip(), TransformerOnlyCoupling(s.channels, residual))
    ]


#: model.transformer_flow_type -> the layers of ``flow.flows``; "vits" is the plain VITS flow.
FLOW_TYPES: dict[str, Callable[[FlowSizes], list[nn.Module]]] = {
    "vits": _pairs(_wavenet_coupling),
    "pre_conv": _pairs(PreTransformerCoupling),
    "pre_conv2": _pairs(ConvTransformerCoupling),
    "fft": _pairs(CausalTransformerCoupling),
    "mono_layer_inter_residual": _mono(residual=False),
    "mono_layer_post_residual": _mono(residual=True),
}


def build_flow(flow_type: str, sizes: FlowSizes) -> FlowStack:
    """The flow of ``flow_type`` (a key of FLOW_TYPES)."""
    if flow_type not in FLOW_TYPES:
        raise ValueError(
            f"unknown transformer_flow_type {flow_type!r}: one of {', '.join(FLOW_TYPES)}"
        )
    return FlowStack(FLOW_TYPES[flow_type](sizes))
