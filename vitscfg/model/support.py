"""How faithfully vitscfg's model stands for a config's own model.

Why: `check` reads every fork's config, but the bundled model (and so `estimate`'s traces
and `train`) was the VITS architecture of jaywalnut310/vits. Where a fork's own step is
not here yet (gpt-sovits, so-vits-svc-fork) it is a *proxy*: the same text
encoder, flows, decoder and discriminator sizes, without the fork's extra parts, so its
memory is the fork's minus those parts. A piper voice file is an inference config (there is
no training to model). Saying so beats a crash in the middle of a trace, or a confident
number for a model nobody trains.

MB-iSTFT-VITS and MB-iSTFT-VITS2 configs build the forks' own networks
(``vitscfg.model.mb_istft``: the iSTFT, multi-band and multi-stream decoders). Such a decoder
upsamples by the product of ``upsample_rates``, the inverse STFT's hop and the number of
bands, and that product must equal ``hop_length`` (otherwise the decoded audio and the
spectrogram frames disagree in length and the first step fails). MB-iSTFT-VITS2 without a
decoder switch builds VITS's HiFi-GAN decoder, as its model class does; MB-iSTFT-VITS
builds none and is refused. Both forks' steps are vitscfg's (``vitscfg/train/fork_steps.py``):
VITS2's order with the sub-band STFT loss (MB-iSTFT-VITS: without the VITS2 parts).

"exact" means the fork's own networks (``vitscfg.model.build_nets``) AND its own training
step: VITS, MB-iSTFT-VITS, and the forks with an entry in ``vitscfg/train/fork_steps.py``
(RVC, so-vits-svc, VITS2, Bert-VITS2 2.x, Style-Bert-VITS2, MeloTTS), whose `estimate` traces that step on its worst-case batch.

`estimate` and `train` ask before building anything; `check` never does (this package
imports torch).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

#: What each fork's model has that the VITS model here does not (the proxy's blind spots).
#: (extra discriminators, flow variants, the singing-voice forks' switches).
_SVC_GAPS = "its content-feature encoder, f0 embedding, NSF-HiFiGAN source and, when enabled, "
_PROXY_GAPS: dict[str, str] = {
    "so-vits-svc-fork": _SVC_GAPS + "transformer flow",
    "vits-chinese": "its per-phone BERT prosody-feature input (PlayVoice's vits_chinese adds "
    "it to the text encoder)",
}
_CANNOT_BUILD: dict[str, str] = {
    "piper-voice": "a piper voice file is an inference config (no training section); "
    "give the training config instead",
    "applio": "vitscfg builds RVC's networks from RVC's own configs, not yet from Applio's "
    "(an RVC fork with its own keys and training command): estimate the RVC config of the "
    "same version and sample rate instead (RVC's configs/v2/40k.json for a v2 40 kHz model)",
    "vits2-daniilrobnikov": "vitscfg does not build daniilrobnikov/vits2's networks (its "
    "own key names and model layout, not p0p4k's VITS2 that vitscfg builds); rather than "
    "trace another model, vitscfg stops here",
}


_BERT_INPUTS = (
    "{fork} trains on per-phone features of pretrained {feats}, which vitscfg cannot "
    "produce (and cannot ship): run {run}; `vitscfg check` and `vitscfg estimate` cover the "
    "config"
)

#: Forks whose training inputs come from pretrained models vitscfg cannot ship: `train`
#: refuses them (what is missing, what to run instead); `check` and `estimate` still apply.
_EXTERNAL_INPUTS: dict[str, str] = {
    "rvc": "RVC trains on content features of a pretrained HuBERT/ContentVec model "
    "(256-d in v1, 768-d in v2) and, for pitch models, F0 tracks from an F0 extractor "
    "(pm, harvest, crepe, rmvpe), which vitscfg cannot produce: extract them and train in "
    "RVC's WebUI (or its train/train.py); `vitscfg check` and `vitscfg estimate` cover the "
    "config",
    "bert-vits2": _BERT_INPUTS.format(
        fork="Bert-VITS2",
        feats="Chinese, Japanese and English BERT models (1024-d)",
        run="its preprocess_text.py and bert_gen.py, then train_ms.py",
    ),
    "style-bert-vits2": _BERT_INPUTS.format(
        fork="Style-Bert-VITS2",
        feats="BERT models (1024-d) and style vectors from a pretrained speaker-embedding model",
        run="its preprocess_all.py (or preprocess_text.py, bert_gen.py and style_gen.py), then "
        "train_ms.py or train_ms_jp_extra.py",
    ),
    "melotts": _BERT_INPUTS.format(
        fork="MeloTTS",
        feats="BERT models (1024-d and 768-d)",
        run="its preprocess_text.py, then train.py",
    ),
    "gpt-sovits": "GPT-SoVITS stage 2 trains on cnhubert SSL features (768-d, 50 Hz) and "
    "the phone sequences of its text front end (its Chinese/Japanese/English/Korean/Cantonese "
    "G2P), and v2Pro on speaker-verification embeddings, which vitscfg cannot produce: run "
    "its WebUI's dataset formatting (prepare_datasets/1-get-text.py, 2-get-hubert-wav32k.py "
    "and 2-get-sv.py for v2Pro), then s2_train.py; `vitscfg check` and "
    "`vitscfg estimate` cover the config",
    "so-vits-svc-fork": "so-vits-svc-fork trains on content features of a pretrained speech "
    "encoder and F0 tracks, which vitscfg cannot produce: run `svc pre-resample`, "
    "`svc pre-config` and `svc pre-hubert`, then `svc train`; `vitscfg check` covers the "
    "config and `vitscfg estimate` sizes it as VITS (a proxy)",
    "vits-chinese": "PlayVoice's vits_chinese trains on per-phone BERT prosody features and "
    "precomputed spectrograms that its vits_prepare.py writes, which vitscfg cannot produce: "
    "run vits_prepare.py, then its train.py; `vitscfg check` covers the config and "
    "`vitscfg estimate` sizes it as VITS (a proxy)",
    "so-vits-svc": "so-vits-svc trains on content features of a pretrained speech encoder "
    "(model.speech_encoder: ContentVec/HuBERT, model.ssl_dim wide), F0 tracks from an F0 "
    "extractor (crepe, dio, harvest, pm, rmvpe, fcpe) and, with vol_embedding, loudness "
    "curves, which vitscfg cannot produce: run so-vits-svc's preprocess_flist_config.py and "
    "preprocess_hubert_f0.py, then its train.py; `vitscfg check` and `vitscfg estimate` "
    "cover the config",
}


#: Forks whose networks and step vitscfg has (estimate traces them) but whose training the
#: trainer does not run yet: `train` refuses them with what to run instead.
_TRAINER_NOT_WIRED: dict[str, str] = {}  # none at present


def train_refusal(dialect: str | None) -> str | None:
    """Why `vitscfg train` cannot train a ``dialect`` config (inputs it cannot make, or a
    step its loop does not run yet), or None."""
    key = dialect or ""
    return _EXTERNAL_INPUTS.get(key) or _TRAINER_NOT_WIRED.get(key)


@dataclass(frozen=True)
class ModelSupport:
    level: Literal["exact", "proxy", "none"]
    reason: str  # empty when exact


def model_support(config: Mapping[str, Any], dialect: str | None) -> ModelSupport:
    """Whether ``config`` (of ``dialect``, as `check` detected it) builds vitscfg's model
    exactly, as a proxy of the fork's model, or not at all."""
    if dialect in _CANNOT_BUILD:
        return ModelSupport("none", _CANNOT_BUILD[dialect])
    if dialect == "gpt-sovits" and _gpt_sovits_v3(config):
        return ModelSupport(
            "none",
            "GPT-SoVITS v3/v4 train another model (a flow-matching mel decoder, "
            "s2_train_v3_lora.py); vitscfg models s2 versions v1, v2, v2Pro and v2ProPlus",
        )
    for section in ("train", "data", "model"):
        if not isinstance(config.get(section), Mapping):
            return ModelSupport("none", f"the config has no {section!r} section")
    model, data = config["model"], config["data"]
    rates = model.get("upsample_rates")
    hop = data.get("hop_length")
    ints = isinstance(rates, list) and all(isinstance(r, int) for r in rates)
    if dialect == "mb-istft-vits" or (
        dialect == "mb-istft-vits2" and any(model.get(key) is True for key in _ISTFT_SWITCHES)
    ):
        return _istft_support(model, rates if ints else None, hop)
    if ints and isinstance(hop, int) and math.prod(rates) != hop:
        return ModelSupport(
            "none",
            f"the decoder upsamples by {math.prod(rates)} (model.upsample_rates {rates}) "
            f"where data.hop_length is {hop}: vitscfg's HiFi-GAN decoder needs them equal",
        )
    if dialect in _PROXY_GAPS:
        return ModelSupport(
            "proxy",
            f"vitscfg's model is VITS: for this {dialect} config it builds the VITS model "
            f"with the same sizes, without {_PROXY_GAPS[dialect]}",
        )
    return ModelSupport("exact", "")


def _gpt_sovits_v3(config: Mapping[str, Any]) -> bool:
    """A GPT-SoVITS config of version v3 or v4 (``model.version``, else the top level)."""
    model = config.get("model")
    version = model.get("version") if isinstance(model, Mapping) else None
    return (version or config.get("version")) in ("v3", "v4")


#: MB-iSTFT-VITS's decoder switches, in the fork's order of precedence.
_ISTFT_SWITCHES = ("mb_istft_vits", "ms_istft_vits", "istft_vits")


def _istft_support(model: Mapping[str, Any], rates: list[int] | None, hop: Any) -> ModelSupport:
    """MB-iSTFT-VITS: exact when a decoder is selected and its upsampling equals the hop."""
    switch = next((key for key in _ISTFT_SWITCHES if model.get(key) is True), None)
    if switch is None:
        return ModelSupport(
            "none",
            "MB-iSTFT-VITS builds no decoder unless one of model.mb_istft_vits, "
            "model.ms_istft_vits or model.istft_vits is true",
        )
    istft_hop = model.get("gen_istft_hop_size")
    bands = 1 if switch == "istft_vits" else model.get("subbands")
    if (
        rates is None
        or not isinstance(hop, int)
        or not isinstance(istft_hop, int)
        or not isinstance(bands, int)
        or isinstance(istft_hop, bool)
        or isinstance(bands, bool)
    ):
        return ModelSupport("exact", "")  # `check` reports the missing or mistyped keys
    total = math.prod(rates) * istft_hop * bands
    if total != hop:
        return ModelSupport(
            "none",
            f"the {switch} decoder upsamples by {total} (model.upsample_rates {rates} x "
            f"gen_istft_hop_size {istft_hop} x {bands} band(s)) where data.hop_length is "
            f"{hop}: they must be equal",
        )
    return ModelSupport("exact", "")
