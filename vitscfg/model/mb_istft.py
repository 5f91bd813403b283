"""MB-iSTFT-VITS (MasayaKawamura) and MB-iSTFT-VITS2 (FENRlR): their networks for `build_nets`.

Both are VITS (resp. VITS2) with the waveform decoder swapped for one of the inverse-STFT
decoders of ``vitscfg.model.istft_decoder``; the discriminator is VITS's multi-period one.
Which decoder: the first true of ``model.mb_istft_vits`` (multi-band), ``ms_istft_vits``
(multi-stream), ``istft_vits`` (single band), in the forks' order of precedence.

How the forks' train scripts turn a config into networks, and so what is built here:

- n_vocab is the fork's own symbol table: 178 for MB-iSTFT-VITS (``text/symbols.py``, the
  VITS English set); 205 for MB-iSTFT-VITS2, whose table adds 27 Korean jamo letters.
- MB-iSTFT-VITS's model class defaults ``use_sdp`` to false (VITS: true); MB-iSTFT-VITS2's
  to true. Every shipped config sets the key.
- MB-iSTFT-VITS with none of the three switches builds no decoder at all (the script
  prints an error and crashes later): refused here. MB-iSTFT-VITS2 then falls back to
  VITS's HiFi-GAN decoder, as built here.
- MB-iSTFT-VITS2 is trained by ``train.py`` when the config has no speakers: that model is
  built with a speaker-free text encoder whatever ``use_spk_conditioned_encoder`` says.
- MB-iSTFT-VITS2's flow block tests ``transformer_flow_type == "mono_layer_post_residual"``
  one level out, next to ``use_transformer_flows`` (an indentation slip), so: with transformer
  flows on, that type builds no flow layer at all (the flow is the identity); with them off,
  that type (the model's default when the key is absent) builds the post-residual
  transformer flow, and any other type the VITS flow. ``fork_flow_type`` says which.
  Everything else (mel posterior of 80 channels, transformer flows, duration
  discriminator, noise-scaled alignment) is read as for VITS2 (``vitscfg.model.vits2``).

Built in the forks' memory form (same parameters, same values), so that `estimate`, which
traces these networks, sees what the forks' steps hold (bench/mb_istft_vits2_step_peak.py):
the discriminator takes real and generated audio in two calls, as both forks' do (each call
recomputes the weight-normed weights and autograd keeps both copies), and the relative
attention (text encoder; MB-iSTFT-VITS2's transformer flows) spans all 2T-1 offsets
(``vitscfg.model.skewed_attention``), as both forks' ``attentions.py`` do.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from torch import nn

from vitscfg.model.discriminators import MultiPeriodDiscriminator
from vitscfg.model.duration_discriminator import build_duration_discriminator
from vitscfg.model.hparams import IstftHParams, ModelHParams
from vitscfg.model.istft_decoder import ISTFT_DECODERS
from vitscfg.model.nets import register_nets
from vitscfg.model.skewed_attention import with_skewed_attention
from vitscfg.model.synthesizer import SynthesizerTrn
from vitscfg.model.transformer_flow import FLOW_TYPES
from vitscfg.model.vits2 import vits2_hparams

#: len(symbols) of MasayaKawamura/MB-iSTFT-VITS's text/symbols.py.
MB_ISTFT_VITS_N_SYMBOLS = 178
#: len(symbols) of FENRlR/MB-iSTFT-VITS2's text/symbols.py (VITS's set plus Korean jamo).
MB_ISTFT_VITS2_N_SYMBOLS = 205
#: MB-iSTFT-VITS's SynthesizerTrn default for a config without ``model.use_sdp``.
MB_ISTFT_VITS_USE_SDP = False

#: MB-iSTFT-VITS2's model-class default for a config without ``model.transformer_flow_type``.
MB_ISTFT_VITS2_FLOW_TYPE = "mono_layer_post_residual"
#: The flow without layers MB-iSTFT-VITS2 builds for transformer flows + post-residual type.
IDENTITY_FLOW = "identity"
FLOW_TYPES.setdefault(IDENTITY_FLOW, lambda sizes: [])

#: config switch -> decoder name, in the order the forks test them.
DECODER_SWITCHES = (
    ("mb_istft_vits", "mb-istft"),
    ("ms_istft_vits", "ms-istft"),
    ("istft_vits", "istft"),
)


def istft_decoder_name(model: Mapping[str, Any]) -> str | None:
    """The iSTFT decoder a model section selects, or None when no switch is true."""
    for key, name in DECODER_SWITCHES:
        if model.get(key) is True:
            return name
    return None


def _positive_int(model: Mapping[str, Any], key: str, why: str) -> int:
    value = model.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"model.{key} must be a positive integer {why} (got {value!r})")
    return value


def with_istft_decoder(hp: ModelHParams, model: Mapping[str, Any]) -> ModelHParams:
    """``hp`` with the iSTFT decoder ``model`` selects (unchanged when it selects none).
    Raises ValueError when that decoder's geometry keys are missing."""
    name = istft_decoder_name(model)
    if name is None:
        return hp
    why = f"for the {name} decoder"
    subbands = 1 if name == "istft" else _positive_int(model, "subbands", why)
    istft = IstftHParams(
        n_fft=_positive_int(model, "gen_istft_n_fft", why),
        hop_size=_positive_int(model, "gen_istft_hop_size", why),
        subbands=subbands,
    )
    assert name in ISTFT_DECODERS
    return dataclasses.replace(hp, decoder=name, istft=istft)


def mb_istft_vits_hparams(config: Mapping[str, Any], n_vocab: int | None = None) -> ModelHParams:
    """``ModelHParams`` of an MB-iSTFT-VITS config. Raises ValueError when the config selects
    no decoder or lacks its geometry."""
    model = config["model"]
    hp = ModelHParams.from_config(
        config, n_vocab=MB_ISTFT_VITS_N_SYMBOLS if n_vocab is None else n_vocab
    )
    if model.get("use_sdp") is None:
        hp = dataclasses.replace(hp, use_sdp=MB_ISTFT_VITS_USE_SDP)
    if istft_decoder_name(model) is None:
        raise ValueError(
            "MB-iSTFT-VITS builds no decoder unless one of model.mb_istft_vits, "
            "model.ms_istft_vits or model.istft_vits is true: set one"
        )
    return with_istft_decoder(hp, model)


def mb_istft_vits2_hparams(config: Mapping[str, Any], n_vocab: int | None = None) -> ModelHParams:
    """``ModelHParams`` of an MB-iSTFT-VITS2 config (VITS2's, with its decoder)."""
    model = config["model"]
    data = config.get("data")
    if isinstance(data, Mapping) and not data.get("n_speakers"):
        # train.py (single speaker) builds a speaker-free text encoder in any case.
        config = {**config, "model": {**model, "use_spk_conditioned_encoder": False}}
    hp = vits2_hparams(config, MB_ISTFT_VITS2_N_SYMBOLS if n_vocab is None else n_vocab)
    assert hp.vits2 is not None
    flow = fork_flow_type(model)
    options = dataclasses.replace(
        hp.vits2, use_transformer_flows=flow != "vits", transformer_flow_type=flow
    )
    return with_istft_decoder(dataclasses.replace(hp, vits2=options), model)


def fork_flow_type(model: Mapping[str, Any]) -> str:
    """The flow (a key of FLOW_TYPES) MB-iSTFT-VITS2's model class builds for ``model``."""
    # The model class reads the key with a default: an explicit null is not the default.
    kind = model.get("transformer_flow_type", MB_ISTFT_VITS2_FLOW_TYPE)
    post_residual = kind == MB_ISTFT_VITS2_FLOW_TYPE
    if model.get("use_transformer_flows") is True:
        return IDENTITY_FLOW if post_residual else str(kind)
    return MB_ISTFT_VITS2_FLOW_TYPE if post_residual else "vits"


def _nets(hp: ModelHParams) -> dict[str, nn.Module]:
    nets: dict[str, nn.Module] = {
        "G": with_skewed_attention(SynthesizerTrn(hp)),
        # Real and generated audio in two calls, as the forks' MultiPeriodDiscriminator.
        "D": MultiPeriodDiscriminator(
            hp.use_spectral_norm, width=hp.discriminator_width, joint=False
        ),
    }
    if hp.vits2 is not None and hp.vits2.use_duration_discriminator:
        nets["DurDisc"] = build_duration_discriminator(
            hp.vits2.duration_discriminator_type, hp.hidden_channels
        )
    return nets


@register_nets("mb-istft-vits")
def build_mb_istft_vits_nets(
    config: Mapping[str, Any], n_vocab: int | None = None
) -> dict[str, nn.Module]:
    """MB-iSTFT-VITS's trained networks: "G" (with its iSTFT decoder) and "D"."""
    return _nets(mb_istft_vits_hparams(config, n_vocab))


@register_nets("mb-istft-vits2")
def build_mb_istft_vits2_nets(
    config: Mapping[str, Any], n_vocab: int | None = None
) -> dict[str, nn.Module]:
    """MB-iSTFT-VITS2's trained networks: "G", "D" and, when enabled, "DurDisc"."""
    return _nets(mb_istft_vits2_hparams(config, n_vocab))
