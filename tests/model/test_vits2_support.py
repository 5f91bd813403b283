"""`vitscfg train` refuses VITS2 configs with what to run instead until its loop runs the
VITS2 step (vitscfg/train/vits2_step.py); `estimate` traces that step already."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from vitscfg.model.support import train_refusal  # noqa: E402

pytestmark = pytest.mark.torch


def test_train_refuses_vits2_until_its_step_is_wired() -> None:
    reason = train_refusal("vits2")
    assert reason is not None
    assert "train_ms.py" in reason and "vitscfg estimate" in reason
    assert train_refusal("vits") is None
