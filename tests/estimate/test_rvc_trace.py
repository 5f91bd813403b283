"""RVC through the estimator and the trainer: the trace runs RVC's own step on RVC's own
networks (vitscfg/train/fork_steps.py), and `vitscfg train` refuses RVC with what is missing."""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

import torch  # noqa: E402
from rich.console import Console  # noqa: E402

from tests.model.rvc_golden import TINY_RVC_CONFIG  # noqa: E402
from vitscfg.estimate.trace import StepConfig, StepPoint, trace_step_peaks  # noqa: E402
from vitscfg.train.run import run_train  # noqa: E402

pytestmark = pytest.mark.torch

SHARED = Path(__file__).resolve().parents[1] / "fixtures" / "shared_configs"
RVC_V2_48K = SHARED / "RVC-Project__Retrieval-based-Voice-Conversion-WebUI__configs_v2_48k.json"


def test_train_refuses_rvc_before_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vitscfg.train.loop as loop

    def boom(self: object) -> None:
        raise AssertionError("the trainer must not start on an RVC config")

    monkeypatch.setattr(loop.Trainer, "setup", boom)
    buffer = io.StringIO()
    console = Console(file=buffer, width=300, highlight=False, soft_wrap=True)
    code = run_train(RVC_V2_48K, run_dir=tmp_path / "run", console=console)
    out = buffer.getvalue()
    assert code == 1
    assert "refusing to train" in out and "HuBERT/ContentVec" in out and "F0" in out
    assert "Traceback" not in out and not (tmp_path / "run").exists()


@pytest.mark.slow  # a real CPU step with RVC's full-size discriminator (71 M parameters)
def test_the_trace_runs_rvcs_step() -> None:
    shared = json.loads(RVC_V2_48K.read_text())
    config: dict[str, Any] = copy.deepcopy(TINY_RVC_CONFIG)
    config["train"] = {**shared["train"], **config["train"]}
    step = StepConfig.of(config, "rvc")
    point = StepPoint(batch_size=2, segment_size=128, text_len=1, spec_frames=12)
    (peak,) = trace_step_peaks(
        step, "fp32", [point], contextlib.nullcontext, torch.device("cpu"), backend="real"
    )
    # The state alone is G + D with gradients and two Adam moments: 4 copies of ~75 M floats.
    assert peak.start_bytes > 4 * 70e6 * 4
    assert peak.peak_bytes > peak.start_bytes
