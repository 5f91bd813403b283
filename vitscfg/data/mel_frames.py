"""Log-mel frames as a dataset's spectrogram (``spec_fn``), for models whose posterior
encoder reads mel frames (VITS2's ``model.use_mel_posterior_encoder``).

Why a separate spec_fn: the dataset caches whatever its ``spec_fn`` makes, keyed by a tag;
a mel model must not read a linear spectrogram cached by a VITS run on the same wavs (nor
the reverse), so the tag names the mel parameters too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class LogMelFrames:
    """(1, T) wave -> (n_mels, T // hop) log-mel frames, as the training step's mel loss
    computes them (`vitscfg.model.mel.mel_spectrogram`); picklable for DataLoader workers."""

    filter_length: int
    hop_length: int
    win_length: int
    sampling_rate: int
    n_mels: int
    fmin: float
    fmax: float | None

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> LogMelFrames:
        """From a config's ``data`` section (validated by `check` before training)."""
        fmax = data.get("mel_fmax")
        return cls(
            int(data["filter_length"]),
            int(data["hop_length"]),
            int(data["win_length"]),
            int(data["sampling_rate"]),
            int(data["n_mel_channels"]),
            float(data.get("mel_fmin") or 0.0),
            None if fmax is None else float(fmax),
        )

    @property
    def tag(self) -> str:
        """The spectrogram cache's tag: everything besides the STFT that the frames hold."""
        return f"mel{self.n_mels},{self.fmin},{self.fmax}"

    def __call__(self, wave: torch.Tensor) -> torch.Tensor:
        from vitscfg.model.mel import mel_spectrogram

        return mel_spectrogram(
            wave,
            self.filter_length,
            self.n_mels,
            self.sampling_rate,
            self.hop_length,
            self.win_length,
            self.fmin,
            self.fmax,
        ).squeeze(0)
