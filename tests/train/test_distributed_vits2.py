"""VITS2 under DDP on the CPU (gloo, 2 ranks through torchrun), as `vitscfg train` runs it:
G, D and the duration discriminator are all wrapped, so all three stay identical on both
ranks after steps on different data; G's ``pre_conv`` flow and ``dur_disc_1`` have
parameters their forward never uses, which DDP must be told about (find_unused_parameters)
or the second step fails waiting for their gradients. The worker also accumulates two
micro-batches per step (D and the duration discriminator frozen in G's backward) and puts
a NaN in one rank's batch: both ranks skip that step together."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.slow]

from _vits2kit import make_vits2_config  # noqa: E402
from test_distributed import REPO, _child_env, _torchrun  # noqa: E402

WORKER = Path(__file__).with_name("_ddp_vits2_worker.py")


def _run_worker(tmp_path: Path, *args: str) -> list[dict[str, Any]]:
    proc = subprocess.run(
        _torchrun(str(WORKER), str(tmp_path), *args),
        cwd=REPO,
        env=_child_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]


def test_ddp_vits2_ranks_agree_with_accumulation_and_a_nan(tmp_path: Path) -> None:
    ranks = _run_worker(tmp_path, "3", "2", "1")
    assert [r["world_size"] for r in ranks] == [2, 2]
    # Different seeds per rank, the same start: rank 0's weights were broadcast.
    assert ranks[0]["before"] == ranks[1]["before"]
    # Rank 1's second step had a NaN: both skipped it and went on in lockstep.
    assert ranks[0]["skipped"] == ranks[1]["skipped"] == [False, True, False]
    # Different data, the same weights after, for every network: gradients averaged.
    assert ranks[0]["losses"][0] != ranks[1]["losses"][0]
    assert ranks[0]["after"] == ranks[1]["after"]
    assert set(ranks[0]["after"]) == {"G", "D", "DurDisc"}
    assert all(ranks[0]["after"][n] != ranks[0]["before"][n] for n in ranks[0]["after"])


def test_torchrun_vitscfg_train_vits2_two_cpu_ranks(tmp_path: Path) -> None:
    """The trainer's wiring (Vits2Trainer wraps the duration discriminator): 2 gloo ranks,
    2 steps, G_/D_/DUR_2.pth written by rank 0 without DDP's "module." prefix."""
    import torch

    config = make_vits2_config(tmp_path / "cfg")
    run_dir = tmp_path / "run"
    cmd = _torchrun(
        "-m", "vitscfg", "train", str(config), "--cpu", "--max-steps", "2", "--run-dir", str(run_dir)
    )  # fmt: skip
    proc = subprocess.run(
        cmd, cwd=REPO, env=_child_env(), capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "2 process(es)" in proc.stdout
    for prefix in ("G", "D", "DUR"):
        saved = torch.load(run_dir / f"{prefix}_2.pth", map_location="cpu", weights_only=True)
        assert not any(k.startswith("module.") for k in saved["model"]), prefix
