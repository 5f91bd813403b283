"""The inverse-STFT decoders of MB-iSTFT-VITS (and MB-iSTFT-VITS2), as decoder registry entries.

All three share the HiFi-GAN trunk (conv_pre, transposed-conv upsamplers, resblocks) but stop
upsampling early, at a coarse rate, and let a small inverse STFT produce the last factor:

- ``istft``: one conv predicts (n_fft / 2 + 1) log-magnitudes and as many phases per coarse
  frame; an inverse STFT with hop ``gen_istft_hop_size`` gives the waveform.
- ``mb-istft``: the conv predicts that for each of ``subbands`` bands; the band signals are
  merged by a fixed pseudo-QMF synthesis bank (``vitscfg.model.pqmf``).
- ``ms-istft``: the same band signals, zero-stuffed to the full rate and merged by a trained
  63-tap convolution instead of the fixed bank.

So ``prod(upsample_rates) * gen_istft_hop_size * subbands == hop_length``. The training step of
the multi-band decoder also needs the band signals (its sub-band STFT loss): ``decode`` returns
(audio, bands); ``forward`` returns the audio alone, as every other decoder does.

Unlike VITS's decoder these have no speaker input (``g`` is accepted and unused: the fork's
decoders have no conditioning layer), no ``tanh`` at the end, and weight norm on conv_pre.
Parameter names are the fork's (``conv_post`` / ``subband_conv_post`` /
``multistream_conv_post``), so its checkpoints load strictly.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from vitscfg.model.decoder import (
    DECODERS,
    RESBLOCKS,
    DecoderBuilder,
    fold_weight_norm,
    mrf,
    trunk_args,
    upsample_conv,
)
from vitscfg.model.hparams import IstftHParams, ModelHParams
from vitscfg.model.norms import LRELU_SLOPE, get_padding, remove_weight_norm, weight_norm
from vitscfg.model.pqmf import PQMF

#: Kernel of the multi-stream decoder's trained band-merging convolution.
MULTISTREAM_KERNEL = 63


def _full_precision(t: torch.Tensor) -> contextlib.AbstractContextManager[None]:
    """Autocast off on ``t``'s device (bare meta tensors have no autocast to turn off)."""
    if t.device.type == "meta":
        return contextlib.nullcontext()
    return torch.autocast(device_type=t.device.type, enabled=False)


def inverse_stft(spec: torch.Tensor, hop: int, window: torch.Tensor) -> torch.Tensor:
    """Centred inverse STFT of one-sided spectra (N, n_fft / 2 + 1, T) -> (N, hop * (T - 1)).

    What ``torch.istft`` computes (inverse real FFT per frame, windowed overlap-add divided
    by the overlap-added squared window, ``n_fft / 2`` samples trimmed at each end), written
    with ``fold`` because ``torch.istft`` cannot run on the meta tensors the estimator traces.
    """
    n_fft = window.shape[0]
    frames = spec.shape[-1]
    length = n_fft + hop * (frames - 1)
    chunks = torch.fft.irfft(spec, n=n_fft, dim=1) * window.unsqueeze(-1)  # (N, n_fft, T)
    signal = F.fold(chunks, (1, length), (1, n_fft), stride=(1, hop)).reshape(-1, length)
    squared = window.pow(2).reshape(1, n_fft, 1).expand(1, n_fft, frames)
    envelope = F.fold(squared, (1, length), (1, n_fft), stride=(1, hop)).reshape(length)
    half = n_fft // 2
    return signal[:, half : length - half] / envelope[half : length - half]


class IstftDecoder(nn.Module):
    """HiFi-GAN trunk to a coarse rate, then per-band magnitude/phase and an inverse STFT.

    ``decode(x, g)``: latent (B, C, T) -> (audio (B, 1, T * hop_length), bands or None).
    """

    #: Name of the final projection in the fork's checkpoints.
    post_name = "conv_post"

    def __init__(
        self,
        initial_channel: int,
        resblock: str,
        resblock_kernel_sizes: Sequence[int],
        resblock_dilation_sizes: Sequence[Sequence[int]],
        upsample_rates: Sequence[int],
        upsample_initial_channel: int,
        upsample_kernel_sizes: Sequence[int],
        istft: IstftHParams,
    ) -> None:
        super().__init__()
        if resblock not in RESBLOCKS:
            raise ValueError(f"resblock must be one of {sorted(RESBLOCKS)}, got {resblock!r}")
        self.n_fft, self.hop_size, self.subbands = istft.n_fft, istft.hop_size, istft.subbands
        self.num_kernels = len(resblock_kernel_sizes)
        self.conv_pre = weight_norm(nn.Conv1d(initial_channel, upsample_initial_channel, 7, 1, 3))
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        channels = upsample_initial_channel
        for i, (rate, kernel) in enumerate(zip(upsample_rates, upsample_kernel_sizes, strict=True)):
            channels = upsample_initial_channel // (2 ** (i + 1))
            self.ups.append(upsample_conv(upsample_initial_channel, i, rate, kernel))
            for size, dilation in zip(resblock_kernel_sizes, resblock_dilation_sizes, strict=True):
                self.resblocks.append(RESBLOCKS[resblock](channels, size, dilation))
        # Each band: n_fft / 2 + 1 log-magnitudes and as many phases.
        post = weight_norm(nn.Conv1d(channels, self.subbands * (self.n_fft + 2), 7, 1, padding=3))
        self.add_module(self.post_name, post)
        # The inverse STFT's window is a constant of the architecture, not a checkpoint entry.
        self.register_buffer("window", torch.hann_window(self.n_fft), persistent=False)
        self.window: torch.Tensor

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, T) -> (B, subbands * (n_fft + 2), T * prod(upsample_rates) + 1)."""
        x = self.conv_pre(x)
        for i, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, LRELU_SLOPE))
            x = mrf(self.resblocks, i, self.num_kernels, x)
        # Default slope (0.01) and one frame of reflection on the left, as the fork: the
        # extra frame makes the centred inverse STFT return exactly hop * T samples.
        x = F.pad(F.leaky_relu(x), (1, 0), mode="reflect")
        post: nn.Module = getattr(self, self.post_name)
        out: torch.Tensor = post(x)
        return out

    def bands(self, x: torch.Tensor) -> torch.Tensor:
        """Latent (B, C, T) -> band signals (B, subbands, T * prod(rates) * hop_size)."""
        spec = self.trunk(x)
        batch, frames = spec.shape[0], spec.shape[-1]
        # Spectra and the inverse FFT in float32 under fp16/bf16 autocast too: exp() of a
        # log-magnitude overflows half precision quickly, and polar() has no half kernels.
        with _full_precision(spec):
            spec = spec.float().reshape(batch * self.subbands, self.n_fft + 2, frames)
            bins = self.n_fft // 2 + 1
            magnitude = torch.exp(spec[:, :bins])
            phase = math.pi * torch.sin(spec[:, bins:])
            signal = inverse_stft(torch.polar(magnitude, phase), self.hop_size, self.window)
        return signal.reshape(batch, self.subbands, signal.shape[-1])

    def decode(
        self, x: torch.Tensor, g: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(audio (B, 1, T_audio), band signals or None for the single-band decoder)."""
        return self.bands(x), None

    def forward(self, x: torch.Tensor, g: torch.Tensor | None = None) -> torch.Tensor:
        """Latent (B, C, T) -> audio (B, 1, T * hop_length)."""
        return self.decode(x, g)[0]

    def remove_weight_norm(self) -> None:
        """Fold weight norm into plain weights (inference/export only)."""
        fold_weight_norm([self.conv_pre, *self.ups, getattr(self, self.post_name)], self.resblocks)


class MultiBandIstftDecoder(IstftDecoder):
    """Band signals merged by the fixed pseudo-QMF synthesis bank."""

    post_name = "subband_conv_post"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.pqmf = PQMF(self.subbands)

    def decode(
        self, x: torch.Tensor, g: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(audio (B, 1, T_audio), bands (B, subbands, T_audio / subbands))."""
        bands = self.bands(x)
        return self.pqmf.synthesis(bands), bands


class MultiStreamIstftDecoder(IstftDecoder):
    """Band signals zero-stuffed to the full rate and merged by a trained convolution."""

    post_name = "subband_conv_post"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # The fork keeps its zero-stuffing kernel (an identity per band) as a buffer, so its
        # checkpoints carry it; kept under the same name for strict loading.
        updown = torch.zeros(self.subbands, self.subbands, self.subbands)
        updown[range(self.subbands), range(self.subbands), 0] = 1.0
        self.register_buffer("updown_filter", updown)
        self.updown_filter: torch.Tensor
        self.multistream_conv_post = weight_norm(
            nn.Conv1d(
                self.subbands,
                1,
                MULTISTREAM_KERNEL,
                bias=False,
                padding=get_padding(MULTISTREAM_KERNEL, 1),
            )
        )

    def decode(
        self, x: torch.Tensor, g: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(audio (B, 1, T_audio), zero-stuffed bands (B, subbands, T_audio))."""
        # Zero-stuffing with gain ``subbands`` through the stored kernel (an identity per
        # band in every checkpoint), so a loaded buffer acts as it does in the fork.
        bands = self.bands(x)
        kernel = self.updown_filter.to(bands.dtype) * self.subbands
        stuffed = F.conv_transpose1d(bands, kernel, stride=self.subbands)
        audio: torch.Tensor = self.multistream_conv_post(stuffed)
        return audio, stuffed

    def remove_weight_norm(self) -> None:
        super().remove_weight_norm()
        remove_weight_norm(self.multistream_conv_post)


def _builder(cls: type[IstftDecoder]) -> DecoderBuilder:
    def build(hp: ModelHParams) -> nn.Module:
        if hp.istft is None:
            raise ValueError(f"the {hp.decoder!r} decoder needs the iSTFT geometry (hp.istft)")
        return cls(
            *trunk_args(hp),
            hp.istft,
        )

    return build


#: ``ModelHParams.decoder`` names of the iSTFT decoders -> class.
ISTFT_DECODERS: dict[str, type[IstftDecoder]] = {
    "istft": IstftDecoder,
    "mb-istft": MultiBandIstftDecoder,
    "ms-istft": MultiStreamIstftDecoder,
}
for _name, _cls in ISTFT_DECODERS.items():
    DECODERS[_name] = _builder(_cls)
