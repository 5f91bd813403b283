"""The config values every GAN-vocoder fork step reads: STFT/mel geometry, the training
window and the two loss weights. RVC's and so-vits-svc's steps (train/rvc_step.py,
train/svc_step.py) read the same keys the same way; each adds only its precision rule.

Why raw keys and not the typed section: these forks' steps are run by the estimator on the
fork's own config, whose `check` already ran in the opening (`vitscfg/opening.py`): a key
missing here is one the fork's train script also reads unconditionally.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class MelStepSettings:
    """The ``data`` and ``train`` values a fork's step reads."""

    filter_length: int
    hop_length: int
    win_length: int
    n_mel_channels: int
    sampling_rate: int
    mel_fmin: float
    mel_fmax: float | None
    segment_size: int  # samples
    c_mel: float
    c_kl: float

    @staticmethod
    def read(config: Mapping[str, Any]) -> dict[str, Any]:
        """The shared fields of ``config`` as keyword arguments."""
        data, train = config["data"], config["train"]
        fmax = data.get("mel_fmax")
        return {
            "filter_length": int(data["filter_length"]),
            "hop_length": int(data["hop_length"]),
            "win_length": int(data["win_length"]),
            "n_mel_channels": int(data["n_mel_channels"]),
            "sampling_rate": int(data["sampling_rate"]),
            "mel_fmin": float(data["mel_fmin"]),
            "mel_fmax": None if fmax is None else float(fmax),
            "segment_size": int(train["segment_size"]),
            "c_mel": float(train["c_mel"]),
            "c_kl": float(train["c_kl"]),
        }
