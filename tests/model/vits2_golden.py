"""What the VITS2 parity fixture and its test share: tiny VITS2 configs (one per variant),
weights that depend only on each state_dict key, deterministic inputs and the seed of the
model's own random draws.

``scripts/fixtures_vits2.py`` runs p0p4k/vits2_pytorch's code with these and writes
``tests/model/fixtures/vits2_parity.json.gz``; ``tests/model/test_vits2_parity.py`` runs
vitscfg's VITS2 networks with the same weights, inputs and seed, and compares.

Weights are tests/model/golden.py's, seeded by key name (re-exported here for the fixture
scripts). Both sides run in eval mode (no dropout: the fork draws its dropout
masks in another order) and draw their noise (posterior sample, MAS noise, the duration
predictor's two samples, the decoder window) from the global generator seeded with ``SEED``,
in the same order, so the draws are equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from tests.model.golden import seeded_state, seeded_tensor, tiny_sections, with_overrides

__all__ = [
    "BATCH",
    "PARITY_CASES",
    "SEED",
    "SPEC_LENGTHS",
    "TEXT_LENGTHS",
    "Batch",
    "case_config",
    "make_batch",
    "seeded_state",
    "seeded_tensor",
]

SEED = 1234
BATCH, TEXT_LENGTHS, SPEC_LENGTHS = 2, (10, 7), (32, 24)

_BASE: dict[str, Any] = tiny_sections(
    train={"learning_rate": 2e-4},
    data={"sampling_rate": 8000, "n_speakers": 3},
    model={
        "n_layers": 3,  # the speaker vector enters the text encoder before layer 2
        "p_dropout": 0.1,
        "use_spectral_norm": False,
        "gin_channels": 8,
        "use_transformer_flows": True,
        "use_duration_discriminator": True,
    },
)

#: case name -> model/data overrides. Together they cover every flow type, both duration
#: discriminators and predictors, mel and linear posteriors, with and without MAS noise.
PARITY_CASES: dict[str, dict[str, Any]] = {
    "sdp_pre_conv_dd1_mel_noise": {
        "model.transformer_flow_type": "pre_conv",
        "model.use_sdp": True,
        "model.duration_discriminator_type": "dur_disc_1",
        "model.use_mel_posterior_encoder": True,
        "model.use_noise_scaled_mas": True,
        "model.use_spk_conditioned_encoder": True,
    },
    "dp_fft_dd2_linear": {
        "model.transformer_flow_type": "fft",
        "model.use_sdp": False,
        "model.duration_discriminator_type": "dur_disc_2",
        "model.use_mel_posterior_encoder": False,
        "model.use_noise_scaled_mas": False,
        "model.use_spk_conditioned_encoder": True,
    },
    "sdp_pre_conv2_single": {
        "model.transformer_flow_type": "pre_conv2",
        "model.use_sdp": True,
        "model.duration_discriminator_type": "dur_disc_2",
        "model.use_mel_posterior_encoder": True,
        "model.use_noise_scaled_mas": True,
        "model.use_spk_conditioned_encoder": False,
        "data.n_speakers": 0,
        "model.gin_channels": 0,
    },
    "dp_mono_inter": {
        "model.transformer_flow_type": "mono_layer_inter_residual",
        "model.use_sdp": False,
        "model.duration_discriminator_type": "dur_disc_1",
        "model.use_mel_posterior_encoder": True,
        "model.use_noise_scaled_mas": False,
        "model.use_spk_conditioned_encoder": False,
    },
    "sdp_mono_post": {
        "model.transformer_flow_type": "mono_layer_post_residual",
        "model.use_sdp": True,
        "model.duration_discriminator_type": "dur_disc_1",
        "model.use_mel_posterior_encoder": False,
        "model.use_noise_scaled_mas": True,
        "model.use_spk_conditioned_encoder": True,
    },
}


def case_config(case: str) -> dict[str, Any]:
    """The full tiny config of a parity case."""
    return with_overrides(_BASE, PARITY_CASES[case])


@dataclass
class Batch:
    """One training batch as the fork's collate function hands it to the train step."""

    text: torch.Tensor  # (B, T_text) symbol ids
    text_lengths: torch.Tensor  # (B,)
    spec: torch.Tensor  # (B, F, T_spec): log-mel with a mel posterior, else linear magnitude
    spec_lengths: torch.Tensor  # (B,)
    wave: torch.Tensor  # (B, 1, T_spec * hop)
    sid: torch.Tensor  # (B,)


def make_batch(config: dict[str, Any]) -> Batch:
    """Deterministic inputs (a seeded generator; the same on every run of this torch)."""
    gen = torch.Generator().manual_seed(20241205)
    data, model = config["data"], config["model"]
    hop = data["hop_length"]
    frames = max(SPEC_LENGTHS)
    text = torch.randint(1, 178, (BATCH, max(TEXT_LENGTHS)), generator=gen)
    for i, n in enumerate(TEXT_LENGTHS):
        text[i, n:] = 0
    if model.get("use_mel_posterior_encoder"):
        spec = torch.log(0.01 + torch.rand(BATCH, data["n_mel_channels"], frames, generator=gen))
    else:
        spec = 0.01 + torch.rand(BATCH, data["filter_length"] // 2 + 1, frames, generator=gen)
    for i, n in enumerate(SPEC_LENGTHS):
        spec[i, :, n:] = 0
    wave = 0.5 * torch.tanh(torch.randn(BATCH, 1, frames * hop, generator=gen))
    sid = torch.tensor([0, 2], dtype=torch.long)
    return Batch(
        text,
        torch.tensor(TEXT_LENGTHS),
        spec,
        torch.tensor(SPEC_LENGTHS),
        wave,
        sid,
    )
