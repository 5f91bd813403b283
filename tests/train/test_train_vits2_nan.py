"""The NaN guard of a VITS2 run (`vitscfg train`, vitscfg/train/vits2_run.py): non-finite
steps are skipped and named, and the rollback after ``nan_rollback_steps`` of them brings
back every network the run trains, the duration discriminator (DUR_<step>.pth: weights
and AdamW state) included, not only G and D."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.slow]

import torch  # noqa: E402
from _trainkit import lines, nan_mel_from_second_call, recording_console  # noqa: E402
from _vits2kit import make_vits2_config  # noqa: E402

import vitscfg.train.vits2_run as vits2_run  # noqa: E402
from vitscfg.train.run import run_train  # noqa: E402


def test_rollback_restores_the_duration_discriminator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_vits2_config(
        tmp_path / "cfg",
        train_lines=lines("train.txt")[:4],
        train={"nan_rollback_steps": 1, "epochs": 100},
    )
    reloads: list[dict[str, Any]] = []
    real_load = vits2_run.load_extras

    def spy(folder: Path, step: int, parts: Any) -> list[str]:
        net, optimizer = parts.nets["DurDisc"], parts.optimizers["DurDisc"]
        before = {k: v.clone() for k, v in net.state_dict().items()}
        adam_before = len(optimizer.state)
        notes = real_load(folder, step, parts)
        after = {k: v.clone() for k, v in net.state_dict().items()}
        reloads.append(
            {
                "step": step,
                "before": before,
                "after": after,
                "adam": (adam_before, len(optimizer.state)),
            }
        )
        return notes

    nan_mel_from_second_call(monkeypatch)
    monkeypatch.setattr(vits2_run, "load_extras", spy)
    console, buffer = recording_console()
    run = tmp_path / "run"
    code = run_train(config, run_dir=run, max_steps=50, cpu=True, console=console)
    out = buffer.getvalue()

    assert code == 1, out
    assert out.count("non-finite g/mel") == 2, out  # one before, one after the rollback
    assert "train.txt:" in out and "wavs/tiny_00" in out  # the batch's utterances named
    assert "rolled back to G_0.pth" in out
    assert "even after a rollback. Likely causes" in out
    assert "not rolled back" not in out  # DUR_0.pth was there

    assert [r["step"] for r in reloads] == [0]  # the rollback (a fresh run resumes nothing)
    saved = torch.load(run / "DUR_0.pth", map_location="cpu", weights_only=True)["model"]
    (rollback,) = reloads
    # Step 1 had moved the duration discriminator; the rollback brought back DUR_0's.
    assert any(not torch.equal(rollback["before"][k], saved[k]) for k in saved)
    assert all(torch.equal(rollback["after"][k], saved[k]) for k in saved)
    assert rollback["adam"][0] > 0 and rollback["adam"][1] == 0  # AdamW state of step 0
