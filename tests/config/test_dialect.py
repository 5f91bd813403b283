"""Dialect detection on the real configs (tests/fixtures/shared_configs) and on small cases."""

from __future__ import annotations

import pytest

from tests.conftest import expected_dialects, shared_configs
from vitscfg.config.dialect import DIALECTS, UNKNOWN, detect, detect_dialect
from vitscfg.config.fit import FIT_THRESHOLD, fit
from vitscfg.config.load import load

EXPECTED = expected_dialects()


@pytest.mark.parametrize("path", shared_configs(), ids=lambda p: p.name)
def test_real_configs_get_their_dialect(path):
    guess = detect_dialect(load(path).data)
    assert guess is not None and guess.reason
    assert guess.name == EXPECTED[path.name][0]


def test_every_readme_dialect_is_known():
    assert {d for d, _ in EXPECTED.values()} <= set(DIALECTS)


@pytest.mark.parametrize(
    ("config", "dialect"),
    [
        ({"train": {"use_gpu": True}, "data": {}}, "vitscfg"),
        ({"train": {}, "data": {}, "model": {"use_transformer_flows": True}}, "vits2"),
        (
            {"train": {}, "model": {"mb_istft_vits": True, "use_transformer_flows": True}},
            "mb-istft-vits2",
        ),
        ({"train": {"freeze_style": False}, "data": {}, "model": {"slm": {}}}, "style-bert-vits2"),
        ({"train": {"log_version": 0}, "model": {"ssl_dim": 768}, "spk": {}}, "so-vits-svc-fork"),
        ({"train": {"text_low_lr_rate": 0.4}, "model": {}}, "gpt-sovits"),
    ],
)
def test_fingerprints(config, dialect):
    assert detect_dialect(config).name == dialect


def test_nothing_to_detect():
    assert detect_dialect({"hello": 1}) is None
    assert detect_dialect([1]) is None


def test_a_config_of_another_fork_is_unknown_with_its_closest_dialect():
    """VITS sections with other forks' key names (sr, fft_size, num_mels) and own loss
    weights: no dialect reads a third of it."""
    config = {
        "train": {"segment_size": 8192, "gain_mel": 45, "gain_kl": 1.0, "gain_dur": 0.6},
        "data": {"sr": 22050, "fft_size": 2048, "num_mels": 80, "f0_max": 1100, "hop_length": 256},
        "model": {"hidden_channels": 192, "n_heads": 2},
    }
    guess = detect(config)
    assert guess.name == UNKNOWN and guess.closest in DIALECTS
    assert guess.score < FIT_THRESHOLD and "closest" in guess.reason
    assert detect_dialect(config) is None


def test_a_half_written_config_keeps_its_dialect():
    """Missing keys do not make a config unknown: they are the errors the user wants."""
    guess = detect({"train": {"batch_size": 16}, "data": {"hop_length": 256}, "model": {}})
    assert guess.name == "vits" and guess.score == 1.0


def test_applio_is_told_apart_from_rvc_by_its_sample_rate_key():
    model = {"spk_embed_dim": 109}
    assert detect({"train": {}, "data": {"sample_rate": 40000}, "model": model}).name == "applio"
    assert detect({"train": {}, "data": {"sampling_rate": 40000}, "model": model}).name == "rvc"


@pytest.mark.parametrize("path", shared_configs(), ids=lambda p: p.name)
def test_real_configs_fit_their_dialect_with_a_margin(path):
    """The threshold sits well between the real configs' fit (>= 0.94 measured) and
    the unknown forks' (<= 0.69, tests/lint/test_unseen_configs.py)."""
    data = load(path).data
    assert fit(data, EXPECTED[path.name][0]).score >= FIT_THRESHOLD + 0.1


def test_daniilrobnikov_vits2_is_its_own_dialect():
    config = {
        "train": {"c_kl_dur": 2},
        "data": {"sample_rate": 22050, "use_mel": True},
        "model": {},
    }
    assert detect(config).name == "vits2-daniilrobnikov"
