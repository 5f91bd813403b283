"""Dialect detection on the real configs (tests/fixtures/shared_configs) and on small cases."""

from __future__ import annotations

import pytest

from tests.conftest import expected_dialects, shared_configs
from vitscfg.config.dialect import DIALECTS, detect_dialect
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
