"""so-vits-svc's own generator parts: the content prior encoder, the F0 predictor, the F0
features it reads, and its two flows.

so-vits-svc 4.x is VITS without text, like RVC, but built differently: content features
(HuBERT / ContentVec, ``model.ssl_dim`` wide) go through a 5-wide convolution (``pre``) plus
a voiced/unvoiced embedding (``emb_uv``), and only then into the prior encoder, which adds a
coarse-pitch embedding (``f0_emb``) and runs the VITS relative-attention encoder (window 4).
The F0 predictor ("F0Decoder") learns the log-F0 contour, shifted to the utterance's voiced
mean, from those features and the speaker, with a causal transformer (the same "FFT" block as
VITS2's ``fft`` flow: vitscfg.model.transformer_flow.CausalTransformer).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from vitscfg.model.attentions import Encoder
from vitscfg.model.flow import Flip, FlowStack, MeanOnlyCoupling, ResidualCouplingLayer, zero_conv
from vitscfg.model.skewed_attention import SkewedRelativeAttention
from vitscfg.model.transformer_flow import CausalTransformer
from vitscfg.model.wavenet import WN

# Coarse pitch: 256 bins over the mel-scaled F0 range 50-1100 Hz (bin 1 = unvoiced or below).
F0_BINS, F0_MIN_HZ, F0_MAX_HZ = 256, 50.0, 1100.0
# so-vits-svc's transformer flow couplings use 5-wide feed-forward convolutions.
TRANSFORMER_FLOW_KERNEL = 5


def _mel(f0: torch.Tensor | float) -> torch.Tensor | float:
    return 1127 * math.log(1 + f0 / 700) if isinstance(f0, float) else 1127 * torch.log1p(f0 / 700)


def f0_to_coarse(f0: torch.Tensor, round_half_even: bool = True) -> torch.Tensor:
    """F0 in Hz (any shape) -> long bins 1..255, linear in mel between 50 and 1100 Hz.

    4.1 rounds half to even (``torch.round``), 4.0 rounds halves up; they differ only where a
    value falls exactly on .5.
    """
    mel_min, mel_max = float(_mel(F0_MIN_HZ)), float(_mel(F0_MAX_HZ))
    scale = (F0_BINS - 2) / (mel_max - mel_min)
    mel = 1127 * (1 + f0 / 700).log()
    mel = torch.where(mel > 0, mel * scale - (mel_min * scale - 1.0), mel)
    bins = torch.round(mel) if round_half_even else torch.floor(mel + 0.5)
    return bins.long().clamp(1, F0_BINS - 1)


def log_f0(f0: torch.Tensor) -> torch.Tensor:
    """F0 (B, T) Hz -> (B, 1, T): the mel scale divided by 500 (the predictor's target)."""
    return 2595.0 * torch.log10(1.0 + f0.unsqueeze(1) / 700.0) / 500


def normalize_log_f0(
    lf0: torch.Tensor, x_mask: torch.Tensor, uv: torch.Tensor, random_scale: bool = True
) -> torch.Tensor:
    """Log-F0 (B, 1, T) minus its mean over voiced frames, times a random factor in
    [0.8, 1.2) per item while training (pitch-range augmentation); zero on padding."""
    voiced = uv.sum(dim=1, keepdim=True)  # (B, 1)
    voiced = torch.where(voiced == 0, torch.full_like(voiced, 9999), voiced)
    means = (lf0[:, 0, :] * uv).sum(dim=1, keepdim=True) / voiced  # (B, 1)
    if random_scale:
        # One uniform_ per batch on the CPU, as so-vits-svc draws it (a seeded run matches).
        factor = torch.empty(lf0.size(0), 1).uniform_(0.8, 1.2).to(lf0.device)
    else:
        factor = torch.ones(lf0.size(0), 1, device=lf0.device)
    return (lf0 - means.unsqueeze(-1)) * factor.unsqueeze(-1) * x_mask


class SvcPriorEncoder(nn.Module):
    """(B, H, T) content hidden + coarse pitch (B, T) -> ``(z, m_p, logs_p)`` (B, C, T) each.

    Draws its own prior sample (``randn_like``) as so-vits-svc does; training ignores it.
    """

    def __init__(
        self,
        out_channels: int,
        hidden_channels: int,
        filter_channels: int,
        n_heads: int,
        n_layers: int,
        kernel_size: int,
        p_dropout: float,
    ) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.proj = nn.Conv1d(hidden_channels, out_channels * 2, 1)
        self.f0_emb = nn.Embedding(F0_BINS, hidden_channels)
        # The forks' all-offsets relative attention: same values, and the memory of
        # so-vits-svc's own step, which `estimate` traces (skewed_attention.py).
        self.enc_ = Encoder(
            hidden_channels,
            filter_channels,
            n_heads,
            n_layers,
            kernel_size,
            p_dropout,
            attention=SkewedRelativeAttention,
        )

    def forward(
        self, x: torch.Tensor, x_mask: torch.Tensor, pitch: torch.Tensor, noise_scale: float = 1.0
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = x + self.f0_emb(pitch).transpose(1, 2)
        x = self.enc_(x * x_mask, x_mask)
        stats = self.proj(x) * x_mask
        m_p, logs_p = torch.split(stats, self.out_channels, dim=1)
        z = (m_p + torch.randn_like(m_p) * torch.exp(logs_p) * noise_scale) * x_mask
        return z, m_p, logs_p


class F0Predictor(nn.Module):
    """so-vits-svc's ``F0Decoder``: (content hidden, normalised log-F0, speaker) -> predicted
    log-F0 (B, 1, T). The content hidden is detached: the F0 loss does not train the encoder."""

    def __init__(
        self,
        hidden_channels: int,
        filter_channels: int,
        n_heads: int,
        n_layers: int,
        kernel_size: int,
        p_dropout: float,
        spk_channels: int,
    ) -> None:
        super().__init__()
        self.prenet = nn.Conv1d(hidden_channels, hidden_channels, 3, padding=1)
        self.decoder = CausalTransformer(
            hidden_channels, filter_channels, n_heads, n_layers, kernel_size, p_dropout
        )
        self.proj = nn.Conv1d(hidden_channels, 1, 1)
        self.f0_prenet = nn.Conv1d(1, hidden_channels, 3, padding=1)
        self.cond = nn.Conv1d(spk_channels, hidden_channels, 1)

    def forward(
        self, x: torch.Tensor, norm_lf0: torch.Tensor, x_mask: torch.Tensor, g: torch.Tensor
    ) -> torch.Tensor:
        x = x.detach() + self.cond(g) + self.f0_prenet(norm_lf0)
        x = self.prenet(x) * x_mask
        x = self.decoder(x * x_mask, x_mask)
        out: torch.Tensor = self.proj(x) * x_mask
        return out


class TransformerCoupling(MeanOnlyCoupling):
    """Mean-only coupling whose shift comes from a speaker-gated causal transformer (4.1's
    ``use_transformer_flow``; unlike VITS2's ``fft`` flow, no residual add around it)."""

    def __init__(self, channels: int, hidden_channels: int, enc: CausalTransformer) -> None:
        super().__init__()
        self.half_channels = channels // 2
        self.pre = nn.Conv1d(self.half_channels, hidden_channels, 1)
        self.enc = enc
        self.post = zero_conv(hidden_channels, self.half_channels)

    def shift(self, x0: torch.Tensor, x_mask: torch.Tensor, g: torch.Tensor | None) -> torch.Tensor:
        h = self.enc(self.pre(x0) * x_mask, x_mask, g=g)
        shift: torch.Tensor = self.post(h) * x_mask
        return shift


class SvcFlow(FlowStack):
    """``n_flows`` x (mean-only coupling, flip): WaveNet couplings of ``wn_layers`` layers, or
    transformer couplings (``transformer``). ``share``: one network (``wn``) serves every
    coupling, so a checkpoint holds its weights under ``flow.wn`` and again under each
    ``flow.flows.<i>.enc``."""

    def __init__(
        self,
        channels: int,
        hidden_channels: int,
        n_flows: int,
        wn_layers: int,
        gin_channels: int,
        share: bool = False,
        transformer: bool = False,
        depthwise: bool = False,
        filter_channels: int = 0,
        n_heads: int = 2,
        n_layers_transformer: int = 3,
        p_dropout: float = 0.0,
    ) -> None:

        def new_enc() -> nn.Module:
            if transformer:
                return CausalTransformer(
                    hidden_channels,
                    filter_channels,
                    n_heads,
                    n_layers_transformer,
                    TRANSFORMER_FLOW_KERNEL,
                    p_dropout,
                    gin_channels=gin_channels,
                )
            # Kernel 5, dilation 1: fixed by so-vits-svc, as in VITS.
            return WN(hidden_channels, 5, 1, wn_layers, gin_channels, depthwise=depthwise)

        wn = new_enc() if share else None
        layers: list[nn.Module] = []
        for _ in range(n_flows):
            enc = wn if wn is not None else new_enc()
            if transformer:
                assert isinstance(enc, CausalTransformer)
                layers.append(TransformerCoupling(channels, hidden_channels, enc))
            else:
                layers.append(
                    ResidualCouplingLayer(
                        channels,
                        hidden_channels,
                        5,
                        1,
                        wn_layers,
                        gin_channels=gin_channels,
                        mean_only=True,
                        enc=enc,
                    )
                )
            layers.append(Flip())
        # ``flows`` before ``wn``, as so-vits-svc registers them: when a state dict holds
        # different values under the shared network's names, the last one loaded wins.
        super().__init__(layers)
        self.wn = wn
