"""so-vits-svc 4.0 / 4.1 (svc-develop-team/so-vits-svc; 4.0 also innnky/so-vits-svc): its
generator and discriminator, built from vitscfg's components.

The generator turns content features (HuBERT / ContentVec frames, ``model.ssl_dim`` wide),
the frame F0 and a voiced/unvoiced flag into audio for one of ``model.n_speakers`` speakers.
Its parts (vitscfg.model.svc_parts): ``pre`` + ``emb_uv`` (+ ``emb_vol``) on the features, the
prior encoder ``enc_p``, the F0 predictor ``f0_decoder``, VITS's posterior encoder ``enc_q``,
a flow (WaveNet or transformer couplings, optionally one shared network) and so-vits-svc's
NSF-HiFiGAN decoder ``dec`` (vitscfg.model.svc_nsf). The discriminator is VITS's
(periods 2, 3, 5, 7, 11 and one scale), run on real and generated audio in two calls.

4.1 configs carry the optional model keys of their new options (``vocoder_name``,
``speech_encoder``, ``use_depthwise_conv`` ...); 4.0 configs have none and build 4.0's model,
which is 4.1's with every option at its default. What differs between 4.0 and 4.1 at equal
keys is numeric only: the decoder's padding rounding for odd sizes and the rounding of
coarse pitch at exact halves (vitscfg.model.svc_nsf, svc_parts.f0_to_coarse).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import nn

from vitscfg.model.commons import rand_slice_segments, sequence_mask, slice_segments
from vitscfg.model.decoder import build_decoder
from vitscfg.model.discriminators import MultiPeriodDiscriminator
from vitscfg.model.hparams import ModelHParams
from vitscfg.model.nets import register_nets
from vitscfg.model.posterior_encoder import PosteriorEncoder
from vitscfg.model.svc_nsf import SVC_DECODERS
from vitscfg.model.svc_parts import (
    F0Predictor,
    SvcFlow,
    SvcPriorEncoder,
    f0_to_coarse,
    log_f0,
    normalize_log_f0,
)

#: Model keys that only 4.1 configs carry; any of them present means a 4.1 model.
KEYS_4_1 = (
    "vocoder_name",
    "speech_encoder",
    "use_depthwise_conv",
    "flow_share_parameter",
    "use_automatic_f0_prediction",
    "use_transformer_flow",
    "n_flow_layer",
    "n_layers_trans_flow",
    "vol_embedding",
)
#: ``model.vocoder_name`` values vitscfg builds (4.1 also has "nsf-snake-hifigan").
VOCODERS = ("nsf-hifigan",)
# Fixed by so-vits-svc's models, not by the configs.
POSTERIOR_KERNEL, POSTERIOR_LAYERS = 5, 16
INFER_NOISE_SCALE = 0.35


@dataclass(frozen=True)
class SvcHParams:
    """VITS sizes (``data``/``model``/``train``) plus so-vits-svc's own model keys, with the
    defaults of so-vits-svc 4.1's model where a key is absent."""

    base: ModelHParams
    version: str  # "4.0" | "4.1"
    ssl_dim: int
    n_speakers: int
    vol_embedding: bool = False
    use_depthwise_conv: bool = False
    use_automatic_f0_prediction: bool = True
    flow_share_parameter: bool = False
    n_flow_layer: int = 4
    n_layers_trans_flow: int = 3
    use_transformer_flow: bool = False
    # The NSF source's sine rate: so-vits-svc passes model.* to its generator, so this is
    # model.sampling_rate, default 44100, whatever data.sampling_rate says.
    sampling_rate: int = 44100

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SvcHParams:
        model = config.get("model")
        if not isinstance(model, Mapping):
            raise ValueError("a so-vits-svc config needs a model section")
        for key in ("ssl_dim", "n_speakers"):
            if not isinstance(model.get(key), int) or isinstance(model.get(key), bool):
                raise ValueError(f"config key model.{key} (an integer) is required by so-vits-svc")
        version = "4.1" if any(k in model for k in KEYS_4_1) else "4.0"
        vocoder = model.get("vocoder_name", "nsf-hifigan")
        if vocoder not in VOCODERS:
            raise ValueError(
                f"model.vocoder_name {vocoder!r} is not built by vitscfg: one of {list(VOCODERS)}"
            )
        base = ModelHParams.from_config(config, n_vocab=0)
        base = dataclasses.replace(base, decoder=SVC_DECODERS[version])
        flags: dict[str, Any] = {}
        for name, kind in OPTION_TYPES.items():
            if name not in model:
                continue
            value = model[name]
            if kind is bool and value not in (0, 1) or kind is int and not isinstance(value, int):
                raise ValueError(f"config key model.{name} must be a {kind.__name__}")
            flags[name] = kind(value)
        return cls(base, version, model["ssl_dim"], model["n_speakers"], **flags)


#: so-vits-svc's optional model keys (SvcHParams fields) and their types.
OPTION_TYPES: dict[str, type] = {
    "vol_embedding": bool,
    "use_depthwise_conv": bool,
    "use_automatic_f0_prediction": bool,
    "flow_share_parameter": bool,
    "n_flow_layer": int,
    "n_layers_trans_flow": int,
    "use_transformer_flow": bool,
    "sampling_rate": int,
}


class SvcTrainOutput(NamedTuple):
    """What so-vits-svc's training losses need from one generator forward pass."""

    audio: torch.Tensor  # (B, 1, segment_frames * hop)
    ids_slice: torch.Tensor  # (B,) start frame of each window
    spec_mask: torch.Tensor  # (B, 1, T)
    z: torch.Tensor
    z_p: torch.Tensor
    m_p: torch.Tensor
    logs_p: torch.Tensor
    m_q: torch.Tensor
    logs_q: torch.Tensor
    pred_lf0: torch.Tensor | None  # (B, 1, T) predicted log-F0 (None without the predictor)
    norm_lf0: torch.Tensor | None  # (B, 1, T) the predictor's normalised input
    lf0: torch.Tensor | None  # (B, 1, T) target log-F0


class SvcSynthesizer(nn.Module):
    """so-vits-svc's generator; attribute names are its checkpoint keys."""

    def __init__(self, hp: SvcHParams) -> None:
        super().__init__()
        base = hp.base
        hidden = base.hidden_channels
        self.segment_frames = base.segment_frames
        self.round_half_even = hp.version == "4.1"
        self.emb_g = nn.Embedding(hp.n_speakers, base.gin_channels)
        self.emb_vol = nn.Linear(1, hidden) if hp.vol_embedding else None
        self.pre = nn.Conv1d(hp.ssl_dim, hidden, kernel_size=5, padding=2)
        self.enc_p = SvcPriorEncoder(
            base.inter_channels,
            hidden,
            base.filter_channels,
            base.n_heads,
            base.n_layers,
            base.kernel_size,
            base.p_dropout,
        )
        self.dec = build_decoder(dataclasses.replace(base, sampling_rate=hp.sampling_rate))
        self.enc_q = PosteriorEncoder(
            base.spec_channels,
            base.inter_channels,
            hidden,
            POSTERIOR_KERNEL,
            1,
            POSTERIOR_LAYERS,
            gin_channels=base.gin_channels,
            depthwise=hp.use_depthwise_conv,
        )
        transformer = hp.use_transformer_flow
        self.flow = SvcFlow(
            base.inter_channels,
            hidden,
            # The same config key counts couplings of the transformer flow but WaveNet
            # layers per coupling of the WaveNet flow (which always has 4 couplings).
            n_flows=hp.n_flow_layer if transformer else 4,
            wn_layers=hp.n_flow_layer,
            gin_channels=base.gin_channels,
            share=hp.flow_share_parameter,
            transformer=transformer,
            depthwise=hp.use_depthwise_conv,
            filter_channels=base.filter_channels,
            n_heads=base.n_heads,
            n_layers_transformer=hp.n_layers_trans_flow,
            p_dropout=base.p_dropout,
        )
        self.f0_decoder = (
            F0Predictor(
                hidden,
                base.filter_channels,
                base.n_heads,
                base.n_layers,
                base.kernel_size,
                base.p_dropout,
                spk_channels=base.gin_channels,
            )
            if hp.use_automatic_f0_prediction
            else None
        )
        self.emb_uv = nn.Embedding(2, hidden)

    def _content(
        self,
        c: torch.Tensor,
        uv: torch.Tensor,
        x_mask: torch.Tensor,
        vol: torch.Tensor | None,
    ) -> torch.Tensor:
        x: torch.Tensor = self.pre(c) * x_mask + self.emb_uv(uv.long()).transpose(1, 2)
        if vol is not None and self.emb_vol is not None:
            x = x + self.emb_vol(vol.unsqueeze(-1)).transpose(1, 2)
        return x

    def forward(
        self,
        c: torch.Tensor,
        f0: torch.Tensor,
        uv: torch.Tensor,
        spec: torch.Tensor,
        sid: torch.Tensor,
        c_lengths: torch.Tensor,
        spec_lengths: torch.Tensor,
        vol: torch.Tensor | None = None,
    ) -> SvcTrainOutput:
        """c: (B, ssl_dim, T) content features; f0: (B, T) Hz; uv: (B, T) 1 where voiced;
        spec: (B, F, T) linear spectrogram; sid: (B, 1) or (B,) speaker ids; vol: (B, T)."""
        g = self.emb_g(sid.view(sid.size(0), -1)).transpose(1, 2)  # (B, gin, 1)
        x_mask = sequence_mask(c_lengths, c.size(2)).unsqueeze(1).to(c.dtype)
        x = self._content(c, uv, x_mask, vol)
        pred_lf0 = norm_lf0 = lf0 = None
        if self.f0_decoder is not None:
            lf0 = log_f0(f0)
            norm_lf0 = normalize_log_f0(lf0, x_mask, uv)
            pred_lf0 = self.f0_decoder(x, norm_lf0, x_mask, g)
        pitch = f0_to_coarse(f0, self.round_half_even)
        _, m_p, logs_p = self.enc_p(x, x_mask, pitch)
        z, m_q, logs_q, spec_mask = self.enc_q(spec, spec_lengths, g=g)
        z_p = self.flow(z, spec_mask, g=g)
        z_slice, ids_slice = rand_slice_segments(z, spec_lengths, self.segment_frames)
        f0_slice = slice_segments(f0.unsqueeze(1), ids_slice, self.segment_frames).squeeze(1)
        audio = self.dec(z_slice, f0_slice, g=g)
        return SvcTrainOutput(
            audio, ids_slice, spec_mask, z, z_p, m_p, logs_p, m_q, logs_q, pred_lf0, norm_lf0, lf0
        )

    @torch.no_grad()
    def infer(
        self,
        c: torch.Tensor,
        f0: torch.Tensor,
        uv: torch.Tensor,
        sid: torch.Tensor,
        noise_scale: float = INFER_NOISE_SCALE,
        predict_f0: bool = False,
        vol: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Convert one batch of full-length features: returns ``(audio, f0 used)``."""
        g = self.emb_g(sid.view(sid.size(0), -1)).transpose(1, 2)
        x_mask = torch.ones_like(c[:, :1, :])
        x = self._content(c, uv, x_mask, vol)
        if predict_f0 and self.f0_decoder is not None:
            norm_lf0 = normalize_log_f0(log_f0(f0), x_mask, uv, random_scale=False)
            pred_lf0 = self.f0_decoder(x, norm_lf0, x_mask, g)
            f0 = (700 * (torch.pow(10, pred_lf0 * 500 / 2595) - 1)).squeeze(1)
        z_p, _, _ = self.enc_p(x, x_mask, f0_to_coarse(f0, self.round_half_even), noise_scale)
        z = self.flow(z_p, x_mask, g=g, reverse=True)
        return self.dec(z * x_mask, f0, g=g), f0


def build_svc_nets(config: Mapping[str, Any]) -> dict[str, nn.Module]:
    """so-vits-svc's ``{"G", "D"}`` with its own state_dict keys and shapes."""
    hp = SvcHParams.from_config(config)
    return {
        "G": SvcSynthesizer(hp),
        # joint=False: real and generated audio in two calls, as so-vits-svc's step runs D.
        "D": MultiPeriodDiscriminator(hp.base.use_spectral_norm, joint=False),
    }


@register_nets("so-vits-svc")
def _svc_nets(config: Mapping[str, Any], n_vocab: int | None = None) -> dict[str, nn.Module]:
    # so-vits-svc has no symbol table: n_vocab does not apply.
    return build_svc_nets(config)
