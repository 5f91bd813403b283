"""Calibration on files the linter was not written against (issue 15): unknown forks get
only fork-independent findings, YAML number strings are infos, synonyms are no typos."""

from __future__ import annotations

import json

import pytest

from vitscfg.config.compiled import load_compiled
from vitscfg.config.load import load_bytes
from vitscfg.config.synonyms import CANONICAL, SYNONYMS, canonical
from vitscfg.diagnostic import Severity
from vitscfg.lint.run import CheckOptions, check_document

VITS_DATA_KEYS = load_compiled("vits").sections["data"].fields

# A config of a fork vitscfg does not know: VITS sections, renamed and own keys.
FOREIGN = {
    "train": {"segment_size": 8192, "batch_size": 16, "gain_mel": 45, "gain_kl": 1.0},
    "data": {"sr": 22050, "fft_size": 1024, "num_mels": 80, "hop_length": 256, "f0_max": 1100},
    "model": {"hidden_channels": 192, "n_heads": 2, "ph_embed_dim": 192},
}


def _check(config: object, name: str = "c.json") -> list[tuple[str, str, str]]:
    text = json.dumps(config) if name.endswith(".json") else str(config)
    result = check_document(load_bytes(text.encode(), name), CheckOptions(check_data=False))
    return [(d.code, d.severity.value, d.pointer) for d in result.diagnostics]


def test_unknown_fork_gets_no_missing_or_unknown_key_findings() -> None:
    assert _check(FOREIGN) == []


def test_unknown_fork_still_gets_types_ranges_and_arithmetic() -> None:
    bad = json.loads(json.dumps(FOREIGN))
    bad["train"]["batch_size"] = 0
    bad["train"]["segment_size"] = 8000
    bad["model"]["n_heads"] = 5
    found = _check(bad)
    assert ("VC102", "error", "/train/batch_size") in found
    assert ("VC201", "error", "/train/segment_size") in found
    assert ("VC210", "error", "/model/n_heads") in found
    assert not [f for f in found if f[0] in ("VC103", "VC104", "VC105")]


def test_yaml_number_strings_are_infos_json_ones_errors() -> None:
    yaml_text = (
        "train:\n  learning_rate: 2e-4\n  eps: 1e-9\n  batch_size: 16\n"
        "data:\n  hop_length: 256\nmodel:\n  n_heads: 2\n"
    )
    found = _check(yaml_text, "c.yaml")
    assert ("VC101", "info", "/train/learning_rate") in found
    assert not [f for f in found if f[1] == "error" and f[0] == "VC101"]
    config = {"train": {"learning_rate": "2e-4"}, "data": {}, "model": {}}
    assert ("VC101", "error", "/train/learning_rate") in _check(config)


def test_pipeline_filled_key_is_a_warning_naming_the_step() -> None:
    config = {
        "train": {"batch_size": 2},
        "data": {"n_speakers": 1, "use_jp_extra": True},
        "model": {},
        "model_name": "x",
    }
    result = check_document(
        load_bytes(json.dumps(config).encode(), "c.json"), CheckOptions(check_data=False)
    )
    assert result.dialect == "style-bert-vits2"
    (spk,) = [d for d in result.diagnostics if d.pointer == "/data/spk2id"]
    assert spk.severity is Severity.WARNING and "preprocess_text.py" in spk.message


@pytest.mark.parametrize("alias", sorted(CANONICAL))
def test_a_synonym_is_never_offered_as_a_typo(alias: str) -> None:
    """In a vits config, another fork's name for a key is never a did-you-mean to some
    other key; where vits reads the key under its own name in that section, the
    finding names it."""
    config = {
        "train": {"batch_size": 16, "segment_size": 8192},
        "data": {"hop_length": 256, alias: 1},
        "model": {"n_heads": 2},
    }
    result = check_document(
        load_bytes(json.dumps(config).encode(), "c.json"), CheckOptions(dialect="vits")
    )
    (finding,) = [d for d in result.diagnostics if d.pointer == f"/data/{alias}"]
    assert "did you mean" not in finding.message
    if canonical(alias) in VITS_DATA_KEYS:
        assert f"`{canonical(alias)}`" in finding.message


def test_synonym_table_is_consistent() -> None:
    for key, names in SYNONYMS.items():
        assert key not in names and all(CANONICAL[n] == key for n in names)


@pytest.mark.parametrize("dialect", [None, "vits", "bert-vits2"])
def test_yaml_keys_that_are_not_strings_do_not_crash(dialect: str | None) -> None:
    """YAML allows null, number and boolean keys; detection and the key rules must cope."""
    text = "train:\n  null: 1\n  2.5: x\n  true: 3\n  freeze_ZH_bert: false\ndata: {}\nmodel: {}\n"
    result = check_document(
        load_bytes(text.encode(), "c.yaml"), CheckOptions(dialect=dialect, check_data=False)
    )
    assert result.dialect is not None


def test_a_flat_file_of_an_unknown_fork_gets_types_and_ranges_of_vits_named_keys() -> None:
    """One YAML mapping, no sections (SiFi-VITS2's layout): keys VITS names the same
    way are judged as VITS's; the rest is left alone."""
    text = "batch_size: 0\nlearning_rate: 2e-4\nhop_length: 512\ngain_mel: 45\nf0_max: 1100\n"
    found = _check(text, "c.yaml")
    assert ("VC102", "error", "/batch_size") in found
    assert ("VC101", "info", "/learning_rate") in found
    assert not [f for f in found if f[2] in ("/hop_length", "/gain_mel", "/f0_max")]
