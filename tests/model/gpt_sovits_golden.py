"""What the GPT-SoVITS s2 parity fixture and its test share: tiny s2 configs, the inputs of one
training batch and the seed of the step's random draws.

``scripts/fixtures_gpt_sovits.py`` runs GPT-SoVITS's own code with these (weights seeded by key
name: tests/model/golden.seeded_state) and writes ``fixtures/gpt_sovits_parity.json.gz``;
``tests/model/test_gpt_sovits_parity.py`` runs vitscfg's model and compares.

Randomness: the reference encoder's six dropouts (p 0.1, fixed by the fork), the posterior
sample (``randn_like``), the window starts (``rand``) and, when the quantizer trains, the
restart of unused codes (``randint``/``randperm``). vitscfg draws the same shapes in the
same order on the CPU, so seeding the global generator with ``FORWARD_SEED`` before the step
gives both the same numbers (the transformers' dropout is 0: no draws).

Sizes: MRTE fixes the prior encoder's width at 192 and the v2 timbre vector at 512; the v2
reference encoder reads 704 spectrogram bins (so filter_length >= 1406), and the mel of the
decoded window needs more samples than its reflect padding (segment > filter_length / 2).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch

from tests.model.golden import seeded_state, tiny_sections, with_overrides

__all__ = [
    "BATCH",
    "CASES",
    "CODEBOOK_ROWS",
    "FORWARD_SEED",
    "FRAMES",
    "QUANTIZED_CHANNELS",
    "Batch",
    "case_config",
    "make_batch",
    "seeded_weights",
]

FORWARD_SEED = 1234

BASE_CONFIG: dict[str, Any] = tiny_sections(
    train={"segment_size": 768, "text_low_lr_rate": 0.4},
    data={"filter_length": 1408, "hop_length": 64, "win_length": 256},
    model={
        "hidden_channels": 192,
        "upsample_rates": [8, 8],
        "upsample_kernel_sizes": [16, 16],
        "use_spectral_norm": False,
        "gin_channels": 512,
        "semantic_frame_rate": "25hz",
        "freeze_quantizer": True,
        "version": "v2",
    },
)

#: case id -> overrides of BASE_CONFIG.
CASES: dict[str, dict[str, Any]] = {
    "v2": {},
    "v2-train-quantizer": {"model.freeze_quantizer": False},
    "v2Pro": {"model.version": "v2Pro", "model.gin_channels": 16},
}
BATCH, FRAMES, LENGTHS = 2, 20, (20, 16)
TEXT, TEXT_LENGTHS = 7, (7, 5)
SV_DIM = 20480
#: What the golden keeps of the quantized features and of the codebook after the step.
QUANTIZED_CHANNELS, CODEBOOK_ROWS = 16, 8


def case_config(case: str) -> dict[str, Any]:
    return with_overrides(copy.deepcopy(BASE_CONFIG), CASES[case])


def seeded_weights(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """``seeded_state`` with the codebook marked initialised (a fresh fork codebook would run
    k-means on the batch) and its EMA counts positive."""
    state = seeded_state(module)
    for key in state:
        if key.endswith("_codebook.inited"):
            state[key] = torch.ones_like(state[key])
        if key.endswith("_codebook.cluster_size"):
            state[key] = 1.0 + state[key].abs() * 10
    return state


@dataclass
class Batch:
    """One padded batch as s2's collate function hands it to the step."""

    ssl: torch.Tensor  # (B, 768, T)
    spec: torch.Tensor  # (B, F, T)
    spec_lengths: torch.Tensor  # (B,)
    wave: torch.Tensor  # (B, 1, T * hop)
    text: torch.Tensor  # (B, L) phone ids
    text_lengths: torch.Tensor  # (B,)
    sv_emb: torch.Tensor | None  # (B, 20480), v2Pro only


def make_batch(config: dict[str, Any]) -> Batch:
    """Deterministic inputs (a seeded generator; the same on every run of this torch)."""
    gen = torch.Generator().manual_seed(20261205)
    data = config["data"]
    n_freq = data["filter_length"] // 2 + 1
    hop = data["hop_length"]
    ssl = torch.randn(BATCH, 768, FRAMES, generator=gen)
    spec = 0.01 + torch.rand(BATCH, n_freq, FRAMES, generator=gen)
    wave = 0.5 * torch.tanh(torch.randn(BATCH, 1, FRAMES * hop, generator=gen))
    text = torch.randint(0, 300, (BATCH, TEXT), generator=gen)
    sv = None
    if config["model"]["version"] in ("v2Pro", "v2ProPlus"):
        sv = torch.randn(BATCH, SV_DIM, generator=gen) / 10
    lengths = torch.tensor(LENGTHS, dtype=torch.long)
    return Batch(ssl, spec, lengths, wave, text, torch.tensor(TEXT_LENGTHS, dtype=torch.long), sv)
