"""Which fork a config belongs to, decided from its keys, with a score.

Every fork reads the same-looking JSON differently (bf16_run is required in
Bert-VITS2 2.3 and meaningless in vits; n_speakers: 1 crashes vits but not
MeloTTS), so the dialect picks the schema and the severity of each rule.
Fingerprints (the most specific test first) propose a dialect; the key fit
(config/fit.py) confirms it. When no dialect fits, the config is `unknown`: the
closest dialect and its score are reported, and only fork-independent checks run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DIALECTS: tuple[str, ...] = (
    "vits",
    "vits-chinese",
    "vits2",
    "vits2-daniilrobnikov",
    "mb-istft-vits",
    "mb-istft-vits2",
    "bert-vits2",
    "style-bert-vits2",
    "melotts",
    "gpt-sovits",
    "so-vits-svc",
    "so-vits-svc-fork",
    "rvc",
    "applio",
    "piper-voice",
    "vitscfg",
)

DIALECT_TITLES: dict[str, str] = {
    "vits": "VITS (jaywalnut310/vits and plain forks)",
    "vits-chinese": "vits_chinese (PlayVoice: VITS with BERT features, phoneme input)",
    "vits2": "VITS2 (p0p4k/vits2_pytorch)",
    "vits2-daniilrobnikov": "VITS2 (daniilrobnikov/vits2: YAML, renamed keys)",
    "mb-istft-vits": "MB-iSTFT-VITS (MasayaKawamura)",
    "mb-istft-vits2": "MB-iSTFT-VITS2 (FENRlR)",
    "bert-vits2": "Bert-VITS2 (fishaudio)",
    "style-bert-vits2": "Style-Bert-VITS2 (litagin02)",
    "melotts": "MeloTTS (myshell-ai)",
    "gpt-sovits": "GPT-SoVITS stage 2 (RVC-Boss)",
    "so-vits-svc": "so-vits-svc 3.0-4.1 (svc-develop-team)",
    "so-vits-svc-fork": "so-vits-svc-fork (voicepaw)",
    "rvc": "RVC WebUI (RVC-Project)",
    "applio": "Applio (IAHispano, an RVC fork)",
    "piper-voice": "piper voice/inference config (rhasspy)",
    "vitscfg": "vitscfg's bundled trainer",
}


#: The name of a config no dialect fits (not in DIALECTS: it has no schema).
UNKNOWN = "unknown"


@dataclass(frozen=True)
class DialectGuess:
    name: str  # a dialect, or UNKNOWN
    reason: str
    score: float = 1.0  # how well the keys fit `name` (or `closest`), 0..1
    closest: str | None = None  # for UNKNOWN: the dialect that fits best


def _sections(cfg: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    def section(key: str) -> dict[str, Any]:
        value = cfg.get(key)
        return value if isinstance(value, dict) else {}

    return section("train"), section("data"), section("model")


def _fingerprints() -> list[tuple[str, Callable[[dict[str, Any]], str | None]]]:
    """(dialect, test) pairs; a test returns the reason when it matches."""

    def piper(cfg: dict[str, Any]) -> str | None:
        if "train" not in cfg and ("phoneme_id_map" in cfg or "espeak" in cfg):
            return "no train section; has phoneme_id_map/espeak (a piper voice config)"
        return None

    def vitscfg(cfg: dict[str, Any]) -> str | None:
        train, _, _ = _sections(cfg)
        if "use_gpu" in train:
            return "train.use_gpu is read only by vitscfg's bundled trainer"
        return None

    def gpt_sovits(cfg: dict[str, Any]) -> str | None:
        train, _, model = _sections(cfg)
        if "text_low_lr_rate" in train or "semantic_frame_rate" in model or "s2_ckpt_dir" in cfg:
            return "train.text_low_lr_rate / model.semantic_frame_rate"
        return None

    def svc_fork(cfg: dict[str, Any]) -> str | None:
        train, _, model = _sections(cfg)
        if "type_" in model or {"log_version", "ckpt_name_by_step"} & train.keys():
            return "model.type_ / train.log_version (so-vits-svc-fork)"
        return None

    def svc(cfg: dict[str, Any]) -> str | None:
        _, _, model = _sections(cfg)
        if "spk" in cfg and "ssl_dim" in model:
            return "top-level spk map and model.ssl_dim"
        return None

    def style_bert(cfg: dict[str, Any]) -> str | None:
        train, data, _ = _sections(cfg)
        if (
            "model_name" in cfg
            or {"freeze_style", "freeze_decoder"} & train.keys()
            or ({"style2id", "num_styles", "use_jp_extra"} & data.keys())
        ):
            return "model_name / train.freeze_style / data.style2id (Style-Bert-VITS2)"
        return None

    def bert(cfg: dict[str, Any]) -> str | None:
        train, _, model = _sections(cfg)
        if "slm" in model or any(
            isinstance(k, str) and k.startswith("freeze_") and k.endswith("_bert") for k in train
        ):
            return "model.slm / train.freeze_*_bert"
        return None

    def melo(cfg: dict[str, Any]) -> str | None:
        train, data, model = _sections(cfg)
        if "n_layers_trans_flow" in model and ("spk2id" in data or "skip_optimizer" in train):
            return "model.n_layers_trans_flow with data.spk2id / train.skip_optimizer"
        return None

    def applio(cfg: dict[str, Any]) -> str | None:
        _, data, model = _sections(cfg)
        if "spk_embed_dim" in model and "sample_rate" in data and "sampling_rate" not in data:
            return "model.spk_embed_dim with data.sample_rate (Applio's name for the rate)"
        return None

    def rvc(cfg: dict[str, Any]) -> str | None:
        _, _, model = _sections(cfg)
        if "spk_embed_dim" in model:
            return "model.spk_embed_dim (RVC speaker table)"
        return None

    def mb_istft2(cfg: dict[str, Any]) -> str | None:
        _, _, model = _sections(cfg)
        istft = {"istft_vits", "mb_istft_vits", "ms_istft_vits"} & model.keys()
        if istft and ("monotonic_align" in model or "use_transformer_flows" in model):
            return "iSTFT switches with VITS2 flags"
        return None

    def mb_istft(cfg: dict[str, Any]) -> str | None:
        train, _, model = _sections(cfg)
        if {"istft_vits", "mb_istft_vits", "ms_istft_vits"} & model.keys() or "fft_sizes" in train:
            return "model.istft_vits / mb_istft_vits / ms_istft_vits"
        return None

    def vits2_daniil(cfg: dict[str, Any]) -> str | None:
        train, data, _ = _sections(cfg)
        if "use_mel" in data or {"c_kl_text", "c_kl_dur", "c_kl_audio"} & train.keys():
            return "data.use_mel / train.c_kl_dur (daniilrobnikov/vits2)"
        return None

    def vits2(cfg: dict[str, Any]) -> str | None:
        _, data, model = _sections(cfg)
        flags = {
            "use_transformer_flows",
            "transformer_flow_type",
            "use_noise_scaled_mas",
            "use_duration_discriminator",
            "use_spk_conditioned_encoder",
        }
        if flags & model.keys() or "use_mel_posterior_encoder" in data:
            return "VITS2 model flags (use_transformer_flows, use_noise_scaled_mas, ...)"
        return None

    def vits_chinese(cfg: dict[str, Any]) -> str | None:
        train, _, _ = _sections(cfg)
        if {"train_class", "eval_class"} & train.keys():
            return "train.train_class / eval_class (PlayVoice/vits_chinese)"
        return None

    def vits(cfg: dict[str, Any]) -> str | None:
        train, data, model = _sections(cfg)
        if train and (data or model):
            return "train/data/model sections with the original VITS keys"
        return None

    return [
        ("piper-voice", piper),
        ("gpt-sovits", gpt_sovits),
        ("so-vits-svc-fork", svc_fork),
        ("so-vits-svc", svc),
        ("style-bert-vits2", style_bert),
        ("bert-vits2", bert),
        ("melotts", melo),
        ("applio", applio),
        ("rvc", rvc),
        ("mb-istft-vits2", mb_istft2),
        ("mb-istft-vits", mb_istft),
        ("vits2-daniilrobnikov", vits2_daniil),
        ("vits2", vits2),
        ("vits-chinese", vits_chinese),
        # After every fork's own marks: a fork's config with use_gpu added (as one does
        # to train it here) is still that fork's, and vitscfg builds that fork's model.
        ("vitscfg", vitscfg),
        ("vits", vits),
    ]


def detect(cfg: Any) -> DialectGuess:
    """The dialect of a parsed config, or UNKNOWN with the closest dialect.

    A fingerprint proposes a dialect; it is kept when the file's keys fit it
    (fit >= FIT_THRESHOLD). Otherwise the best-fitting dialect is taken when it
    fits, else the config is UNKNOWN."""
    from vitscfg.config.fit import FIT_THRESHOLD, best_fit, fit

    if not isinstance(cfg, dict):
        return DialectGuess(UNKNOWN, "not a JSON/YAML object", 0.0)
    for name, test in _fingerprints():
        reason = test(cfg)
        if reason:
            proposed = fit(cfg, name)
            if proposed.score >= FIT_THRESHOLD:
                return DialectGuess(name, f"{reason}; {proposed.describe()}", proposed.score)
            break
    best = best_fit(cfg, DIALECTS)
    if best.score >= FIT_THRESHOLD:
        return DialectGuess(best.dialect, f"keys fit best: {best.describe()}", best.score)
    renamed = _renamed_keys(cfg)
    return DialectGuess(
        UNKNOWN,
        f"no dialect fits (closest {best.dialect}: {best.describe()})"
        + (f"; other forks' key names: {renamed}" if renamed else ""),
        best.score,
        best.dialect,
    )


def _renamed_keys(cfg: dict[str, Any]) -> str:
    """`sample_rate (sampling_rate), n_fft (filter_length)`: keys the file names the
    way another fork does, the clue that it belongs to a fork vitscfg does not know."""
    from vitscfg.config.synonyms import CANONICAL

    found = []
    for name in ("train", "data", "model"):
        section = cfg.get(name)
        for key in section if isinstance(section, dict) else ():
            if isinstance(key, str) and key in CANONICAL:
                found.append(f"{name}.{key} ({CANONICAL[key]})")
    return ", ".join(found[:6])


def detect_dialect(cfg: Any) -> DialectGuess | None:
    """The dialect of a parsed config, or None when no dialect fits it (see detect)."""
    guess = detect(cfg)
    return None if guess.name == UNKNOWN else guess
