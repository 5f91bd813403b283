"""Non-causal WaveNet stack (``WN``) used by the posterior encoder and the coupling layers.

Each layer is a dilated conv -> gated tanh/sigmoid activation -> 1x1 conv that splits into a
residual half (fed to the next layer) and a skip half (summed into the output). An optional
global condition (speaker embedding) is projected once for all layers by ``cond_layer``.
"""

from __future__ import annotations

import torch
from torch import nn

from vitscfg.model.commons import fused_add_tanh_sigmoid_multiply
from vitscfg.model.depthwise import DepthwiseSeparableConv1d
from vitscfg.model.norms import remove_weight_norm, weight_norm


class WN(nn.Module):
    """Gated dilated-conv stack. Input and output are (B, H, T); masked frames stay zero.

    ``depthwise``: the dilated convolutions are depthwise-separable (so-vits-svc's
    ``use_depthwise_conv``), each half weight-normed.
    """

    def __init__(
        self,
        hidden_channels: int,
        kernel_size: int,
        dilation_rate: int,
        n_layers: int,
        gin_channels: int = 0,
        p_dropout: float = 0.0,
        depthwise: bool = False,
    ) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"WN kernel_size must be odd, got {kernel_size}")
        self.hidden_channels = hidden_channels
        self.n_layers = n_layers
        self.gin_channels = gin_channels

        self.in_layers = nn.ModuleList()
        self.res_skip_layers = nn.ModuleList()
        self.drop = nn.Dropout(p_dropout)

        if gin_channels > 0:
            # One projection of g for all layers: 2*H channels (tanh + sigmoid halves) per layer.
            self.cond_layer = weight_norm(
                nn.Conv1d(gin_channels, 2 * hidden_channels * n_layers, 1)
            )

        for i in range(n_layers):
            dilation = dilation_rate**i
            padding = (kernel_size * dilation - dilation) // 2
            in_layer: nn.Module
            if depthwise:
                in_layer = DepthwiseSeparableConv1d(
                    hidden_channels,
                    2 * hidden_channels,
                    kernel_size,
                    dilation=dilation,
                    padding=padding,
                    normalized=True,
                )
            else:
                in_layer = weight_norm(
                    nn.Conv1d(
                        hidden_channels,
                        2 * hidden_channels,
                        kernel_size,
                        dilation=dilation,
                        padding=padding,
                    )
                )
            self.in_layers.append(in_layer)
            # The last layer only contributes to the skip sum, so it has no residual half.
            res_skip_channels = 2 * hidden_channels if i < n_layers - 1 else hidden_channels
            self.res_skip_layers.append(
                weight_norm(nn.Conv1d(hidden_channels, res_skip_channels, 1))
            )

    def forward(
        self, x: torch.Tensor, x_mask: torch.Tensor, g: torch.Tensor | None = None
    ) -> torch.Tensor:
        """x: (B, H, T); x_mask: (B, 1, T); g: (B, G, 1) or None."""
        hidden = self.hidden_channels
        output = torch.zeros_like(x)  # (B, H, T) skip accumulator
        g_all = self.cond_layer(g) if g is not None else None  # (B, 2*H*L, 1)

        for i, (in_layer, res_skip_layer) in enumerate(
            zip(self.in_layers, self.res_skip_layers, strict=True)
        ):
            x_in = in_layer(x)  # (B, 2H, T)
            g_l = g_all[:, i * 2 * hidden : (i + 1) * 2 * hidden] if g_all is not None else None
            acts = self.drop(fused_add_tanh_sigmoid_multiply(x_in, g_l, hidden))  # (B, H, T)
            res_skip = res_skip_layer(acts)
            if i < self.n_layers - 1:
                x = (x + res_skip[:, :hidden]) * x_mask
                output = output + res_skip[:, hidden:]
            else:
                output = output + res_skip
        return output * x_mask

    def remove_weight_norm(self) -> None:
        """Fold weight norm into plain weights (inference/export only)."""
        if self.gin_channels > 0:
            remove_weight_norm(self.cond_layer)
        for layer in [*self.in_layers, *self.res_skip_layers]:
            if isinstance(layer, DepthwiseSeparableConv1d):
                remove_weight_norm(layer.depth_conv)
                remove_weight_norm(layer.point_conv)
            else:
                remove_weight_norm(layer)
