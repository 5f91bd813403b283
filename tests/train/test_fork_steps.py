"""The per-fork step registry: RVC's batch and step on the state a builder makes."""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("torch")

import torch  # noqa: E402

from tests.model.rvc_golden import TINY_RVC_CONFIG  # noqa: E402
from vitscfg.train.fork_steps import FORK_STEPS, fork_step  # noqa: E402

pytestmark = pytest.mark.torch


def _config(version: str, f0: bool) -> dict[str, Any]:
    return {**copy.deepcopy(TINY_RVC_CONFIG), "version": version, "if_f0": int(f0)}


def test_only_forks_with_their_own_step_are_listed() -> None:
    assert fork_step("vits") is None and fork_step(None) is None
    assert fork_step("rvc") is FORK_STEPS["rvc"]
    assert FORK_STEPS["rvc"].max_frames == 900


@pytest.mark.parametrize(("version", "f0", "dim"), [("v1", False, 256), ("v2", True, 768)])
def test_rvc_batch_follows_the_variant(version: str, f0: bool, dim: int) -> None:
    step = FORK_STEPS["rvc"]
    batch = step.make_batch(_config(version, f0), 3, 20, torch.device("meta"))
    assert tuple(batch.phone.shape) == (3, 20, dim)
    assert tuple(batch.spec.shape) == (3, 33, 20) and tuple(batch.wave.shape) == (3, 1, 320)
    assert (batch.pitch is None) == (not f0) and (batch.pitchf is None) == (not f0)
    assert len(step.batch_tensors(batch)) == (8 if f0 else 6)


def test_rvc_step_needs_rvcs_generator() -> None:
    """The run itself is covered by tests/estimate/test_rvc_trace.py (a real CPU trace)."""
    config = _config("v1", False)
    parts = SimpleNamespace(nets={"G": torch.nn.Linear(1, 1)}, step=SimpleNamespace())
    batch = FORK_STEPS["rvc"].make_batch(config, 1, 4, torch.device("meta"))
    with pytest.raises(TypeError, match="RVC's generator"):
        FORK_STEPS["rvc"].run(config, parts, batch)
