"""VC105 and vitscfg's own keys in a fork's config: `model.discriminator_width` in a VITS2
config changes the D that `vitscfg train` and `vitscfg estimate` build, so `check` says that
(info) instead of warning that it has no effect; in a fork whose networks ignore it (RVC)
the warning stays. The tables behind it are in vitscfg/config/own_keys.py; the torch
tests tie them to the builders and to `vitscfg train`'s refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vitscfg.config.own_keys import MODEL_KEYS, TRAINED_DIALECTS, train_keys
from vitscfg.config.schema.train import VitscfgTrain, VitsTrain
from vitscfg.diagnostic import Severity
from vitscfg.lint.run import CheckOptions, check_paths

SHARED = Path(__file__).resolve().parents[1] / "fixtures" / "shared_configs"
VITS2 = SHARED / "p0p4k__vits2_pytorch__configs_vits2_ljs_base.json"
RVC = SHARED / "RVC-Project__Retrieval-based-Voice-Conversion-WebUI__configs_v2_48k.json"


def _with_width(source: Path, folder: Path) -> Path:
    config = json.loads(source.read_text(encoding="utf-8"))
    config["model"]["discriminator_width"] = 0.25
    path = folder / source.name
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


def _vc105(path: Path) -> list[tuple[Severity, str]]:
    (result,) = check_paths([path], CheckOptions(check_data=False)).files
    return [
        (d.severity, d.message)
        for d in result.diagnostics
        if d.code == "VC105" and "discriminator_width" in d.message
    ]


def test_vits2_says_vitscfg_reads_it(tmp_path: Path) -> None:
    ((severity, message),) = _vc105(_with_width(VITS2, tmp_path))
    assert severity is Severity.INFO
    assert "vitscfg's own key" in message and "vitscfg train" in message
    assert "no effect" not in message


def test_rvc_still_warns(tmp_path: Path) -> None:
    assert "rvc" not in MODEL_KEYS["model.discriminator_width"]
    ((severity, message),) = _vc105(_with_width(RVC, tmp_path))
    assert severity is Severity.WARNING and "no effect" in message


@pytest.mark.torch
def test_the_vits2_builder_reads_the_width() -> None:
    pytest.importorskip("torch")
    from vitscfg.model import build_nets

    examples = Path(__file__).resolve().parents[2] / "examples"
    sizes = []
    for width in (0.25, 0.0625):
        config = json.loads((examples / "tiny_vits2" / "config.json").read_text(encoding="utf-8"))
        config["model"]["discriminator_width"] = width
        net_d = build_nets(config, "vits2")["D"]
        sizes.append(sum(p.numel() for p in net_d.parameters()))
    assert sizes[1] < sizes[0] / 4, sizes


def _train_findings(source: Path, folder: Path) -> dict[str, Severity]:
    config = json.loads(source.read_text(encoding="utf-8"))
    config["train"].update(grad_accum_steps=2, bf16_run=False, keep_ckpts=3, use_gpu=True)
    path = folder / source.name
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    (result,) = check_paths([path], CheckOptions(check_data=False)).files
    return {
        d.message.split("`")[1]: d.severity
        for d in result.diagnostics
        if d.code == "VC105" and d.message.startswith("`train.")
    }


def test_vitscfg_train_keys_in_a_trained_fork_are_info(tmp_path: Path) -> None:
    """`vitscfg train` reads grad_accum_steps, use_gpu & co. in a VITS2 config: info, not
    'no effect', and the config stays VITS2 (use_gpu was vitscfg's own fingerprint: it made
    `vitscfg train` build plain VITS); in RVC, which vitscfg does not train, they warn."""
    found = _train_findings(VITS2, tmp_path)
    ours = [f"train.{k}" for k in ("grad_accum_steps", "bf16_run", "keep_ckpts", "use_gpu")]
    assert {found[k] for k in ours} == {Severity.INFO}
    (result,) = check_paths([tmp_path / VITS2.name], CheckOptions(check_data=False)).files
    assert result.dialect == "vits2"
    rvc = _train_findings(RVC, tmp_path)
    assert {rvc[k] for k in ("train.grad_accum_steps", "train.use_gpu")} == {Severity.WARNING}


@pytest.mark.torch
def test_trained_dialects_are_those_vitscfg_train_accepts() -> None:
    """The lint table (torch-free) and the trainer's refusals (vitscfg.model.support) agree:
    a dialect is in TRAINED_DIALECTS exactly when `train` neither refuses its
    inputs nor lacks its networks or step."""
    pytest.importorskip("torch")
    from vitscfg.config.dialect import DIALECTS
    from vitscfg.model.support import _CANNOT_BUILD, _PROXY_GAPS, train_refusal

    trained = {
        d
        for d in DIALECTS
        if d != "vitscfg"
        and train_refusal(d) is None
        and d not in _CANNOT_BUILD
        and d not in _PROXY_GAPS
    }
    assert trained == TRAINED_DIALECTS


def test_train_keys_are_the_schemas_vitscfg_only_keys() -> None:
    """The compiled tables (what `check` reads) agree with the pydantic schemas."""
    ours = set(VitscfgTrain.model_fields) - set(VitsTrain.model_fields)
    assert train_keys() == {f"train.{k}" for k in ours} and "train.use_gpu" in train_keys()
