"""GPT-SoVITS s2 checkpoint compatibility: `build_nets` gives the fork's own state_dict keys and
shapes, so its pretrained s2G / s2D files (and G_*.pth / D_*.pth of its trainer) load strictly.

The fixture ``fixtures/gpt_sovits_keys.json.gz`` lists every key and shape of the fork's s2
generator and discriminator for the vendored s2 configs and each version they train
(v1, v2 / v2Pro, v2ProPlus); scripts/fixtures_gpt_sovits.py generated it by building the
fork's own models from a checkout (commit recorded in the file).
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

from tests.model.golden import shape_diff, shapes  # noqa: E402
from vitscfg.model import build_nets  # noqa: E402
from vitscfg.model.gpt_sovits import GptSovitsSynthesizer, build_gpt_sovits_nets  # noqa: E402

pytestmark = pytest.mark.torch

CONFIGS = Path(__file__).resolve().parents[1] / "fixtures" / "unseen_configs"
FIXTURE = json.loads(
    gzip.decompress((Path(__file__).parent / "fixtures" / "gpt_sovits_keys.json.gz").read_bytes())
)
S2 = "RVC-Boss__GPT-SoVITS__GPT_SoVITS_configs_s2.json"


def _config(name: str, version: str | None = None) -> dict[str, Any]:
    config: dict[str, Any] = json.loads((CONFIGS / name).read_text())
    if version is not None:
        config = copy.deepcopy(config)
        config["model"]["version"] = version
    return config


def test_fixture_covers_the_vendored_s2_configs() -> None:
    assert FIXTURE["fork"] == "RVC-Boss/GPT-SoVITS"
    assert len(FIXTURE["commit"]) == 40
    assert sorted(FIXTURE["configs"]) == [
        f"{S2}:v1",
        f"{S2}:v2",
        "RVC-Boss__GPT-SoVITS__GPT_SoVITS_configs_s2v2Pro.json:v2Pro",
        "RVC-Boss__GPT-SoVITS__GPT_SoVITS_configs_s2v2Pro.json:v2ProPlus",
    ]


@pytest.mark.parametrize("case", sorted(FIXTURE["configs"]))
def test_keys_and_shapes_equal_the_fork(case: str) -> None:
    name, version = case.split(":")
    with torch.device("meta"):
        nets = build_gpt_sovits_nets(_config(name, version))
    assert set(nets) == {"G", "D"}
    for tag in ("G", "D"):
        ours, theirs = shapes(nets[tag]), FIXTURE["configs"][case][tag]
        assert ours == theirs, f"{tag}: {shape_diff(ours, theirs)}"


def test_build_nets_detects_the_fork_and_defaults_to_v2() -> None:
    config = _config(S2)  # as shipped: no model.version (the WebUI writes it)
    assert "version" not in config["model"]
    with torch.device("meta"):
        nets = build_nets(config)
    assert isinstance(nets["G"], GptSovitsSynthesizer)
    assert shapes(nets["G"]) == FIXTURE["configs"][f"{S2}:v2"]["G"]


def test_a_v2pro_sized_config_without_a_version_builds_v2pro() -> None:
    # The shipped s2v2Pro.json has no version either; v2 cannot be built from it (its timbre
    # vector is 1024 wide), v2Pro (and v2ProPlus, the same networks) can.
    name = "RVC-Boss__GPT-SoVITS__GPT_SoVITS_configs_s2v2Pro.json"
    config = _config(name)
    assert "version" not in config["model"] and "version" not in config
    with torch.device("meta"):
        nets = build_nets(config)
    assert shapes(nets["G"]) == FIXTURE["configs"][f"{name}:v2Pro"]["G"]
    assert shapes(nets["D"]) == FIXTURE["configs"][f"{name}:v2Pro"]["D"]


def test_a_fork_checkpoint_loads_strictly() -> None:
    # A state_dict with exactly the fork's keys and shapes (what its G_*.pth holds) loads
    # with strict=True into the generator build_nets makes.
    with torch.device("meta"):
        net_g = build_nets(_config(S2, "v2"))["G"]
    state = {k: torch.zeros(shape) for k, shape in FIXTURE["configs"][f"{S2}:v2"]["G"].items()}
    net_g.load_state_dict(state, strict=True, assign=True)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"version": "v3"}, "v3/v4 train another model"),
        ({"semantic_frame_rate": "12hz"}, "model.semantic_frame_rate"),
        ({"semantic_frame_rate": None}, "model.semantic_frame_rate is missing"),
        ({"version": "v2", "gin_channels": 256}, "model.gin_channels must be 512"),
    ],
)
def test_unbuildable_configs_say_why(override: dict[str, Any], message: str) -> None:
    config = _config(S2)
    config["model"].update(override)
    with pytest.raises(ValueError, match=message):
        build_gpt_sovits_nets(config)
