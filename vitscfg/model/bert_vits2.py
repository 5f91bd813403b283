"""Bert-VITS2 2.x (fishaudio), Style-Bert-VITS2 (litagin02) and MeloTTS (myshell-ai):
their networks from their configs, for `build_nets`.

The three forks share one generator layout (VITS2 with a BERT-fed text encoder, a
transformer coupling flow, both duration predictors, a speaker table or a reference encoder)
and differ in the text encoder's inputs, the duration discriminator and the extra WavLM
discriminator; ``BertVariant`` holds those differences. What the forks' train scripts decide
(so what is built here):

- n_vocab, tone and language counts are the fork's own symbol tables: 112 symbols,
  12 tones, 3 languages (Bert-VITS2 2.x, Style-Bert-VITS2); 219, 16, 8 (MeloTTS).
- The posterior encoder reads the linear spectrogram with 16 WaveNet layers
  (``model.n_layers_q`` is ignored); the stochastic (hidden-wide) and the deterministic
  (256-wide) duration predictors are both built and both trained.
- The flow is ``model.n_flow_layer`` (4) transformer couplings of ``model.n_layers_trans_flow``
  layers (4; 6 in MeloTTS and Style-Bert-VITS2 JP-Extra, whose script cannot change it) with
  kernel 5, or the VITS WaveNet flow when ``model.use_transformer_flow`` is false.
- The duration discriminator (``model.use_duration_discriminator``) is conditioned on the
  speaker when ``data.n_speakers`` is not 0; Bert-VITS2 always trains a WavLM discriminator,
  Style-Bert-VITS2 JP-Extra when ``model.use_wavlm_discriminator``.
- Style-Bert-VITS2's ``data.use_jp_extra`` selects its JP-Extra model (one BERT input,
  LSTM duration discriminator).
- Bert-VITS2 has no speaker-free model: its text encoder then lacks a width (the fork fails),
  so vitscfg refuses it with a message instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from torch import nn

from vitscfg.model.bert_parts import BertDurationDiscriminator, WavLMDiscriminator
from vitscfg.model.bert_synthesizer import BertOptions, BertSynthesizer
from vitscfg.model.discriminators import MultiPeriodDiscriminator
from vitscfg.model.hparams import ModelHParams
from vitscfg.model.nets import register_nets
from vitscfg.model.skewed_attention import with_skewed_attention

#: The forks' fixed duration-discriminator sizes (train scripts: kernel 3, dropout 0.1).
DUR_DISC_KERNEL, DUR_DISC_DROPOUT = 3, 0.1
#: WavLM-base-plus, as the forks' configs describe it (model.slm), when a key is absent.
SLM_DEFAULTS = {"hidden": 768, "nlayers": 13, "initial_channel": 64}


@dataclass(frozen=True)
class BertVariant:
    """What one fork (or fork model) puts around the shared generator."""

    n_symbols: int
    n_tones: int
    n_languages: int
    bert_inputs: tuple[tuple[str, int], ...]  # (state_dict name, feature width)
    style_channels: int | None  # style vector width (Style-Bert-VITS2)
    lstm_duration_discriminator: bool
    trans_flow_layers: int  # n_layers_trans_flow when the config cannot or does not say
    trans_flow_layers_from_config: bool
    wavlm: str  # "always", "config" (model.use_wavlm_discriminator) or "never"
    sdp_sample_loss: bool  # also fit a reverse SDP sample to the alignment durations
    speaker_free: bool  # a reference encoder when data.n_speakers is 0


_THREE_BERTS = (("bert_proj", 1024), ("ja_bert_proj", 1024), ("en_bert_proj", 1024))

BERT_VITS2 = BertVariant(112, 12, 3, _THREE_BERTS, None, True, 4, True, "always", True, False)
STYLE_BERT_VITS2 = BertVariant(112, 12, 3, _THREE_BERTS, 256, False, 4, False, "never", False, True)
STYLE_BERT_VITS2_JP_EXTRA = BertVariant(
    112, 12, 3, (("bert_proj", 1024),), 256, True, 6, False, "config", False, True
)
MELOTTS = BertVariant(
    219,
    16,
    8,
    (("bert_proj", 1024), ("ja_bert_proj", 768)),
    None,
    False,
    6,
    True,
    "never",
    False,
    True,
)


def bert_variant(config: Mapping[str, Any], dialect: str) -> BertVariant:
    """The variant a ``dialect`` config builds."""
    if dialect == "melotts":
        return MELOTTS
    if dialect == "style-bert-vits2":
        jp_extra = config.get("data", {}).get("use_jp_extra") is True
        return STYLE_BERT_VITS2_JP_EXTRA if jp_extra else STYLE_BERT_VITS2
    return BERT_VITS2


def bert_hparams(
    config: Mapping[str, Any], variant: BertVariant, n_vocab: int | None = None
) -> tuple[ModelHParams, BertOptions]:
    """The generator's sizes and the family's options; ValueError on what the fork rejects."""
    hp = ModelHParams.from_config(config, n_vocab=variant.n_symbols if n_vocab is None else n_vocab)
    model = config["model"]
    spk_encoder = model.get("use_spk_conditioned_encoder", True) is True
    if spk_encoder and hp.n_speakers == 0:
        raise ValueError(
            "model.use_spk_conditioned_encoder needs a multi-speaker model "
            "(data.n_speakers > 0), as in the fork's training script"
        )
    if hp.n_speakers == 0 and not variant.speaker_free:
        raise ValueError(
            "Bert-VITS2 builds no model without speakers (data.n_speakers 0): set "
            "data.n_speakers to the number of speakers (1 for one voice)"
        )
    if model.get("flow_share_parameter") is True:
        raise ValueError("model.flow_share_parameter is not supported by vitscfg yet")
    layers = variant.trans_flow_layers
    if variant.trans_flow_layers_from_config:
        layers = int(model.get("n_layers_trans_flow", layers))
    # MeloTTS's model class takes these counts as keywords (its train script passes none).
    tables = model if variant is MELOTTS else {}
    options = BertOptions(
        n_tones=int(tables.get("num_tones") or variant.n_tones),
        n_languages=int(tables.get("num_languages") or variant.n_languages),
        bert_inputs=variant.bert_inputs,
        style_channels=variant.style_channels,
        spk_conditioned_encoder=spk_encoder and hp.gin_channels > 0,
        use_noise_scaled_mas=model.get("use_noise_scaled_mas") is True,
        transformer_flow=model.get("use_transformer_flow", True) is not False,
        n_flow_layer=int(model.get("n_flow_layer", 4)),
        n_layers_trans_flow=layers,
        sdp_sample_loss=variant.sdp_sample_loss,
        refenc_layernorm=model.get("norm_refenc") is True,
    )
    return dataclasses.replace(hp, spec_channels=hp.filter_length // 2 + 1), options


def build_bert_family_nets(
    config: Mapping[str, Any], dialect: str, n_vocab: int | None = None
) -> dict[str, nn.Module]:
    """The family's trained networks: "G", "D", and "DurDisc" / "WavLMDisc" when trained."""
    variant = bert_variant(config, dialect)
    hp, options = bert_hparams(config, variant, n_vocab)
    model = config["model"]
    nets: dict[str, nn.Module] = {
        # The forks' relative attention runs over all 2T-1 offsets (their attentions.py):
        # same values as the windowed form, the memory of their step.
        "G": with_skewed_attention(BertSynthesizer(hp, options)),
        # The forks' D judges real and generated audio in two calls (memory: two weight-normed
        # weight copies live until backward).
        "D": MultiPeriodDiscriminator(
            hp.use_spectral_norm, width=hp.discriminator_width, joint=False
        ),
    }
    if model.get("use_duration_discriminator") is True:
        nets["DurDisc"] = BertDurationDiscriminator(
            hp.hidden_channels,
            hp.hidden_channels,
            DUR_DISC_KERNEL,
            DUR_DISC_DROPOUT,
            gin_channels=hp.gin_channels if hp.n_speakers != 0 else 0,
            lstm=variant.lstm_duration_discriminator,
        )
    wavlm = variant.wavlm == "always" or (
        variant.wavlm == "config" and model.get("use_wavlm_discriminator") is True
    )
    if wavlm:
        slm = {**SLM_DEFAULTS, **(model.get("slm") or {})}
        nets["WavLMDisc"] = WavLMDiscriminator(
            int(slm["hidden"]), int(slm["nlayers"]), int(slm["initial_channel"])
        )
    return nets


@register_nets("bert-vits2")
def build_bert_vits2_nets(
    config: Mapping[str, Any], n_vocab: int | None = None
) -> dict[str, nn.Module]:
    """Bert-VITS2 2.x: G, D, WavLMDisc and (when enabled) DurDisc."""
    return build_bert_family_nets(config, "bert-vits2", n_vocab)


@register_nets("style-bert-vits2")
def build_style_bert_vits2_nets(
    config: Mapping[str, Any], n_vocab: int | None = None
) -> dict[str, nn.Module]:
    """Style-Bert-VITS2 (JP-Extra when data.use_jp_extra): G, D, DurDisc / WavLMDisc."""
    return build_bert_family_nets(config, "style-bert-vits2", n_vocab)


@register_nets("melotts")
def build_melotts_nets(
    config: Mapping[str, Any], n_vocab: int | None = None
) -> dict[str, nn.Module]:
    """MeloTTS: G, D and (when enabled) DurDisc."""
    return build_bert_family_nets(config, "melotts", n_vocab)
