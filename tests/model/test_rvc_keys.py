"""RVC checkpoint compatibility: `build_nets` gives RVC's own state_dict keys and shapes.

The fixture ``fixtures/rvc_keys.json.gz`` lists every key and shape of RVC's generator (with
and without f0) and discriminator for the five shared RVC configs; scripts/fixtures_rvc.py
generated it by building RVC's own models from a checkout (commit recorded in the file).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

import torch  # noqa: E402

from tests.model.golden import SHARED_CONFIGS, shape_diff, shapes, shared_config  # noqa: E402
from vitscfg.model import build_nets  # noqa: E402
from vitscfg.model.rvc import RvcSynthesizer, RvcVariant, build_rvc_nets  # noqa: E402

pytestmark = pytest.mark.torch


FIXTURE = json.loads(
    gzip.decompress((Path(__file__).parent / "fixtures" / "rvc_keys.json.gz").read_bytes())
)
CASES = [
    (name, f0) for name in sorted(FIXTURE["configs"]) for f0 in (True, False)
]  # 5 configs x (f0, no f0)


def test_fixture_covers_the_shared_configs() -> None:
    assert FIXTURE["fork"] == "RVC-Project/Retrieval-based-Voice-Conversion-WebUI"
    assert len(FIXTURE["commit"]) == 40
    shared = sorted(p.name for p in SHARED_CONFIGS.glob("RVC-Project__*.json"))
    assert sorted(FIXTURE["configs"]) == shared and len(shared) == 5


@pytest.mark.parametrize(("name", "f0"), CASES)
def test_keys_and_shapes_equal_rvc(name: str, f0: bool) -> None:
    expected = FIXTURE["configs"][name]
    variant = RvcVariant(expected["version"], f0)
    with torch.device("meta"):
        nets = build_rvc_nets(shared_config(name), variant)
    assert set(nets) == {"G", "D"}
    for tag, theirs in (("G", expected["G_f0" if f0 else "G_nof0"]), ("D", expected["D"])):
        ours = shapes(nets[tag])
        assert ours == theirs, f"{tag}: {shape_diff(ours, theirs)}"


def test_build_nets_reads_the_variant_from_the_config() -> None:
    name = "RVC-Project__Retrieval-based-Voice-Conversion-WebUI__configs_v1_40k.json"
    config = {**shared_config(name), "version": "v1", "if_f0": 0}
    with torch.device("meta"):
        nets = build_nets(config)
    assert isinstance(nets["G"], RvcSynthesizer)
    assert shapes(nets["G"]) == FIXTURE["configs"][name]["G_nof0"]
    assert shapes(nets["D"]) == FIXTURE["configs"][name]["D"]
    # Without the keys: the WebUI's default, v2 with f0 (768-d features, pitch embedding).
    with torch.device("meta"):
        default = build_nets(shared_config(name))["G"].state_dict()
    assert default["enc_p.emb_phone.weight"].shape == (192, 768)
    assert "enc_p.emb_pitch.weight" in default


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ({"version": "v3"}, '"version" must be one of'),
        ({"version": ["v2"]}, '"version" must be one of'),
        ({"if_f0": 2}, '"if_f0" must be'),
        ({"if_f0": "1"}, '"if_f0" must be'),
    ],
)
def test_bad_variant_keys_are_refused(extra: dict[str, Any], match: str) -> None:
    config = {**shared_config(sorted(FIXTURE["configs"])[0]), **extra}
    with pytest.raises(ValueError, match=match):
        build_nets(config)


def test_pretrained_checkpoint_loads_strictly() -> None:
    """A state dict shaped like RVC's pretrained f0G48k/f0D48k (v2) loads with strict=True
    (meta tensors: key and shape checks without 109 M parameters of memory)."""
    name = "RVC-Project__Retrieval-based-Voice-Conversion-WebUI__configs_v2_48k.json"
    with torch.device("meta"):
        nets = build_rvc_nets(shared_config(name), RvcVariant("v2", True))
    for tag, key in (("G", "G_f0"), ("D", "D")):
        listed = FIXTURE["configs"][name][key]
        state = {k: torch.empty(shape, device="meta") for k, shape in listed.items()}
        nets[tag].load_state_dict(state, strict=True, assign=True)
        bad = {k: [*shape[:-1], shape[-1] + 1] for k, shape in list(listed.items())[:1]}
        with pytest.raises(RuntimeError, match="size mismatch"):
            nets[tag].load_state_dict(
                {**state, **{k: torch.empty(s, device="meta") for k, s in bad.items()}},
                strict=True,
            )
