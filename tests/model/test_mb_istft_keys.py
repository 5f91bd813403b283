"""MB-iSTFT checkpoint compatibility: `build_nets` gives the forks' own state_dict keys and shapes.

``fixtures/mb_istft_keys.json.gz`` lists every key and shape of the forks' networks for the
five shared MB-iSTFT-VITS configs and the five configs MB-iSTFT-VITS2 ships (vendored in
``fixtures/mb_istft_vits2/``); scripts/fixtures_mb_istft.py generated it by building the forks'
own models from checkouts (commits recorded in the file). The nets are built on the meta
device: only keys and shapes are compared.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

import torch  # noqa: E402

from tests.model.mb_istft_golden import V2_VARIANTS, variant_config  # noqa: E402
from vitscfg.config.dialect import detect_dialect  # noqa: E402
from vitscfg.model import build_nets  # noqa: E402
from vitscfg.model.istft_decoder import (  # noqa: E402
    IstftDecoder,
    MultiBandIstftDecoder,
    MultiStreamIstftDecoder,
)

pytestmark = pytest.mark.torch

HERE = Path(__file__).resolve().parent
FOLDERS = {
    "mb-istft-vits": HERE.parent / "fixtures" / "shared_configs",
    "mb-istft-vits2": HERE / "fixtures" / "mb_istft_vits2",
}
FIXTURE = json.loads(gzip.decompress((HERE / "fixtures" / "mb_istft_keys.json.gz").read_bytes()))
CASES = [(d, name) for d, configs in sorted(FIXTURE["configs"].items()) for name in sorted(configs)]
DECODER_TYPES = {"ms": MultiStreamIstftDecoder, "mb": MultiBandIstftDecoder, "istft": IstftDecoder}


def _config(dialect: str, name: str) -> dict[str, Any]:
    config: dict[str, Any] = json.loads((FOLDERS[dialect] / name).read_text())
    return config


def test_the_fixture_names_each_fork_commit() -> None:
    forks = FIXTURE["forks"]
    assert forks["mb-istft-vits"]["commit"].startswith("df2f8d3")
    assert forks["mb-istft-vits2"]["commit"].startswith("b1a49d9")
    assert len(CASES) == 10


@pytest.mark.parametrize(("dialect", "name"), CASES, ids=[n[-32:] for _, n in CASES])
def test_build_nets_has_the_forks_keys_and_shapes(dialect: str, name: str) -> None:
    config = _config(dialect, name)
    guess = detect_dialect(config)
    assert guess is not None and guess.name == dialect
    theirs = FIXTURE["configs"][dialect][name]
    with torch.device("meta"):
        nets = build_nets(config)  # the dialect as `check` detects it
    assert sorted(nets) == sorted(theirs)
    for net_name, expected in theirs.items():
        ours = {k: list(v.shape) for k, v in nets[net_name].state_dict().items()}
        assert ours == expected, (
            net_name,
            sorted(expected.keys() - ours.keys())[:5],
            sorted(ours.keys() - expected.keys())[:5],
        )
    kind = next(k for k in DECODER_TYPES if f"{k}_istft" in name or k == "istft")
    assert type(nets["G"].dec) is DECODER_TYPES[kind]


VARIANTS = FIXTURE["variants"]["mb-istft-vits2"]


def test_the_fixture_has_every_variant_with_its_overrides() -> None:
    assert sorted(VARIANTS) == sorted(V2_VARIANTS)
    for name, (base, overrides) in V2_VARIANTS.items():
        assert (VARIANTS[name]["base"], VARIANTS[name]["overrides"]) == (base, overrides)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_multi_speaker_variants_have_the_forks_keys_and_shapes(name: str) -> None:
    """train_ms.py's networks (speaker embedding, conditioned posterior/flow/duration
    predictor and, with ``use_spk_conditioned_encoder``, text encoder) and the flow switches
    (see vitscfg.model.mb_istft: one builds no flow layer at all)."""
    variant = VARIANTS[name]
    config = variant_config(_config("mb-istft-vits2", variant["base"]), variant["overrides"])
    with torch.device("meta"):
        nets = build_nets(config, dialect="mb-istft-vits2")
    assert sorted(nets) == sorted(variant["nets"])
    for net_name, expected in variant["nets"].items():
        ours = {k: list(v.shape) for k, v in nets[net_name].state_dict().items()}
        assert ours == expected, (net_name, sorted(expected.keys() ^ ours.keys())[:5])
    if "speakers" in name:
        assert "emb_g.weight" in variant["nets"]["G"]
    if name.endswith("base+post_residual"):
        assert not any(k.startswith("flow.") for k in variant["nets"]["G"])


def test_a_config_without_a_decoder_switch_is_a_clear_error() -> None:
    config = _config("mb-istft-vits", "MasayaKawamura__MB-iSTFT-VITS__configs_ljs_istft_vits.json")
    config["model"]["istft_vits"] = False
    with pytest.raises(ValueError, match="builds no decoder"):
        build_nets(config, dialect="mb-istft-vits")


def test_a_multiband_config_without_subbands_is_a_clear_error() -> None:
    config = _config(
        "mb-istft-vits", "MasayaKawamura__MB-iSTFT-VITS__configs_ljs_mb_istft_vits.json"
    )
    config["model"]["subbands"] = False
    with pytest.raises(ValueError, match="model.subbands"):
        build_nets(config, dialect="mb-istft-vits")
