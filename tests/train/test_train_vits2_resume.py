"""Exact resume of a VITS2 run (`vitscfg train`, vitscfg/train/vits2_run.py): 3 steps in one
go equal 1 step, a stop, and a resume to 3, bit for bit, for G, D and the duration
discriminator (weights, AdamW state, scheduler). What has to come back for that: the
three networks and their optimizers and schedulers (G_/D_/DUR_<step>.pth), the RNG (the
random decoder windows, the alignment noise's draws), the sampler's position, and the
global step (the alignment noise's scale decays with it).

Micro VITS2 (tests/train/_vits2kit.py), 4 utterances, batch 2: 2 steps per epoch, so step
3 crosses an epoch boundary (every scheduler steps, a new shuffle)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.slow]

import torch  # noqa: E402
from _trainkit import lines  # noqa: E402
from _vits2kit import make_vits2_config  # noqa: E402
from rich.console import Console  # noqa: E402

from vitscfg.train.run import run_train  # noqa: E402


def _run(config: Path, run_dir: Path, max_steps: int) -> tuple[int, str]:
    buffer = io.StringIO()
    console = Console(file=buffer, width=250, highlight=False, soft_wrap=True)
    code = run_train(config, run_dir=run_dir, max_steps=max_steps, cpu=True, console=console)
    return code, buffer.getvalue()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("vits2_resume")
    config = make_vits2_config(root / "cfg", train_lines=lines("train.txt")[:4])
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        return {
            "root": root,
            "straight": _run(config, root / "straight", 3),
            "stopped": _run(config, root / "split", 1),
            "resumed": _run(config, root / "split", 3),
        }
    finally:
        torch.use_deterministic_algorithms(before)


def _load(path: Path) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=True)  # type: ignore[no-any-return]


def _equal(a: Any, b: Any) -> bool:
    """Nested dicts/lists of tensors and numbers, compared exactly."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def test_runs_finish(runs: dict[str, Any]) -> None:
    for name in ("straight", "stopped", "resumed"):
        code, out = runs[name]
        assert code == 0, out
    assert "resumed from G_1.pth" in runs["resumed"][1]
    assert "starts fresh" not in runs["resumed"][1]


def test_resume_is_exact_for_every_network(runs: dict[str, Any]) -> None:
    root = runs["root"]
    for prefix in ("G", "D", "DUR"):
        a = _load(root / "straight" / f"{prefix}_3.pth")
        b = _load(root / "split" / f"{prefix}_3.pth")
        differ = [k for k in a["model"] if not torch.equal(a["model"][k], b["model"][k])]
        assert not differ, f"{prefix}: {len(differ)} tensors differ, e.g. {differ[:3]}"
        assert _equal(a["optimizer"], b["optimizer"]), prefix
    dur_a, dur_b = (_load(root / run / "DUR_3.pth") for run in ("straight", "split"))
    assert dur_a["scheduler"] == dur_b["scheduler"]
    assert dur_a["scheduler"]["last_epoch"] == 1  # one epoch boundary crossed
    # The resumed DurDisc continued from step 1 (AdamW's step count), not from scratch.
    assert {float(s["step"]) for s in dur_b["optimizer"]["state"].values()} == {3.0}
    g_a = _load(root / "straight" / "G_3.pth")["vitscfg"]
    g_b = _load(root / "split" / "G_3.pth")["vitscfg"]
    assert g_a["sampler"] == g_b["sampler"] and g_a["epoch"] == g_b["epoch"] == 2


def test_stop_point_differs_from_the_end(runs: dict[str, Any]) -> None:
    """The comparison above can fail: the run at step 1 is not the run at step 3."""
    root = runs["root"]
    a = _load(root / "split" / "DUR_1.pth")["model"]
    b = _load(root / "split" / "DUR_3.pth")["model"]
    assert any(not torch.equal(a[k], b[k]) for k in a)
