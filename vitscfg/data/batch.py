"""What the DataLoader yields: one utterance per dataset item, and the zero-padded batch
the collate function makes of them (the reference collate's order)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch


class Utterance(NamedTuple):
    text: torch.Tensor  # (L,) int64 symbol ids (blank-interspersed with add_blank)
    spec: torch.Tensor  # (C, F) float32
    wave: torch.Tensor  # (1, T) float32 in [-1, 1]
    sid: torch.Tensor  # () int64; 0 for single-speaker data
    uid: int  # position in the dataset: `dataset.describe(uid)` names file and line


class Batch(NamedTuple):
    """The reference collate's order (text, spec, wave with lengths; + speaker id),
    plus the utterance indices for NaN-loss reporting."""

    text: torch.Tensor  # (B, L) int64, zero-padded
    text_lengths: torch.Tensor  # (B,)
    spec: torch.Tensor  # (B, C, F)
    spec_lengths: torch.Tensor  # (B,)
    wave: torch.Tensor  # (B, 1, T)
    wave_lengths: torch.Tensor  # (B,)
    sid: torch.Tensor  # (B,)
    ids: torch.Tensor  # (B,) dataset indices

    def to(self, device: torch.device | str, non_blocking: bool = False) -> Batch:
        return Batch(*(t.to(device, non_blocking=non_blocking) for t in self))


def collate(items: Sequence[Utterance]) -> Batch:
    """Zero-pad to the batch maximum, sorted by spectrogram length, longest first."""
    order = sorted(items, key=lambda u: -u.spec.shape[1])
    b = len(order)
    text_len = torch.tensor([u.text.numel() for u in order], dtype=torch.long)
    spec_len = torch.tensor([u.spec.shape[1] for u in order], dtype=torch.long)
    wave_len = torch.tensor([u.wave.shape[1] for u in order], dtype=torch.long)
    text = torch.zeros(b, int(text_len.max()), dtype=torch.long)
    spec = torch.zeros(b, order[0].spec.shape[0], int(spec_len.max()))
    wave = torch.zeros(b, 1, int(wave_len.max()))
    for i, u in enumerate(order):
        text[i, : u.text.numel()] = u.text
        spec[i, :, : u.spec.shape[1]] = u.spec
        wave[i, :, : u.wave.shape[1]] = u.wave
    sid = torch.stack([u.sid for u in order]).long()
    ids = torch.tensor([u.uid for u in order], dtype=torch.long)
    return Batch(text, text_len, spec, spec_len, wave, wave_len, sid, ids)
