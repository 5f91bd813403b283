"""GPT-SoVITS s2 through the estimator and the trainer: its own step is registered (SSL
frames and phones, padded as its collate pads), the model is `exact`, its worst case is its
bucket sampler's 1900 frames, v3/v4 configs are refused with why, and `vitscfg train`
refuses the fork with what to run instead."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

import torch  # noqa: E402
from rich.console import Console  # noqa: E402

from tests.model.gpt_sovits_golden import case_config  # noqa: E402
from vitscfg.estimate.data import limit_lengths  # noqa: E402
from vitscfg.estimate.fake import step_peaks  # noqa: E402
from vitscfg.estimate.trace import StepConfig, StepPoint  # noqa: E402
from vitscfg.model.support import model_support, train_refusal  # noqa: E402
from vitscfg.train.fork_steps import FORK_STEPS, fork_step  # noqa: E402
from vitscfg.train.gpt_sovits_step import padded_frames  # noqa: E402
from vitscfg.train.run import run_train  # noqa: E402

pytestmark = pytest.mark.torch

UNSEEN = Path(__file__).resolve().parents[1] / "fixtures" / "unseen_configs"
S2 = UNSEEN / "RVC-Boss__GPT-SoVITS__GPT_SoVITS_configs_s2.json"
S2_PRO = UNSEEN / "RVC-Boss__GPT-SoVITS__GPT_SoVITS_configs_s2v2Pro.json"


def _load(path: Path) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(path.read_text())
    return config


def test_the_fork_step_is_registered_with_its_units_and_limit() -> None:
    step = fork_step("gpt-sovits")
    assert step is FORK_STEPS["gpt-sovits"]
    assert step.max_frames == 1900 and step.precision is None  # train.fp16_run decides
    assert (step.units.text, step.units.frames) == ("phone ids", "SSL-feature frames")
    assert limit_lengths(_load(S2), "gpt-sovits").spec_frames == 1900


@pytest.mark.parametrize(("frames", "padded"), [(1, 2), (16, 18), (17, 18), (1900, 1902)])
def test_frames_are_padded_to_the_next_even_count(frames: int, padded: int) -> None:
    assert padded_frames(frames) == padded


@pytest.mark.parametrize(("path", "sv"), [(S2, False), (S2_PRO, True)])
def test_the_trace_batch_is_the_collates(path: Path, sv: bool) -> None:
    config = _load(path)
    if sv:
        config["model"]["version"] = "v2Pro"
    step = FORK_STEPS["gpt-sovits"]
    batch = step.make_batch(config, 3, 17, torch.device("meta"), text_len=40)
    assert tuple(batch.ssl.shape) == (3, 768, 18)
    assert tuple(batch.spec.shape) == (3, 1025, 18) and tuple(batch.wave.shape) == (3, 1, 18 * 640)
    assert tuple(batch.spec_lengths.shape) == (3,)
    assert tuple(batch.text.shape) == (3, 40)
    assert (batch.sv_emb is not None) == sv
    assert len(step.batch_tensors(batch)) == (7 if sv else 6)


def test_support_is_exact_and_v3_is_refused() -> None:
    assert model_support(_load(S2), "gpt-sovits").level == "exact"
    assert model_support(_load(S2_PRO), "gpt-sovits").level == "exact"
    v3 = _load(S2)
    v3["model"]["version"] = "v3"
    support = model_support(v3, "gpt-sovits")
    assert support.level == "none" and "s2_train_v3_lora.py" in support.reason


def test_train_refuses_gpt_sovits_before_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vitscfg.train.loop as loop

    def boom(self: object) -> None:
        raise AssertionError("the trainer must not start on a GPT-SoVITS config")

    monkeypatch.setattr(loop.Trainer, "setup", boom)
    refusal = train_refusal("gpt-sovits")
    assert refusal is not None and "cnhubert" in refusal and "s2_train.py" in refusal
    buffer = io.StringIO()
    console = Console(file=buffer, width=400, highlight=False, soft_wrap=True)
    code = run_train(S2, run_dir=tmp_path / "run", console=console)
    out = buffer.getvalue()
    assert code == 1
    assert "refusing to train" in out and "cnhubert" in out and "2-get-hubert-wav32k.py" in out
    assert "Traceback" not in out and not (tmp_path / "run").exists()


@pytest.mark.slow  # a FakeTensor trace with the fork's full-size discriminator (~10 s)
def test_the_trace_runs_the_forks_step() -> None:
    # The training quantizer: its EMA update reads no data on fake tensors (the shipped
    # frozen one is traced by every `vitscfg estimate` of a shipped config).
    config = copy.deepcopy(case_config("v2-train-quantizer"))
    config["train"] = {**_load(S2)["train"], **config["train"]}
    step = StepConfig.of(config, "gpt-sovits")
    point = StepPoint(batch_size=2, segment_size=768, text_len=7, spec_frames=15)
    (peak,) = step_peaks(step, "fp32", [point], fake=True)
    # The state alone is G + D with gradients and two Adam moments: over 4 copies of D's
    # ~47 M floats.
    assert peak.start_bytes > 4 * 47e6 * 4
    assert peak.peak_bytes > peak.start_bytes
