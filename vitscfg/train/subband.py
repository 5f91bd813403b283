"""MB-iSTFT-VITS's sub-band STFT loss, as one more term of the generator's loss.

Why it is part of the step: with ``model.mb_istft_vits`` the fork's train script adds a
multi-resolution STFT loss between the decoder's sub-band signals and a PQMF analysis of
the real segment to the generator's loss (the multi-stream decoder and plain iSTFT get
none). Without it vitscfg would train, and the estimator would trace, a step the fork does
not run. The loss itself and the filter bank live with the model
(`vitscfg.model.stft_loss`, `vitscfg.model.pqmf`); this module only decides when the term
exists and with which resolutions (``train.fft_sizes``, ``hop_sizes``, ``win_lengths``:
the schema gives them no default, the fork's config always sets them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from vitscfg.model.pqmf import PQMF
from vitscfg.model.stft_loss import subband_stft_loss
from vitscfg.train import TrainError

_RESOLUTIONS = ("fft_sizes", "hop_sizes", "win_lengths")


def _ints(value: object) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
    ):
        return ()
    return tuple(value)


class SubbandConfigError(TrainError, ValueError):
    """The config switches the multi-band decoder on without what its loss needs: `train`
    says so in one line (a TrainError), `estimate` as a model it cannot build (ValueError)."""


@dataclass(frozen=True)
class SubbandLoss:
    """``loss(bands, y)``: the decoder's bands (B, M, T') against the real segment (B, 1, T)."""

    pqmf: PQMF
    fft_sizes: tuple[int, ...]
    hop_sizes: tuple[int, ...]
    win_lengths: tuple[int, ...]

    def __call__(self, bands: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        real = self.pqmf.analysis(y.float())
        return subband_stft_loss(
            bands.float(), real, self.fft_sizes, self.hop_sizes, self.win_lengths
        )


def subband_loss_for(config: Mapping[str, Any], device: torch.device) -> SubbandLoss | None:
    """The sub-band term of ``config``'s step, or None when its fork adds none.

    Raises SubbandConfigError when the multi-band decoder is on but a resolution list is
    missing (the fork's train script fails there too)."""
    model = config.get("model")
    if not isinstance(model, Mapping) or model.get("mb_istft_vits") is not True:
        return None
    train = config.get("train")
    section = train if isinstance(train, Mapping) else {}
    lists = {name: _ints(section.get(name)) for name in _RESOLUTIONS}
    missing = [f"train.{name}" for name, value in lists.items() if not value]
    if missing:
        raise SubbandConfigError(
            f"model.mb_istft_vits is true but {', '.join(missing)} is missing or not a list of positive integers: the sub-band "
            "STFT loss needs one FFT size, hop and window per resolution"
        )
    fft, hop, win = (lists[name] for name in _RESOLUTIONS)
    if not len(fft) == len(hop) == len(win):
        raise SubbandConfigError(
            "train.fft_sizes, train.hop_sizes and train.win_lengths must have one entry per "
            f"resolution (got {len(fft)}, {len(hop)} and {len(win)})"
        )
    subbands = model.get("subbands")
    if isinstance(subbands, bool) or not isinstance(subbands, int) or subbands < 2:
        raise SubbandConfigError(
            "model.mb_istft_vits is true but model.subbands is not a count >= 2"
        )
    return SubbandLoss(PQMF(subbands).to(device), fft, hop, win)
