"""What the Bert-VITS2-family parity fixture and its test share: tiny configs (one per fork
model), deterministic inputs (phones, tones, languages, BERT features, style vectors) and the
seed of the model's own random draws.

``scripts/fixtures_bert_vits2.py`` runs each fork's code with these and writes
``tests/model/fixtures/bert_vits2_parity.json.gz``; ``tests/model/test_bert_vits2_parity.py``
runs vitscfg's networks with the same weights (``golden.seeded_state``: filled from the
key names), inputs and seed, in eval mode, and compares.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from tests.model.golden import MAX_WAV_VALUE, TINY_DATA, TINY_MODEL, TINY_TRAIN, with_overrides

SEED = 4321
MAS_NOISE = 0.01  # the forks' initial alignment noise (current_mas_noise_scale at step 0)
BATCH, TEXT_LENGTHS, SPEC_LENGTHS = 2, (10, 7), (32, 24)
SLM_CHANNELS, SLM_FRAMES = 24, 12  # WavLM head input: (B, hidden * layers, frames)

_BASE: dict[str, Any] = {
    "train": {"segment_size": TINY_TRAIN["segment_size"]},
    "data": {**MAX_WAV_VALUE, **TINY_DATA, "sampling_rate": 8000, "n_speakers": 3},
    "model": {
        **TINY_MODEL,
        "n_layers": 3,  # the speaker vector enters layer 2
        "p_dropout": 0.1,
        "use_spk_conditioned_encoder": True,
        "use_noise_scaled_mas": True,
        "use_duration_discriminator": True,
        "n_layers_trans_flow": 3,
        "n_layers_q": 3,
        "use_spectral_norm": False,
        "gin_channels": 8,
        "slm": {"model": "unused", "sr": 16000, "hidden": 8, "nlayers": 3, "initial_channel": 4},
    },
}

#: case -> (fork dialect, overrides). Bert-VITS2 2.3 (three BERT inputs, SDP sample loss,
#: LSTM duration discriminator, WavLM head), Style-Bert-VITS2 and its JP-Extra model (style
#: vector), MeloTTS (two BERT widths, 219 symbols) with a reference encoder.
PARITY_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "bert-vits2": ("bert-vits2", {}),
    "style-bert-vits2": ("style-bert-vits2", {"data.n_speakers": 1}),
    "style-bert-vits2-jp-extra": (
        "style-bert-vits2",
        {"data.use_jp_extra": True, "model.use_wavlm_discriminator": True},
    ),
    "melotts-refenc": (
        "melotts",
        {"data.n_speakers": 0, "model.use_spk_conditioned_encoder": False},
    ),
}

#: dialect (and JP-Extra) -> (symbols, tones, languages, BERT widths, style width).
TABLES: dict[str, tuple[int, int, int, tuple[int, ...], int | None]] = {
    "bert-vits2": (112, 12, 3, (1024, 1024, 1024), None),
    "style-bert-vits2": (112, 12, 3, (1024, 1024, 1024), 256),
    "style-bert-vits2-jp-extra": (112, 12, 3, (1024,), 256),
    "melotts": (219, 16, 8, (1024, 768), None),
}


def case_config(case: str) -> dict[str, Any]:
    return with_overrides(_BASE, PARITY_CASES[case][1])


def table_key(case: str) -> str:
    dialect = PARITY_CASES[case][0]
    return "style-bert-vits2-jp-extra" if case.endswith("jp-extra") else dialect


@dataclass
class Batch:
    text: torch.Tensor  # (B, T_text)
    text_lengths: torch.Tensor
    spec: torch.Tensor  # (B, F, T_spec) linear magnitude
    spec_lengths: torch.Tensor
    sid: torch.Tensor  # (B,)
    tone: torch.Tensor  # (B, T_text)
    language: torch.Tensor  # (B, T_text)
    berts: list[torch.Tensor]  # (B, D_i, T_text)
    style: torch.Tensor | None  # (B, 256)
    slm: torch.Tensor  # (B, SLM_CHANNELS, SLM_FRAMES): the WavLM head's input
    wave: torch.Tensor  # (B, 1, segment samples): the D input


def make_batch(case: str) -> Batch:
    """Deterministic inputs (a seeded generator)."""
    gen = torch.Generator().manual_seed(20241206)
    config = case_config(case)
    data = config["data"]
    n_symbols, n_tones, n_languages, widths, style_width = TABLES[table_key(case)]
    t = max(TEXT_LENGTHS)
    frames = max(SPEC_LENGTHS)
    text = torch.randint(1, n_symbols, (BATCH, t), generator=gen)
    tone = torch.randint(0, n_tones, (BATCH, t), generator=gen)
    language = torch.randint(0, n_languages, (BATCH, t), generator=gen)
    berts = [0.5 * torch.randn(BATCH, w, t, generator=gen) for w in widths]
    for i, n in enumerate(TEXT_LENGTHS):
        text[i, n:] = 0
        tone[i, n:] = 0
        language[i, n:] = 0
        for b in berts:
            b[i, :, n:] = 0
    style = None if style_width is None else torch.randn(BATCH, style_width, generator=gen)
    spec = 0.01 + torch.rand(BATCH, data["filter_length"] // 2 + 1, frames, generator=gen)
    for i, n in enumerate(SPEC_LENGTHS):
        spec[i, :, n:] = 0
    slm = torch.randn(BATCH, SLM_CHANNELS, SLM_FRAMES, generator=gen)
    wave = 0.5 * torch.tanh(torch.randn(BATCH, 1, config["train"]["segment_size"], generator=gen))
    sid = torch.tensor([0, min(2, max(0, data["n_speakers"] - 1))], dtype=torch.long)
    return Batch(
        text,
        torch.tensor(TEXT_LENGTHS),
        spec,
        torch.tensor(SPEC_LENGTHS),
        sid,
        tone,
        language,
        berts,
        style,
        slm,
        wave,
    )
