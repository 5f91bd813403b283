"""Bert-VITS2 2.x, Style-Bert-VITS2 and MeloTTS checkpoint compatibility: `build_nets` gives
each fork's own state_dict keys and shapes for "G", "D", "DurDisc" and "WavLMDisc".

``fixtures/bert_vits2_keys.json.gz`` lists every key and shape of the networks each fork's
train script builds from the shipped configs (and variants: no speakers, WaveNet flow,
duration discriminator switched on); scripts/fixtures_bert_vits2.py generated it from
checkouts of the forks (commits recorded in the file).
"""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

import torch  # noqa: E402

from vitscfg.model import build_nets  # noqa: E402
from vitscfg.model.bert_synthesizer import BertSynthesizer  # noqa: E402

pytestmark = pytest.mark.torch

ROOT = Path(__file__).resolve().parents[2]
FIXTURE: dict[str, Any] = json.loads(
    gzip.decompress((Path(__file__).parent / "fixtures" / "bert_vits2_keys.json.gz").read_bytes())
)
BERT_VITS2 = "tests/fixtures/shared_configs/fishaudio__Bert-VITS2__configs_config.json"
MELOTTS = "tests/fixtures/shared_configs/myshell-ai__MeloTTS__melo_configs_config.json"
SBV2 = "tests/fixtures/unseen_configs/litagin02__Style-Bert-VITS2__configs_config.json"


def _config(case: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = json.loads((ROOT / case["config"]).read_text())
    config = copy.deepcopy(config)
    for path, value in case["changes"].items():
        section, key = path.split(".")
        config[section][key] = value
    return config


def _shapes(module: torch.nn.Module) -> dict[str, list[int]]:
    return {key: list(value.shape) for key, value in module.state_dict().items()}


def test_fixture_names_the_fork_commits_and_covers_the_configs() -> None:
    commits = FIXTURE["commits"]
    assert commits == {
        "bert-vits2": "fishaudio/Bert-VITS2@8f7fbd8c4770965225d258db548da27dc8dd934c",
        "melotts": "myshell-ai/MeloTTS@209145371cff8fc3bd60d7be902ea69cbdb7965a",
        "style-bert-vits2": "litagin02/Style-Bert-VITS2@66de777e06392c0f313600be03c43ef96658b244",
    }
    configs = {case["config"] for case in FIXTURE["cases"].values()}
    assert {BERT_VITS2, MELOTTS, SBV2} <= configs


@pytest.mark.parametrize("name", sorted(FIXTURE["cases"]))
def test_build_nets_has_the_forks_keys_and_shapes(name: str) -> None:
    case = FIXTURE["cases"][name]
    with torch.device("meta"):
        nets = build_nets(_config(case), dialect=case["fork"])
    assert sorted(nets) == sorted(case["nets"])
    for net_name, theirs in case["nets"].items():
        ours = _shapes(nets[net_name])
        missing = sorted(theirs.keys() - ours.keys())[:5]
        extra = sorted(ours.keys() - theirs.keys())[:5]
        assert not missing and not extra, f"{net_name}: missing {missing}, unexpected {extra}"
        bad = [k for k in ours if ours[k] != theirs[k]][:5]
        assert not bad, f"{net_name}: shape mismatch {bad}"


def test_detected_dialect_builds_the_family_generator() -> None:
    config = json.loads((ROOT / MELOTTS).read_text())
    with torch.device("meta"):
        nets = build_nets(config)
    assert isinstance(nets["G"], BertSynthesizer)
    assert nets["G"].enc_p.emb.num_embeddings == 219


def test_bert_vits2_without_speakers_is_refused_with_a_message() -> None:
    config = json.loads((ROOT / BERT_VITS2).read_text())
    config["data"]["n_speakers"] = 0
    config["model"]["use_spk_conditioned_encoder"] = False
    with pytest.raises(ValueError, match="data.n_speakers"):
        build_nets(config, dialect="bert-vits2")


def test_speaker_conditioned_encoder_needs_speakers() -> None:
    config = json.loads((ROOT / MELOTTS).read_text())
    config["data"]["n_speakers"] = 0
    with pytest.raises(ValueError, match="use_spk_conditioned_encoder"):
        build_nets(config, dialect="melotts")


@pytest.mark.parametrize("dialect", ["bert-vits2", "style-bert-vits2", "melotts"])
def test_train_refuses_the_bert_forks_naming_what_is_missing(dialect: str) -> None:
    from vitscfg.model.support import train_refusal

    reason = train_refusal(dialect)
    assert reason is not None
    assert "BERT" in reason and "vitscfg estimate" in reason and "run its" in reason


def test_the_vits_step_can_drive_the_generator_with_blank_inputs() -> None:
    """The estimator's proxy step calls G like VITS's: zero side inputs, ids folded in."""
    config = json.loads((ROOT / BERT_VITS2).read_text())
    with torch.device("meta"):
        g = build_nets(config, dialect="bert-vits2")["G"]
        assert isinstance(g, BertSynthesizer)
        text = torch.full((2, 9), 150, dtype=torch.long)
        ids, inputs = g.blank_inputs(text)
    assert [tuple(b.shape) for b in inputs.berts] == [(2, 1024, 9)] * 3
    assert inputs.style is None and tuple(inputs.tone.shape) == (2, 9)
