"""`vitscfg train` trains VITS2 configs (vitscfg/train/vits2_run.py runs the fork's step):
no refusal for them; the forks whose inputs vitscfg cannot make are still refused."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from vitscfg.model.support import train_refusal  # noqa: E402

pytestmark = pytest.mark.torch


def test_train_accepts_vits2() -> None:
    assert train_refusal("vits2") is None
    assert train_refusal("vits") is None
    assert train_refusal("rvc") is not None
