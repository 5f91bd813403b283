"""GPT-SoVITS stage 2 (RVC-Boss/GPT-SoVITS, ``s2_train.py``): the VITS part of GPT-SoVITS,
its generator and discriminator built from vitscfg's components.

The generator reads SSL content features (768-d cnhubert frames, extracted beforehand), the
phone ids of the transcript, and the linear spectrogram. The features pass a strided
projection (``ssl_proj``: 25 Hz semantic tokens from 50 Hz frames) and a one-codebook
residual vector quantizer, are repeated back to the frame rate and encoded by the prior
encoder ``enc_p`` (a transformer over the frames, one over the phones, the MRTE
cross-attention between them, and a last transformer). A reference encoder (``ref_enc``)
turns the spectrogram into one timbre vector that conditions MRTE, the posterior encoder
``enc_q``, the flow and the HiFi-GAN decoder ``dec`` (all VITS's). No duration predictor,
no alignment search: features and spectrogram share the frame rate.

Versions (``model.version``; the WebUI writes it; without it v2, the model's own default, or
v2Pro for a v2Pro-sized config, see ``gpt_sovits_version``):
v1 and v2 differ in the symbol table (322 / 732 phones) and in what the reference encoder
reads (all spectrogram bins / the lowest 704); v2Pro and v2ProPlus add a speaker-verification
embedding (20480-d, precomputed) projected into the timbre vector, and two discriminator
periods (17, 23). v3/v4 train another model (a flow-matching decoder, ``s2_train_v3*.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from vitscfg.model.attentions import Encoder
from vitscfg.model.commons import rand_slice_segments, sequence_mask
from vitscfg.model.decoder import build_decoder
from vitscfg.model.discriminators import MultiPeriodDiscriminator
from vitscfg.model.flow import ResidualCouplingBlock
from vitscfg.model.gpt_sovits_parts import (
    MelStyleEncoder,
    MultiReferenceTimbreEncoder,
    ResidualVectorQuantizer,
)
from vitscfg.model.hparams import ModelHParams
from vitscfg.model.nets import register_nets
from vitscfg.model.posterior_encoder import PosteriorEncoder
from vitscfg.model.skewed_attention import SkewedRelativeAttention

#: Per version: the phone table size (len(symbols) of the fork's text/symbols{,2}.py).
N_SYMBOLS: dict[str, int] = {"v1": 322, "v2": 732, "v2Pro": 732, "v2ProPlus": 732}
#: Versions whose step adds the speaker-verification embedding.
PRO_VERSIONS = ("v2Pro", "v2ProPlus")
#: Per version: the multi-period discriminator's periods (after the scale one).
DISCRIMINATOR_PERIODS: dict[str, tuple[int, ...]] = {
    "v1": (2, 3, 5, 7, 11),
    "v2": (2, 3, 5, 7, 11),
    "v2Pro": (2, 3, 5, 7, 11, 17, 23),
    "v2ProPlus": (2, 3, 5, 7, 11, 17, 23),
}
DEFAULT_VERSION = "v2"

# Fixed by the fork's model, not by the configs.
SSL_DIM = 768  # cnhubert feature width
CODEBOOK_SIZE = 1024
REF_BINS_V2 = 704  # spectrogram bins the v2 reference encoder reads
MRTE_WIDTH = 512  # MRTE's attention width: the timbre vector it adds must be this wide
SV_DIM = 20480  # speaker-verification embedding width (v2Pro)
POSTERIOR_KERNEL, POSTERIOR_LAYERS = 5, 16
FLOW_KERNEL, FLOW_LAYERS, FLOW_COUPLINGS = 5, 4, 4
#: model.semantic_frame_rate -> stride of ssl_proj (and repeat factor back to frames).
FRAME_RATE_STRIDE = {"25hz": 2, "50hz": 1}


def gpt_sovits_version(config: Mapping[str, Any]) -> str:
    """``model.version``, else the top-level ``version``, checked; without either, v2 (the
    model's default), or v2Pro when ``model.gin_channels`` is not 512: the shipped
    s2v2Pro*.json files carry no version (the WebUI adds it), and v2 cannot be built with
    them (v2Pro and v2ProPlus build the same networks from the same sizes)."""
    model = config.get("model")
    model = model if isinstance(model, Mapping) else {}
    version = model.get("version", config.get("version"))
    if version is None:
        wide = model.get("gin_channels", MRTE_WIDTH) != MRTE_WIDTH
        version = "v2Pro" if wide else DEFAULT_VERSION
    if version not in N_SYMBOLS:
        raise ValueError(
            f"model.version {version!r}: vitscfg builds GPT-SoVITS s2 versions "
            f"{', '.join(N_SYMBOLS)} (v3/v4 train another model, with s2_train_v3_lora.py)"
        )
    return str(version)


@dataclass(frozen=True)
class GptSovitsHParams:
    """VITS sizes (``data``/``model``/``train``) plus GPT-SoVITS's own switches."""

    base: ModelHParams
    version: str
    stride: int  # ssl_proj stride (semantic_frame_rate)
    freeze_quantizer: bool

    @property
    def pro(self) -> bool:
        return self.version in PRO_VERSIONS

    @classmethod
    def from_config(cls, config: Mapping[str, Any], n_vocab: int | None = None) -> GptSovitsHParams:
        version = gpt_sovits_version(config)
        base = ModelHParams.from_config(config, n_vocab=n_vocab or N_SYMBOLS[version])
        model = config["model"]
        rate = model.get("semantic_frame_rate")
        if rate is None:
            raise ValueError(
                "model.semantic_frame_rate is missing: GPT-SoVITS reads it to build its SSL "
                f"projection (one of {sorted(FRAME_RATE_STRIDE)}; the shipped configs say 25hz)"
            )
        if rate not in FRAME_RATE_STRIDE:
            raise ValueError(
                f"model.semantic_frame_rate must be one of {sorted(FRAME_RATE_STRIDE)} for a "
                f"GPT-SoVITS model, got {rate!r}"
            )
        if not base.gin_channels:
            raise ValueError("model.gin_channels must be > 0: GPT-SoVITS conditions on timbre")
        if version not in PRO_VERSIONS and base.gin_channels != MRTE_WIDTH:
            raise ValueError(
                f"model.gin_channels must be {MRTE_WIDTH} for GPT-SoVITS {version}: MRTE adds "
                f"the timbre vector to its {MRTE_WIDTH}-wide attention output"
            )
        return cls(base, version, FRAME_RATE_STRIDE[rate], bool(model.get("freeze_quantizer")))


class GptSovitsPriorEncoder(nn.Module):
    """Quantized SSL frames + phones + timbre -> prior ``(m_p, logs_p)`` per frame (``enc_p``)."""

    def __init__(self, base: ModelHParams) -> None:
        super().__init__()
        hidden, half = base.hidden_channels, base.n_layers // 2
        self.out_channels = base.inter_channels

        def transformer(n_layers: int) -> Encoder:
            return Encoder(
                hidden,
                base.filter_channels,
                base.n_heads,
                n_layers,
                base.kernel_size,
                base.p_dropout,
                # The fork's relative attention over all offsets: its step's memory.
                attention=SkewedRelativeAttention,
            )

        self.ssl_proj = nn.Conv1d(SSL_DIM, hidden, 1)
        self.encoder_ssl = transformer(half)
        self.encoder_text = transformer(base.n_layers)
        self.text_embedding = nn.Embedding(base.n_vocab, hidden)
        self.mrte = MultiReferenceTimbreEncoder(hidden, MRTE_WIDTH, hidden)
        self.encoder2 = transformer(half)
        self.proj = nn.Conv1d(hidden, base.inter_channels * 2, 1)

    def forward(
        self,
        features: torch.Tensor,
        lengths: torch.Tensor,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        ge: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """features: (B, 768, T); text: (B, L) ids; ge: (B, 512, 1). -> (m_p, logs_p, y_mask)."""
        y_mask = sequence_mask(lengths, features.size(2)).unsqueeze(1).to(features.dtype)
        y = self.ssl_proj(features * y_mask) * y_mask
        y = self.encoder_ssl(y * y_mask, y_mask)
        text_mask = sequence_mask(text_lengths, text.size(1)).unsqueeze(1).to(y.dtype)
        t = self.text_embedding(text).transpose(1, 2)  # (B, H, L)
        t = self.encoder_text(t * text_mask, text_mask)
        y = self.mrte(y, y_mask, t, text_mask, ge)
        y = self.encoder2(y * y_mask, y_mask)
        stats = self.proj(y) * y_mask
        m_p, logs_p = torch.split(stats, self.out_channels, dim=1)
        return m_p, logs_p, y_mask


class GptSovitsTrainOutput(NamedTuple):
    """What s2_train.py's losses need from one generator forward pass."""

    audio: torch.Tensor  # (B, 1, segment_frames * hop)
    kl_ssl: torch.Tensor  # quantizer commitment loss (0 when the quantizer is frozen)
    ids_slice: torch.Tensor  # (B,) start frame of each decoded window
    y_mask: torch.Tensor  # (B, 1, T)
    z: torch.Tensor
    z_p: torch.Tensor
    m_p: torch.Tensor
    logs_p: torch.Tensor
    m_q: torch.Tensor
    logs_q: torch.Tensor
    quantized: torch.Tensor  # (B, 768, T) the quantized features at the frame rate


class GptSovitsSynthesizer(nn.Module):
    """GPT-SoVITS's s2 generator (module docstring). Sub-module names are its checkpoint keys."""

    def __init__(self, hp: GptSovitsHParams) -> None:
        super().__init__()
        base = hp.base
        gin = base.gin_channels
        self.version = hp.version
        self.stride = hp.stride
        self.freeze_quantizer = hp.freeze_quantizer
        self.segment_frames = base.segment_frames
        self.enc_p = GptSovitsPriorEncoder(base)
        self.dec = build_decoder(base)
        self.enc_q = PosteriorEncoder(
            base.spec_channels,
            base.inter_channels,
            base.hidden_channels,
            POSTERIOR_KERNEL,
            1,
            POSTERIOR_LAYERS,
            gin_channels=gin,
        )
        self.flow = ResidualCouplingBlock(
            base.inter_channels,
            base.hidden_channels,
            FLOW_KERNEL,
            1,
            FLOW_LAYERS,
            FLOW_COUPLINGS,
            gin_channels=gin,
        )
        self.ref_bins = base.spec_channels if hp.version == "v1" else REF_BINS_V2
        self.ref_enc = MelStyleEncoder(self.ref_bins, gin)
        self.ssl_proj = nn.Conv1d(SSL_DIM, SSL_DIM, hp.stride, stride=hp.stride)
        self.quantizer = ResidualVectorQuantizer(SSL_DIM, 1, CODEBOOK_SIZE)
        self.pro = hp.pro
        if hp.pro:
            self.sv_emb = nn.Linear(SV_DIM, gin)
            self.ge_to512 = nn.Linear(gin, MRTE_WIDTH)
            self.prelu = nn.PReLU(num_parameters=gin)

    def train(self, mode: bool = True) -> GptSovitsSynthesizer:
        """A frozen quantizer (and its input projection) stays in eval mode: no codebook
        updates, no straight-through gradient, a zero commitment loss."""
        super().train(mode)
        if self.freeze_quantizer:
            self.ssl_proj.eval()
            self.quantizer.eval()
        return self

    def timbre(
        self, spec: torch.Tensor, y_mask: torch.Tensor, sv_emb: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(ge, ge for MRTE)``: the timbre vector (B, gin, 1), and its 512-wide form."""
        ge = self.ref_enc(spec[:, : self.ref_bins] * y_mask, y_mask)
        if not self.pro:
            return ge, ge
        if sv_emb is None:
            raise ValueError(f"GPT-SoVITS {self.version} needs sv_emb (B, {SV_DIM})")
        ge = self.prelu(ge + self.sv_emb(sv_emb).unsqueeze(-1))
        return ge, self.ge_to512(ge.transpose(2, 1)).transpose(2, 1)

    def forward(
        self,
        ssl: torch.Tensor,
        spec: torch.Tensor,
        spec_lengths: torch.Tensor,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        sv_emb: torch.Tensor | None = None,
    ) -> GptSovitsTrainOutput:
        """ssl: (B, 768, T) SSL features; spec: (B, F, T); text: (B, L) phone ids; sv_emb:
        (B, 20480) for v2Pro/v2ProPlus. T must be even at 25 Hz (the collate pads so)."""
        y_mask = sequence_mask(spec_lengths, spec.size(2)).unsqueeze(1).to(spec.dtype)
        ge, ge_mrte = self.timbre(spec, y_mask, sv_emb)
        # The quantizer runs in float32 whatever the step's autocast.
        with torch.autocast(ssl.device.type, enabled=False):
            projected = self.ssl_proj(ssl)
            quantized, kl_ssl = self.quantizer(projected)
        if self.stride > 1:
            quantized = F.interpolate(
                quantized, size=quantized.size(-1) * self.stride, mode="nearest"
            )
        m_p, logs_p, y_mask = self.enc_p(quantized, spec_lengths, text, text_lengths, ge_mrte)
        # The posterior encoder's condition is detached: timbre learns from the others only.
        z, m_q, logs_q, y_mask = self.enc_q(spec, spec_lengths, g=ge.detach())
        z_p = self.flow(z, y_mask, g=ge)
        z_slice, ids_slice = rand_slice_segments(z, spec_lengths, self.segment_frames)
        audio = self.dec(z_slice, g=ge)
        return GptSovitsTrainOutput(
            audio, kl_ssl, ids_slice, y_mask, z, z_p, m_p, logs_p, m_q, logs_q, quantized
        )


def build_gpt_sovits_nets(
    config: Mapping[str, Any], n_vocab: int | None = None
) -> dict[str, nn.Module]:
    """GPT-SoVITS s2's ``{"G", "D"}`` with the fork's state_dict keys and shapes (what its
    s2_train.py saves as G_*.pth / D_*.pth; the exported inference weights drop ``enc_q``)."""
    hp = GptSovitsHParams.from_config(config, n_vocab)
    net_g = GptSovitsSynthesizer(hp)
    net_d = MultiPeriodDiscriminator(
        hp.base.use_spectral_norm, periods=DISCRIMINATOR_PERIODS[hp.version], joint=False
    )
    return {"G": net_g, "D": net_d}


@register_nets("gpt-sovits")
def _gpt_sovits_nets(config: Mapping[str, Any], n_vocab: int | None = None) -> dict[str, nn.Module]:
    return build_gpt_sovits_nets(config, n_vocab)
