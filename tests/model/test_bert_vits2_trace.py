"""The Bert-VITS2 family through the estimator and the trainer: the fake trace of the
family's own step (train/bert_step.py: its networks, the frozen WavLM built in the step)
runs on the shared config without a traceback, and `vitscfg train` refuses them, naming the
BERT features it cannot make."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

pytest.importorskip("torch")

from rich.console import Console  # noqa: E402

from vitscfg.estimate.fake import step_peaks  # noqa: E402
from vitscfg.estimate.trace import StepConfig, StepPoint  # noqa: E402
from vitscfg.train.run import run_train  # noqa: E402

pytestmark = pytest.mark.torch

SHARED = Path(__file__).resolve().parents[1] / "fixtures" / "shared_configs"
BERT_VITS2 = SHARED / "fishaudio__Bert-VITS2__configs_config.json"


@pytest.mark.slow  # full-size networks and their AdamW state under FakeTensorMode (~1 min)
def test_the_fake_trace_runs_on_the_forks_generator() -> None:
    step = StepConfig.of(json.loads(BERT_VITS2.read_text()), "bert-vits2")
    point = StepPoint(batch_size=1, segment_size=4096, text_len=20, spec_frames=40)
    (peak,) = step_peaks(step, "fp32", [point])
    # The state holds G (61 M parameters) + D (47 M) + the duration and WavLM
    # discriminators (2.4 M) with gradients and two AdamW moments.
    assert peak.start_bytes > 4 * 108e6 * 4
    # The frozen WavLM (94.4 M parameters, no gradients) is built inside the step.
    assert peak.peak_bytes > peak.start_bytes + 94e6 * 4


def test_train_refuses_bert_vits2_before_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vitscfg.train.loop as loop

    def boom(self: object) -> None:
        raise AssertionError("the trainer must not start on a Bert-VITS2 config")

    monkeypatch.setattr(loop.Trainer, "setup", boom)
    buffer = io.StringIO()
    console = Console(file=buffer, width=300, highlight=False, soft_wrap=True)
    code = run_train(BERT_VITS2, run_dir=tmp_path / "run", console=console)
    out = buffer.getvalue()
    assert code == 1, out
    assert "refusing to train" in out and "BERT" in out and "bert_gen.py" in out
    assert "Traceback" not in out and not (tmp_path / "run").exists()
