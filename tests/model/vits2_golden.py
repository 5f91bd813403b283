"""What the VITS2 parity fixture and its test share: tiny VITS2 configs (one per variant),
weights that depend only on each state_dict key, deterministic inputs and the seed of the
model's own random draws.

``scripts/fixtures_vits2.py`` runs p0p4k/vits2_pytorch's code with these and writes
``tests/model/fixtures/vits2_parity.json.gz``; ``tests/model/test_vits2_parity.py`` runs
vitscfg's VITS2 networks with the same weights, inputs and seed, and compares.

Weights are not stored (the discriminator alone has 47 M parameters): each tensor is filled
from a generator seeded by the CRC-32 of its key, so any model with the same keys and shapes
gets the same weights. Both sides run in eval mode (no dropout: the fork draws its dropout
masks in another order) and draw their noise (posterior sample, MAS noise, the duration
predictor's two samples, the decoder window) from the global generator seeded with ``SEED``,
in the same order, so the draws are equal.
"""

from __future__ import annotations

import copy
import math
import zlib
from dataclasses import dataclass
from typing import Any

import torch

SEED = 1234
BATCH, TEXT_LENGTHS, SPEC_LENGTHS = 2, (10, 7), (32, 24)

_BASE: dict[str, Any] = {
    "train": {
        "segment_size": 128,
        "learning_rate": 2e-4,
        "betas": [0.8, 0.99],
        "eps": 1e-9,
        "c_mel": 45,
        "c_kl": 1.0,
    },
    "data": {
        "max_wav_value": 32768.0,
        "sampling_rate": 8000,
        "filter_length": 64,
        "hop_length": 16,
        "win_length": 64,
        "n_mel_channels": 20,
        "mel_fmin": 0.0,
        "mel_fmax": None,
        "n_speakers": 3,
    },
    "model": {
        "inter_channels": 8,
        "hidden_channels": 16,
        "filter_channels": 32,
        "n_heads": 2,
        "n_layers": 3,  # the speaker vector enters the text encoder before layer 2
        "kernel_size": 3,
        "p_dropout": 0.1,
        "resblock": "1",
        "resblock_kernel_sizes": [3, 5],
        "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5]],
        "upsample_rates": [4, 4],
        "upsample_initial_channel": 16,
        "upsample_kernel_sizes": [8, 8],
        "use_spectral_norm": False,
        "gin_channels": 8,
        "use_transformer_flows": True,
        "use_duration_discriminator": True,
    },
}

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
    config = copy.deepcopy(_BASE)
    for path, value in PARITY_CASES[case].items():
        section, key = path.split(".")
        config[section][key] = value
    return config


def seeded_tensor(key: str, shape: tuple[int, ...]) -> torch.Tensor:
    """A float32 tensor for state_dict entry ``key``, from a generator seeded by its name.

    Scales keep activations O(1): weight-norm gains and LayerNorm gammas near 1, biases and
    betas small, other weights ~ N(0, 1 / fan_in).
    """
    gen = torch.Generator().manual_seed(zlib.crc32(key.encode()))
    values = torch.randn(shape, generator=gen)
    name = key.rsplit(".", 1)[-1]
    if name in ("weight_g", "gamma"):
        return 1.0 + 0.1 * values
    if len(shape) <= 1:
        return 0.1 * values
    fan_in = max(1, values.numel() // shape[0])
    return values / math.sqrt(fan_in)


def seeded_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A full state_dict of ``module``'s keys and shapes filled by ``seeded_tensor``."""
    return {
        key: seeded_tensor(key, tuple(value.shape)) for key, value in module.state_dict().items()
    }


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
