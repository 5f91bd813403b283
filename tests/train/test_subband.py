"""When the step gets MB-iSTFT-VITS's sub-band STFT term (its value against the fork's own
number is checked in tests/model/test_mb_istft_parity.py, which calls the same builder)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

import torch  # noqa: E402

from vitscfg.train.subband import subband_loss_for  # noqa: E402

pytestmark = pytest.mark.torch

SHARED = Path(__file__).parents[1] / "fixtures" / "shared_configs"
CPU = torch.device("cpu")


def _config(name: str) -> dict[str, Any]:
    path = SHARED / f"MasayaKawamura__MB-iSTFT-VITS__configs_{name}.json"
    config: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return config


@pytest.mark.parametrize(
    ("name", "term"),
    [
        ("ljs_mb_istft_vits", True),
        ("ljs_mini_mb_istft_vits", True),
        ("ljs_ms_istft_vits", False),  # multi-stream: the fork adds no sub-band loss
        ("ljs_istft_vits", False),
    ],
)
def test_only_the_multi_band_decoder_gets_the_term(name: str, term: bool) -> None:
    assert (subband_loss_for(_config(name), CPU) is not None) is term


def test_the_term_compares_bands_with_the_real_segment() -> None:
    loss = subband_loss_for(_config("ljs_mb_istft_vits"), CPU)
    assert loss is not None and loss.pqmf.subbands == 4
    torch.manual_seed(0)
    y = torch.randn(2, 1, 8192) * 0.1
    same = loss(loss.pqmf.analysis(y), y)
    other = loss(loss.pqmf.analysis(torch.randn(2, 1, 8192) * 0.1), y)
    assert float(same) == pytest.approx(0.0, abs=1e-5)
    assert float(other) > 0.5


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"fft_sizes": None}, "train.fft_sizes is missing"),
        ({"hop_sizes": [30, 60]}, "one entry per resolution"),
        ({"win_lengths": ["150", 300, 60]}, "train.win_lengths is missing"),
    ],
)
def test_a_missing_or_ragged_resolution_is_a_clear_error(
    edit: dict[str, Any], message: str
) -> None:
    config = _config("ljs_mb_istft_vits")
    config["train"].update(edit)
    with pytest.raises(ValueError, match=message):
        subband_loss_for(config, CPU)
