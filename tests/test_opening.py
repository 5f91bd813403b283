"""The one opening of a config (vitscfg/opening.py): its value, and each refusal with its
exit code, as `train`, `estimate`, `synth` and `preprocess` receive them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vitscfg.config.schema.train import VitscfgTrain, VitsTrain
from vitscfg.opening import Refused, open_config

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "examples" / "tiny" / "config.json"
SHARED = ROOT / "tests" / "fixtures" / "shared_configs"


def test_a_good_config_opens_typed_with_the_schema_defaults(tmp_path: Path) -> None:
    config = json.loads(TINY.read_text(encoding="utf-8"))
    del config["train"]["num_workers"]  # the schema's default fills it in
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    opened = open_config(path, check_data=False, support=False)
    assert opened.dialect == "vitscfg" and isinstance(opened.train, VitscfgTrain)
    assert opened.train.num_workers == VitscfgTrain.model_fields["num_workers"].default
    assert opened.data["train"]["batch_size"] == opened.train.batch_size == 4
    assert opened.support is None and opened.check.errors == 0


def test_the_fork_reading_and_the_trainer_reading() -> None:
    vits2 = SHARED / "p0p4k__vits2_pytorch__configs_vits2_ljs_base.json"
    opened = open_config(vits2, check_data=False)
    assert isinstance(opened.train, VitsTrain) and not isinstance(opened.train, VitscfgTrain)
    # VITS2 is traced with its own networks and step (vitscfg/train/fork_steps.py).
    assert opened.support is not None and opened.support.level == "exact"
    # vitscfg's trainer reads a reference config's missing use_gpu as CUDA.
    assert open_config(vits2, check_data=False, trainer=True).train.use_gpu is True


def test_refusals_say_which_step_and_the_exit_code(tmp_path: Path) -> None:
    with pytest.raises(Refused) as unreadable:
        open_config(tmp_path / "missing.json")
    assert (unreadable.value.stage, unreadable.value.exit_code) == ("unreadable", 2)

    bad = json.loads(TINY.read_text(encoding="utf-8"))
    bad["train"]["batch_size"] = "16"  # a string: the reference trainer would crash on it
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(Refused) as failing:
        open_config(path, check_data=False)
    assert (failing.value.stage, failing.value.exit_code) == ("check", 1)
    assert failing.value.check is not None and failing.value.check.errors >= 1

    piper = SHARED / "rhasspy__piper__etc_test_voice.onnx.json"
    with pytest.raises(Refused) as unbuildable:
        open_config(piper, check_data=False)
    assert (unbuildable.value.stage, unbuildable.value.exit_code) == ("support", 1)
    assert "inference config" in unbuildable.value.message


UNSEEN = ROOT / "tests" / "fixtures" / "unseen_configs"


@pytest.mark.parametrize(
    ("name", "estimate_level", "says"),
    [
        # A proxy sizes memory but never trains: it would train another architecture.
        (
            "voicepaw__so-vits-svc-fork__src_so_vits_svc_fork_preprocessing_config_templates_"
            "so-vits-svc-4.0v1.json",
            "proxy",
            "svc train",
        ),
        ("PlayVoice__vits_chinese__configs_bert_vits.json", "proxy", "vits_prepare.py"),
        # Networks vitscfg does not build: refused by estimate and train alike.
        ("daniilrobnikov__vits2__datasets_ljs_base_config.yaml", None, "daniilrobnikov"),
        ("IAHispano__Applio__rvc_configs_40000.json", None, "RVC config"),
    ],
)
def test_train_never_trains_another_architecture(
    name: str, estimate_level: str | None, says: str
) -> None:
    path = UNSEEN / name
    if estimate_level is None:
        with pytest.raises(Refused) as refused:
            open_config(path, check_data=False)
        assert refused.value.stage == "support" and says in refused.value.message
    else:
        opened = open_config(path, check_data=False)
        assert opened.support is not None and opened.support.level == estimate_level
    with pytest.raises(Refused) as train:
        open_config(path, check_data=False, trainer=True)
    assert (train.value.stage, train.value.exit_code) == ("support", 1)
    assert says in train.value.message


def test_every_proxy_dialect_says_what_to_run_instead() -> None:
    """`train` refuses every proxy; each has its own message naming the fork's steps (the
    opening's generic proxy refusal is the guard for a proxy added without one)."""
    from vitscfg.model.support import _EXTERNAL_INPUTS, _PROXY_GAPS

    assert set(_PROXY_GAPS) <= set(_EXTERNAL_INPUTS)
