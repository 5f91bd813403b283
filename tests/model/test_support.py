"""Which configs vitscfg's VITS model stands for: exactly, as a proxy, or not at all."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("torch")

from vitscfg.config.dialect import detect_dialect  # noqa: E402
from vitscfg.model.support import model_support, train_refusal  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SHARED = sorted((ROOT / "tests" / "fixtures" / "shared_configs").glob("*.json"))
EXPECTED = {
    "vits": "exact",
    "vitscfg": "exact",
    "mb-istft-vits": "exact",  # vitscfg.model.mb_istft builds the fork's networks
    "rvc": "exact",  # vitscfg.model.rvc and its step (vitscfg/train/fork_steps.py)
    "so-vits-svc": "exact",  # vitscfg.model.svc and its step (fork_steps.py)
    "vits2": "exact",  # vitscfg.model.vits2 and its step (fork_steps.py)
    "bert-vits2": "exact",  # vitscfg.model.bert_vits2 and train/bert_step.py (fork_steps.py)
    "melotts": "exact",  # the same
    "piper-voice": "none",
}


@pytest.mark.parametrize("path", SHARED, ids=lambda p: p.stem[:48])
def test_every_real_config_gets_a_level(path: Path) -> None:
    config = json.loads(path.read_text(encoding="utf-8"))
    guess = detect_dialect(config)
    assert guess is not None
    support = model_support(config, guess.name)
    assert support.level == EXPECTED.get(guess.name, "proxy"), (guess.name, support)
    assert (support.reason == "") == (support.level == "exact")


def test_the_bundled_examples_are_exact() -> None:
    for path in (ROOT / "examples" / "ljs_base.json", ROOT / "examples" / "tiny" / "config.json"):
        config = json.loads(path.read_text(encoding="utf-8"))
        guess = detect_dialect(config)
        assert model_support(config, guess.name if guess else None).level == "exact"


@given(
    rates=st.lists(st.integers(1, 10), min_size=1, max_size=5),
    hop=st.integers(1, 2000),
)
def test_the_decoder_must_upsample_by_the_hop(rates: list[int], hop: int) -> None:
    config = {
        "train": {},
        "data": {"hop_length": hop},
        "model": {"upsample_rates": rates},
    }
    support = model_support(config, "vits")
    assert (support.level == "none") == (math.prod(rates) != hop)


@given(
    rates=st.lists(st.integers(1, 8), min_size=1, max_size=3),
    istft_hop=st.integers(1, 8),
    subbands=st.integers(1, 8),
    switch=st.sampled_from(["istft_vits", "mb_istft_vits", "ms_istft_vits"]),
    hop=st.integers(1, 1024),
)
def test_an_istft_decoder_must_upsample_by_the_hop(
    rates: list[int], istft_hop: int, subbands: int, switch: str, hop: int
) -> None:
    """MB-iSTFT-VITS: upsampling x inverse-STFT hop x bands (1 for plain iSTFT) == hop."""
    config = {
        "train": {},
        "data": {"hop_length": hop},
        "model": {
            "upsample_rates": rates,
            "gen_istft_hop_size": istft_hop,
            "subbands": subbands,
            switch: True,
        },
    }
    support = model_support(config, "mb-istft-vits")
    bands = 1 if switch == "istft_vits" else subbands
    assert (support.level == "none") == (math.prod(rates) * istft_hop * bands != hop)
    assert (support.level == "exact") == (support.reason == "")


def test_an_mb_istft_config_without_a_decoder_switch_is_refused() -> None:
    config = {"train": {}, "data": {"hop_length": 256}, "model": {"upsample_rates": [4, 4]}}
    support = model_support(config, "mb-istft-vits")
    assert support.level == "none" and "builds no decoder" in support.reason


def test_rvc_training_is_refused_with_what_is_missing() -> None:
    reason = train_refusal("rvc")
    assert reason is not None
    for needed in ("HuBERT", "ContentVec", "F0", "train/train.py", "vitscfg estimate"):
        assert needed in reason
    assert train_refusal("vits") is None and train_refusal(None) is None


def test_so_vits_svc_training_is_refused_with_what_is_missing() -> None:
    reason = train_refusal("so-vits-svc")
    assert reason is not None
    for needed in ("ContentVec", "F0", "preprocess_hubert_f0.py", "train.py", "vitscfg estimate"):
        assert needed in reason
