"""VITS2 checkpoints load strictly: `build_nets` gives p0p4k/vits2_pytorch's own state_dict keys
and shapes for each shared VITS2 config.

The fixture was written by scripts/fixtures_vits2.py from the fork's own code (the commit is
recorded in it); this test needs no fork.
"""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

import torch  # noqa: E402

from vitscfg.model import build_nets  # noqa: E402
from vitscfg.model.vits2 import vits2_hparams  # noqa: E402

pytestmark = pytest.mark.torch

FIXTURE = Path(__file__).parent / "fixtures" / "vits2_keys.json.gz"
CONFIGS = Path(__file__).resolve().parents[1] / "fixtures" / "shared_configs"
EXPECTED = json.loads(gzip.decompress(FIXTURE.read_bytes()))
NAMES = sorted(EXPECTED["configs"])


def test_fixture_covers_every_shared_vits2_config() -> None:
    assert EXPECTED["fork"] == "p0p4k/vits2_pytorch"
    assert EXPECTED["commit"].startswith("1f4f379")
    assert sorted(p.name for p in CONFIGS.glob("p0p4k__vits2_pytorch__*.json")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_keys_and_shapes_equal_the_forks(name: str) -> None:
    with torch.device("meta"):
        nets = build_nets(CONFIGS / name)
    expected: dict[str, dict[str, list[int]]] = EXPECTED["configs"][name]
    assert sorted(nets) == sorted(expected)
    for net_name, module in nets.items():
        got = {k: list(v.shape) for k, v in module.state_dict().items()}
        want = expected[net_name]
        missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
        assert not missing and not extra, (net_name, missing[:5], extra[:5])
        wrong = {k: (want[k], got[k]) for k in want if want[k] != got[k]}
        assert not wrong, (net_name, wrong)


def test_parameter_counts() -> None:
    # ljs_base: G + D + DurDisc of the fork's own model.
    name = "p0p4k__vits2_pytorch__configs_vits2_ljs_base.json"
    total = sum(math.prod(s) for net in EXPECTED["configs"][name].values() for s in net.values())
    with torch.device("meta"):
        nets = build_nets(CONFIGS / name)
    assert sum(p.numel() for n in nets.values() for p in n.parameters()) == total
    assert total == 87_249_581


def _config(**model: Any) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(
        (CONFIGS / "p0p4k__vits2_pytorch__configs_vits2_vctk_base.json").read_text()
    )
    config["model"].update(model)
    return config


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ({"transformer_flow_type": "conv"}, "transformer_flow_type 'conv' is not one of"),
        ({"duration_discriminator_type": "dur_disc_3"}, "'dur_disc_3' is not one of"),
    ],
)
def test_unknown_variant_is_a_clear_error(model: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        vits2_hparams(_config(**model))


def test_speaker_conditioned_encoder_needs_speakers() -> None:
    config = _config()
    config["data"]["n_speakers"] = 0
    with pytest.raises(ValueError, match="needs a multi-speaker model"):
        vits2_hparams(config)


def test_defaults_follow_the_fork() -> None:
    config = _config()
    assert "duration_discriminator_type" not in config["model"]
    hp = vits2_hparams(config)
    assert hp.vits2 is not None
    assert hp.vits2.duration_discriminator_type == "dur_disc_1"
    assert hp.n_vocab == 178
    assert hp.spec_channels == 80  # mel posterior encoder
    assert hp.vits2.mas_noise_scale(0) == 0.01
    assert hp.vits2.mas_noise_scale(2_500) == pytest.approx(0.005)
    assert hp.vits2.mas_noise_scale(10_000) == 0.0  # clamped at zero
