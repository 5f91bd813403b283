"""Normalisation helpers: channel LayerNorm and reference-compatible weight/spectral norm.

The reference VITS code wraps convolutions with ``torch.nn.utils.weight_norm``. That old API
stores the parameters as ``weight_g`` / ``weight_v`` directly on the wrapped module, so its
checkpoints carry keys such as ``dec.ups.0.weight_g``. The newer parametrization API would
produce ``parametrizations.weight.original0`` instead, breaking checkpoint interchange, so we
keep the old API on purpose and silence only its deprecation notice (torch 2.9 still ships it).
"""

from __future__ import annotations

import warnings
from typing import TypeVar

import torch
from torch import nn
from torch.nn import functional as F

ModuleT = TypeVar("ModuleT", bound=nn.Module)

# Slope of every leaky ReLU in the HiFi-GAN generator and the discriminators.
LRELU_SLOPE = 0.1


def weight_norm(module: ModuleT) -> ModuleT:
    """Weight normalisation with the reference key layout (``weight_g``/``weight_v``)."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r".*torch\.nn\.utils\.weight_norm.*", category=FutureWarning
        )
        return nn.utils.weight_norm(module)


def remove_weight_norm(module: nn.Module) -> None:
    """Fold ``weight_g``/``weight_v`` back into a plain ``weight`` (for export/inference)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        nn.utils.remove_weight_norm(module)


def spectral_norm(module: ModuleT) -> ModuleT:
    """Spectral normalisation (``weight_orig``/``weight_u``/``weight_v``) as the reference."""
    return nn.utils.spectral_norm(module)


def weight_or_spectral_norm(module: ModuleT, use_spectral_norm: bool) -> ModuleT:
    """The discriminators' choice between the two normalisations."""
    return spectral_norm(module) if use_spectral_norm else weight_norm(module)


def get_padding(kernel_size: int, dilation: int = 1) -> int:
    """'Same' padding for an odd kernel with the given dilation."""
    return (kernel_size * dilation - dilation) // 2


class LayerNorm(nn.Module):
    """LayerNorm over the channel axis of a ``(B, C, T)`` tensor.

    Parameter names ``gamma``/``beta`` follow the reference checkpoints.
    """

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.channels = channels
        self.eps = eps
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, C, T) -> (B, T, C) so that layer_norm normalises the channels, then back.
        x = x.transpose(1, -1)
        x = F.layer_norm(x, (self.channels,), self.gamma, self.beta, self.eps)
        return x.transpose(1, -1)
