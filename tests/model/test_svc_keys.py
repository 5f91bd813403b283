"""so-vits-svc checkpoint compatibility: `build_nets` gives so-vits-svc's own state_dict keys
and shapes.

The fixture ``fixtures/svc_keys.json.gz`` lists every key and shape of so-vits-svc's generator
and discriminator for the four shared so-vits-svc configs (4.1 template and tiny template,
4.0 template, innnky's 4.0 config); scripts/fixtures_svc.py generated it by building the
fork's own models from checkouts (commits recorded in the file).
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

from tests.model.golden import SHARED_CONFIGS, shape_diff, shapes, shared_config  # noqa: E402
from tests.model.svc_golden import case_config  # noqa: E402
from vitscfg.model import build_nets  # noqa: E402
from vitscfg.model.svc import SvcHParams, SvcSynthesizer, build_svc_nets  # noqa: E402
from vitscfg.model.svc_nsf import SvcNsfGenerator  # noqa: E402

pytestmark = pytest.mark.torch


FIXTURE = json.loads(
    gzip.decompress((Path(__file__).parent / "fixtures" / "svc_keys.json.gz").read_bytes())
)
TEMPLATE_41 = "svc-develop-team__so-vits-svc__configs_template_config_template.json"


def test_fixture_covers_the_shared_configs() -> None:
    assert FIXTURE["fork"] == "svc-develop-team/so-vits-svc"
    assert sorted(FIXTURE["commits"]) == ["fork40", "fork41", "innnky40"]
    assert all(len(c) == 40 for c in FIXTURE["commits"].values())
    shared = sorted(
        p.name
        for pattern in ("svc-develop-team__*.json", "innnky__*.json")
        for p in SHARED_CONFIGS.glob(pattern)
    )
    assert sorted(FIXTURE["configs"]) == shared and len(shared) == 4


@pytest.mark.parametrize("name", sorted(FIXTURE["configs"]))
def test_keys_and_shapes_equal_so_vits_svc(name: str) -> None:
    expected = FIXTURE["configs"][name]
    with torch.device("meta"):
        nets = build_nets(shared_config(name))  # the dialect is detected: so-vits-svc
    assert set(nets) == {"G", "D"}
    assert isinstance(nets["G"], SvcSynthesizer)
    for tag in ("G", "D"):
        ours = shapes(nets[tag])
        assert ours == expected[tag], f"{tag}: {shape_diff(ours, expected[tag])}"


def _tiny_g(**change: Any) -> SvcSynthesizer:
    """The generator of the parity tests' tiny 4.1 config with ``change`` in its model keys
    (meta tensors: structure only, no init cost)."""
    config = case_config("wavenet-flow-vol")
    config["model"].update(change)
    with torch.device("meta"):
        return SvcSynthesizer(SvcHParams.from_config(config))


def test_decoder_is_its_own_not_rvcs() -> None:
    dec = _tiny_g().dec
    assert isinstance(dec, SvcNsfGenerator)
    assert dec.m_source.l_linear.weight.shape == (1, 9)  # nine harmonics; RVC has one


@pytest.mark.parametrize(
    ("change", "key", "shape"),
    [
        # n_flow_layer: WaveNet layers per coupling of the WaveNet flow (always 4 couplings) ...
        ({"n_flow_layer": 6}, "flow.flows.6.enc.in_layers.5.weight_v", [32, 16, 5]),
        # ... but the number of couplings of the transformer flow.
        (
            {"use_transformer_flow": True, "n_flow_layer": 5},
            "flow.flows.8.enc.self_attn_layers.1.conv_q.weight",
            [16, 16, 1],
        ),
        ({"vol_embedding": True}, "emb_vol.weight", [16, 1]),
        ({"ssl_dim": 256, "speech_encoder": "vec256l9"}, "pre.weight", [16, 256, 5]),
        ({"use_depthwise_conv": True}, "enc_q.enc.in_layers.0.depth_conv.weight_v", [16, 1, 5]),
        ({"flow_share_parameter": True}, "flow.wn.in_layers.0.weight_v", [32, 16, 5]),
    ],
)
def test_options_build_their_parts(change: dict[str, Any], key: str, shape: list[int]) -> None:
    assert list(_tiny_g(**change).state_dict()[key].shape) == shape


def test_shared_flow_is_one_network() -> None:
    flow = _tiny_g(flow_share_parameter=True).flow
    assert all(flow.flows[i].enc is flow.wn for i in (0, 2, 4, 6))


def test_no_f0_predictor_when_disabled() -> None:
    state = _tiny_g(use_automatic_f0_prediction=False).state_dict()
    assert not any(k.startswith("f0_decoder.") for k in state)


def test_a_config_without_4_1_keys_builds_4_0() -> None:
    assert SvcHParams.from_config(case_config("4.0")).version == "4.0"
    assert SvcHParams.from_config(case_config("wavenet-flow-vol")).version == "4.1"


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"vocoder_name": "nsf-snake-hifigan"}, "vocoder_name 'nsf-snake-hifigan' is not built"),
        ({"ssl_dim": None}, "model.ssl_dim"),
        ({"use_depthwise_conv": "yes"}, "use_depthwise_conv must be a bool"),
    ],
)
def test_bad_model_keys_are_refused(change: dict[str, Any], match: str) -> None:
    config = copy.deepcopy(shared_config(TEMPLATE_41))
    config["model"].update(change)
    with pytest.raises(ValueError, match=match):
        build_svc_nets(config)


def test_pretrained_checkpoint_loads_strictly() -> None:
    """A state dict shaped like so-vits-svc 4.1's pretrained G_0/D_0 loads with strict=True
    (meta tensors: key and shape checks without 99 M parameters of memory)."""
    with torch.device("meta"):
        nets = build_svc_nets(shared_config(TEMPLATE_41))
    for tag in ("G", "D"):
        shapes = FIXTURE["configs"][TEMPLATE_41][tag]
        state = {k: torch.empty(shape, device="meta") for k, shape in shapes.items()}
        nets[tag].load_state_dict(state, strict=True, assign=True)
        key, shape = next(iter(shapes.items()))
        bad = {**state, key: torch.empty([*shape[:-1], shape[-1] + 1], device="meta")}
        with pytest.raises(RuntimeError, match="size mismatch"):
            nets[tag].load_state_dict(bad, strict=True)
