"""RVC (Retrieval-based Voice Conversion WebUI): its generator and discriminator, built from
vitscfg's components.

RVC is VITS without text: the prior comes from content features (HuBERT: 256-d in v1,
ContentVec's 768-d layer in v2) and, for pitch models, a coarse-pitch embedding; the decoder
is NSF-HiFiGAN driven by the frame F0 (plain HiFi-GAN without pitch); there is no duration
predictor and no alignment search (features and spectrogram share the frame rate). v2 also
widens the discriminator with periods 23 and 37.

Which variant a config builds is not in RVC's JSON (its train script takes ``-v`` and
``-f0`` on the command line). vitscfg reads two optional top-level keys named after those
settings, ``"version"`` ("v1" | "v2") and ``"if_f0"`` (0/1 or a bool), and otherwise builds
the WebUI's default, v2 with pitch; ``build_rvc_nets(config, variant=...)`` states it in code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, cast

import torch
from torch import nn

from vitscfg.model.commons import rand_slice_segments, slice_segments
from vitscfg.model.content_encoder import ContentEncoder
from vitscfg.model.decoder import build_decoder
from vitscfg.model.discriminators import MultiPeriodDiscriminator
from vitscfg.model.flow import ResidualCouplingBlock
from vitscfg.model.hparams import ModelHParams
from vitscfg.model.nets import register_nets
from vitscfg.model.posterior_encoder import PosteriorEncoder

RvcVersion = Literal["v1", "v2"]

#: Per version: width of the content features the prior encoder reads.
CONTENT_DIMS: dict[str, int] = {"v1": 256, "v2": 768}
#: Per version: the periods of the multi-period discriminator (after the scale one).
DISCRIMINATOR_PERIODS: dict[str, tuple[int, ...]] = {
    "v1": (2, 3, 5, 7, 11, 17),
    "v2": (2, 3, 5, 7, 11, 17, 23, 37),
}
#: Per pitch conditioning: the decoder (a key of vitscfg.model.decoder.DECODERS).
DECODER_BY_F0: dict[bool, str] = {True: "nsf-hifigan", False: "hifigan"}

# Fixed by RVC's models, not by the configs.
POSTERIOR_KERNEL, POSTERIOR_LAYERS = 5, 16
FLOW_KERNEL, FLOW_LAYERS, FLOW_COUPLINGS = 5, 3, 4
#: Prior noise scale of RVC's inference (2/3).
INFER_NOISE_SCALE = 0.66666


@dataclass(frozen=True)
class RvcVariant:
    """Which of RVC's four generators: content-feature version and pitch conditioning."""

    version: RvcVersion = "v2"
    f0: bool = True

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RvcVariant:
        """The optional top-level ``version`` / ``if_f0`` keys, else the WebUI default."""
        default = cls()
        version = config.get("version", default.version)
        if not isinstance(version, str) or version not in CONTENT_DIMS:
            raise ValueError(
                f'config key "version" must be one of {sorted(CONTENT_DIMS)} for an RVC model, '
                f"got {version!r}"
            )
        if_f0 = config.get("if_f0", default.f0)
        if isinstance(if_f0, float) or if_f0 not in (0, 1):  # True/False equal 1/0
            raise ValueError(f'config key "if_f0" must be 0, 1, true or false, got {if_f0!r}')
        return cls(cast(RvcVersion, version), bool(if_f0))


@dataclass(frozen=True)
class RvcHParams:
    """VITS sizes (from the config's ``data``/``model``/``train``) plus RVC's own."""

    base: ModelHParams
    spk_embed_dim: int  # model.spk_embed_dim: rows of the speaker table
    variant: RvcVariant

    @classmethod
    def from_config(cls, config: Mapping[str, Any], variant: RvcVariant | None) -> RvcHParams:
        model = config.get("model")
        if not isinstance(model, Mapping) or model.get("spk_embed_dim") is None:
            raise ValueError("config key model.spk_embed_dim is required to build an RVC model")
        variant = variant or RvcVariant.from_config(config)
        base = ModelHParams.from_config(config, n_vocab=0)
        base = dataclasses.replace(base, decoder=DECODER_BY_F0[variant.f0])
        return cls(base, int(model["spk_embed_dim"]), variant)


class RvcTrainOutput(NamedTuple):
    """What RVC's training losses need from one generator forward pass."""

    audio: torch.Tensor  # (B, 1, segment_frames * hop) decoded window
    ids_slice: torch.Tensor  # (B,) start frame of each window
    x_mask: torch.Tensor  # (B, 1, T) content-frame mask
    y_mask: torch.Tensor  # (B, 1, T) spectrogram-frame mask (the same frames)
    z: torch.Tensor  # (B, C, T) posterior sample
    z_p: torch.Tensor  # (B, C, T) posterior sample in the prior space
    m_p: torch.Tensor  # (B, C, T) prior mean (frame-aligned: no alignment search)
    logs_p: torch.Tensor
    m_q: torch.Tensor
    logs_q: torch.Tensor


class RvcSynthesizer(nn.Module):
    """RVC's generator: content encoder (prior), posterior encoder, flow, (NSF-)HiFi-GAN and a
    speaker table. Sub-module names (``enc_p``, ``enc_q``, ``flow``, ``dec``, ``emb_g``)
    are RVC's checkpoint keys."""

    def __init__(self, hp: RvcHParams) -> None:
        super().__init__()
        base = hp.base
        self.use_f0 = hp.variant.f0
        self.segment_frames = base.segment_frames
        self.enc_p = ContentEncoder(
            CONTENT_DIMS[hp.variant.version],
            base.inter_channels,
            base.hidden_channels,
            base.filter_channels,
            base.n_heads,
            base.n_layers,
            base.kernel_size,
            base.p_dropout,
            use_pitch=hp.variant.f0,
        )
        self.dec = build_decoder(base)
        self.enc_q = PosteriorEncoder(
            base.spec_channels,
            base.inter_channels,
            base.hidden_channels,
            POSTERIOR_KERNEL,
            1,
            POSTERIOR_LAYERS,
            gin_channels=base.gin_channels,
        )
        self.flow = ResidualCouplingBlock(
            base.inter_channels,
            base.hidden_channels,
            FLOW_KERNEL,
            1,
            FLOW_LAYERS,
            FLOW_COUPLINGS,
            gin_channels=base.gin_channels,
        )
        self.emb_g = nn.Embedding(hp.spk_embed_dim, base.gin_channels)

    def _decode(
        self, z: torch.Tensor, pitchf: torch.Tensor | None, g: torch.Tensor
    ) -> torch.Tensor:
        if not self.use_f0:
            audio: torch.Tensor = self.dec(z, g=g)
            return audio
        if pitchf is None:
            raise ValueError("an RVC pitch model needs pitchf (B, T): the frame F0 in Hz")
        audio = self.dec(z, pitchf, g=g)
        return audio

    def forward(
        self,
        phone: torch.Tensor,
        phone_lengths: torch.Tensor,
        spec: torch.Tensor,
        spec_lengths: torch.Tensor,
        sid: torch.Tensor,
        pitch: torch.Tensor | None = None,
        pitchf: torch.Tensor | None = None,
    ) -> RvcTrainOutput:
        """phone: (B, T, D) content features; spec: (B, F, T) linear spectrogram; sid: (B,)
        speaker ids; pitch: (B, T) coarse bins and pitchf: (B, T) F0 in Hz (pitch models)."""
        g = self.emb_g(sid).unsqueeze(-1)  # (B, gin, 1)
        m_p, logs_p, x_mask = self.enc_p(phone, pitch, phone_lengths)
        z, m_q, logs_q, y_mask = self.enc_q(spec, spec_lengths, g=g)
        z_p = self.flow(z, y_mask, g=g)
        z_slice, ids_slice = rand_slice_segments(z, spec_lengths, self.segment_frames)
        f0_slice = None
        if pitchf is not None and self.use_f0:
            f0_slice = slice_segments(pitchf.unsqueeze(1), ids_slice, self.segment_frames)
            f0_slice = f0_slice.squeeze(1)  # (B, S)
        audio = self._decode(z_slice, f0_slice, g)
        return RvcTrainOutput(audio, ids_slice, x_mask, y_mask, z, z_p, m_p, logs_p, m_q, logs_q)

    @torch.no_grad()
    def infer(
        self,
        phone: torch.Tensor,
        phone_lengths: torch.Tensor,
        sid: torch.Tensor,
        pitch: torch.Tensor | None = None,
        pitchf: torch.Tensor | None = None,
        noise_scale: float = INFER_NOISE_SCALE,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Convert content features to the speaker ``sid``: returns ``(audio, x_mask)``."""
        g = self.emb_g(sid).unsqueeze(-1)
        m_p, logs_p, x_mask = self.enc_p(phone, pitch, phone_lengths)
        z_p = (m_p + torch.exp(logs_p) * torch.randn_like(m_p) * noise_scale) * x_mask
        z = self.flow(z_p, x_mask, g=g, reverse=True)
        return self._decode(z * x_mask, pitchf, g), x_mask


def build_rvc_nets(
    config: Mapping[str, Any], variant: RvcVariant | None = None
) -> dict[str, nn.Module]:
    """RVC's ``{"G", "D"}`` with RVC's own state_dict keys and shapes.

    ``variant``: v1/v2 and pitch conditioning; from the config's top-level ``version`` /
    ``if_f0`` keys when None (default v2 with pitch).
    """
    hp = RvcHParams.from_config(config, variant)
    return {
        "G": RvcSynthesizer(hp),
        # joint=False: real and fake in two calls, as RVC's step (its memory, not VITS's).
        "D": MultiPeriodDiscriminator(
            hp.base.use_spectral_norm,
            periods=DISCRIMINATOR_PERIODS[hp.variant.version],
            joint=False,
        ),
    }


@register_nets("rvc")
def _rvc_nets(config: Mapping[str, Any], n_vocab: int | None = None) -> dict[str, nn.Module]:
    # RVC has no symbol table: n_vocab does not apply.
    return build_rvc_nets(config)
