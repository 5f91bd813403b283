"""What the RVC parity fixture and its test share: a tiny RVC config, weights that depend only
on each state_dict key, deterministic inputs, and a record/replay of the model's random draws.

``scripts/fixtures_rvc.py`` runs RVC's own code with these (weights, inputs, recorded draws)
and writes ``tests/model/fixtures/rvc_parity.json``; ``tests/model/test_rvc_parity.py`` runs
vitscfg's RVC model with the same weights and inputs, replays the recorded draws, and compares.

The seeded weights and the record/replay of the draws are tests/model/golden.py's (re-exported
here for the fixture script).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from tests.model.golden import Draws, load_seeded, recording, replaying, seeded_state, tiny_sections

__all__ = [
    "BATCH",
    "FEATURE_DIMS",
    "FRAMES",
    "LENGTHS",
    "PARITY_VARIANTS",
    "TINY_RVC_CONFIG",
    "Batch",
    "Draws",
    "load_seeded",
    "make_batch",
    "recording",
    "replaying",
    "seeded_state",
]

#: Tiny sizes: every RVC component exists, a G+D step runs in about a second on 2 cores.
TINY_RVC_CONFIG: dict[str, Any] = tiny_sections(
    train={},
    data={},
    model={"use_spectral_norm": False, "gin_channels": 8, "spk_embed_dim": 3},
)

#: The variants the parity fixture covers: (version, f0).
PARITY_VARIANTS: tuple[tuple[str, bool], ...] = (("v2", True), ("v1", False))
BATCH, FRAMES, LENGTHS = 2, 12, (12, 10)
FEATURE_DIMS = {"v1": 256, "v2": 768}


@dataclass
class Batch:
    """One training batch as RVC's collate function hands it to the train step."""

    phone: torch.Tensor  # (B, T, D) content features
    phone_lengths: torch.Tensor  # (B,)
    pitch: torch.Tensor  # (B, T) coarse pitch bins 1..255
    pitchf: torch.Tensor  # (B, T) F0 in Hz, 0 where unvoiced
    spec: torch.Tensor  # (B, F, T) linear magnitude
    spec_lengths: torch.Tensor  # (B,)
    wave: torch.Tensor  # (B, 1, T * hop)
    sid: torch.Tensor  # (B,)


def make_batch(version: str) -> Batch:
    """Deterministic inputs (a seeded generator; the same on every run of this torch)."""
    gen = torch.Generator().manual_seed(20241205)
    hop = TINY_RVC_CONFIG["data"]["hop_length"]
    n_freq = TINY_RVC_CONFIG["data"]["filter_length"] // 2 + 1
    lengths = torch.tensor(LENGTHS, dtype=torch.long)
    phone = torch.randn(BATCH, FRAMES, FEATURE_DIMS[version], generator=gen)
    pitch = torch.randint(1, 256, (BATCH, FRAMES), generator=gen)
    pitchf = 100.0 + 300.0 * torch.rand(BATCH, FRAMES, generator=gen)
    pitchf[:, 3] = 0.0  # an unvoiced frame: the source switches to noise there
    spec = 0.01 + torch.rand(BATCH, n_freq, FRAMES, generator=gen)
    wave = 0.5 * torch.tanh(torch.randn(BATCH, 1, FRAMES * hop, generator=gen))
    sid = torch.tensor([0, 2], dtype=torch.long)
    return Batch(phone, lengths, pitch, pitchf, spec, lengths.clone(), wave, sid)
