"""Waveform decoders. The VITS decoder is the HiFi-GAN V1 generator: latent (B, C, T) ->
audio (B, 1, T * prod(upsample_rates)).

``DECODERS`` maps a config's decoder name to a builder, so a VITS2 or (MB-)iSTFT decoder can be
added later as one more entry without touching the synthesizer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.nn import functional as F

from vitscfg.model.norms import LRELU_SLOPE, get_padding, remove_weight_norm, weight_norm

if TYPE_CHECKING:
    from vitscfg.model.hparams import ModelHParams


def dilated_convs(channels: int, kernel_size: int, dilation: Sequence[int]) -> nn.ModuleList:
    """One weight-normed, length-preserving conv per dilation (a resblock's layers)."""
    return nn.ModuleList(
        weight_norm(
            nn.Conv1d(
                channels, channels, kernel_size, dilation=d, padding=get_padding(kernel_size, d)
            )
        )
        for d in dilation
    )


class ResBlock1(nn.Module):
    """HiFi-GAN resblock type "1": three (dilated conv, conv) pairs with residual adds."""

    def __init__(self, channels: int, kernel_size: int, dilation: Sequence[int]) -> None:
        super().__init__()
        self.convs1 = dilated_convs(channels, kernel_size, dilation)
        self.convs2 = dilated_convs(channels, kernel_size, [1] * len(dilation))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, C, T) -> (B, C, T)."""
        for conv1, conv2 in zip(self.convs1, self.convs2, strict=True):
            xt = conv1(F.leaky_relu(x, LRELU_SLOPE))
            xt = conv2(F.leaky_relu(xt, LRELU_SLOPE))
            x = x + xt
        return x

    def remove_weight_norm(self) -> None:
        for layer in [*self.convs1, *self.convs2]:
            remove_weight_norm(layer)


class ResBlock2(nn.Module):
    """HiFi-GAN resblock type "2": one dilated conv per dilation with residual adds (lighter)."""

    def __init__(self, channels: int, kernel_size: int, dilation: Sequence[int]) -> None:
        super().__init__()
        self.convs = dilated_convs(channels, kernel_size, dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, C, T) -> (B, C, T)."""
        for conv in self.convs:
            x = x + conv(F.leaky_relu(x, LRELU_SLOPE))
        return x

    def remove_weight_norm(self) -> None:
        for layer in self.convs:
            remove_weight_norm(layer)


RESBLOCKS: dict[str, type[ResBlock1] | type[ResBlock2]] = {"1": ResBlock1, "2": ResBlock2}


def resblock_stack(
    resblock: str,
    upsample_initial_channel: int,
    n_stages: int,
    kernel_sizes: Sequence[int],
    dilation_sizes: Sequence[Sequence[int]],
) -> nn.ModuleList:
    """The multi-receptive-field blocks of every upsampling stage, stage by stage (stage i
    runs at ``upsample_initial_channel // 2**(i+1)`` channels): one list, as checkpoints
    name them (``resblocks.<n>``)."""
    if resblock not in RESBLOCKS:
        raise ValueError(f"resblock must be one of {sorted(RESBLOCKS)}, got {resblock!r}")
    block_type = RESBLOCKS[resblock]
    blocks = nn.ModuleList()
    for i in range(n_stages):
        channels = upsample_initial_channel // (2 ** (i + 1))
        for kernel, dilation in zip(kernel_sizes, dilation_sizes, strict=True):
            blocks.append(block_type(channels, kernel, dilation))
    return blocks


def upsample_conv(
    upsample_initial_channel: int, stage: int, rate: int, kernel: int, extra_padding: int = 0
) -> nn.Module:
    """Upsampling stage ``stage``'s weight-normed transposed convolution: ``U // 2**stage``
    channels to ``U // 2**(stage+1)``, ``rate`` times the frames. Padding ``(k - u +
    extra_padding) // 2``: exactly ``u`` times the frames when ``k - u`` is even (the linter
    checks this); so-vits-svc 4.1 rounds up (``extra_padding`` 1)."""
    return weight_norm(
        nn.ConvTranspose1d(
            upsample_initial_channel // (2**stage),
            upsample_initial_channel // (2 ** (stage + 1)),
            kernel,
            rate,
            padding=(kernel - rate + extra_padding) // 2,
        )
    )


def upsample_convs(
    upsample_initial_channel: int,
    upsample_rates: Sequence[int],
    upsample_kernel_sizes: Sequence[int],
) -> nn.ModuleList:
    """Every stage's ``upsample_conv``, in order (``ups.<i>``)."""
    return nn.ModuleList(
        upsample_conv(upsample_initial_channel, i, rate, kernel)
        for i, (rate, kernel) in enumerate(zip(upsample_rates, upsample_kernel_sizes, strict=True))
    )


def fold_weight_norm(layers: Iterable[nn.Module], resblocks: nn.ModuleList) -> None:
    """Fold weight norm into plain weights in ``layers`` and every resblock (inference/export
    only)."""
    for layer in layers:
        remove_weight_norm(layer)
    for block in resblocks:
        if isinstance(block, (ResBlock1, ResBlock2)):
            block.remove_weight_norm()


def mrf(resblocks: nn.ModuleList, stage: int, num_kernels: int, x: torch.Tensor) -> torch.Tensor:
    """Mean of stage ``stage``'s multi-receptive-field blocks on ``x``, accumulated to avoid
    a stacked copy."""
    blocks = resblocks[stage * num_kernels : (stage + 1) * num_kernels]
    total: torch.Tensor = blocks[0](x)
    for block in blocks[1:]:
        total = total + block(x)
    return total / num_kernels


class Generator(nn.Module):
    """HiFi-GAN generator: conv_pre -> [leaky ReLU, transposed conv upsample, mean of
    multi-receptive-field resblocks] per rate -> conv_post -> tanh.

    Each transposed conv halves the channels (``upsample_convs``).
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
        gin_channels: int = 0,
    ) -> None:
        super().__init__()
        self.num_kernels = len(resblock_kernel_sizes)
        self.num_upsamples = len(upsample_rates)
        self.conv_pre = nn.Conv1d(initial_channel, upsample_initial_channel, 7, 1, padding=3)
        self.ups = upsample_convs(upsample_initial_channel, upsample_rates, upsample_kernel_sizes)
        self.resblocks = resblock_stack(
            resblock,
            upsample_initial_channel,
            self.num_upsamples,
            resblock_kernel_sizes,
            resblock_dilation_sizes,
        )
        channels = upsample_initial_channel // (2**self.num_upsamples)
        self.conv_post = nn.Conv1d(channels, 1, 7, 1, padding=3, bias=False)
        if gin_channels > 0:
            self.cond = nn.Conv1d(gin_channels, upsample_initial_channel, 1)

    def forward(self, x: torch.Tensor, g: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B, C_inter, T); g: (B, G, 1). Returns audio (B, 1, T * prod(rates)) in [-1, 1]."""
        x = self.conv_pre(x)  # (B, U, T)
        if g is not None:
            x = x + self.cond(g)
        for i, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, LRELU_SLOPE))  # (B, U / 2^(i+1), T * rates[:i+1])
            x = mrf(self.resblocks, i, self.num_kernels, x)
        # Default slope (0.01) here, not LRELU_SLOPE: kept identical to the reference.
        x = self.conv_post(F.leaky_relu(x))  # (B, 1, T_audio)
        return torch.tanh(x)

    def remove_weight_norm(self) -> None:
        """Fold weight norm into plain weights (inference/export only)."""
        fold_weight_norm(self.ups, self.resblocks)


DecoderBuilder = Callable[["ModelHParams"], nn.Module]


TrunkArgs = tuple[
    int, str, Sequence[int], Sequence[Sequence[int]], Sequence[int], int, Sequence[int]
]


def trunk_args(hp: ModelHParams) -> TrunkArgs:
    """The HiFi-GAN trunk's sizes, which every decoder class takes first and in this order:
    (initial_channel, resblock, resblock kernel sizes, resblock dilation sizes, upsample
    rates, upsample initial channel, upsample kernel sizes)."""
    return (
        hp.inter_channels,
        hp.resblock,
        hp.resblock_kernel_sizes,
        hp.resblock_dilation_sizes,
        hp.upsample_rates,
        hp.upsample_initial_channel,
        hp.upsample_kernel_sizes,
    )


def _build_hifigan(hp: ModelHParams) -> nn.Module:
    return Generator(
        *trunk_args(hp),
        gin_channels=hp.gin_channels,
    )


def _build_nsf_hifigan(hp: ModelHParams) -> nn.Module:
    # Imported here: the NSF decoder reuses this module's resblocks.
    from vitscfg.model.nsf import NsfGenerator

    return NsfGenerator(
        *trunk_args(hp),
        gin_channels=hp.gin_channels,
        sampling_rate=hp.sampling_rate,
    )


# Decoder name (``ModelHParams.decoder``) -> builder. Every builder returns a module mapping
# (B, inter_channels, T) and an optional g (B, gin, 1) to audio (B, 1, T * hop_length); the
# NSF decoder (RVC's pitch models) also takes the frame F0 (B, T): ``dec(x, f0, g=g)``.
DECODERS: dict[str, DecoderBuilder] = {
    "hifigan": _build_hifigan,
    "nsf-hifigan": _build_nsf_hifigan,
}


def build_decoder(hp: ModelHParams) -> nn.Module:
    """Instantiate the decoder named by ``hp.decoder``."""
    try:
        builder = DECODERS[hp.decoder]
    except KeyError:
        raise ValueError(
            f"unknown decoder {hp.decoder!r}; available: {', '.join(sorted(DECODERS))}"
        ) from None
    return builder(hp)
