"""What the MB-iSTFT parity fixture and its test share: tiny MB-iSTFT-VITS / MB-iSTFT-VITS2
configs (one per decoder and fork), and the seeded weights / inputs of tests/model/vits2_golden.py.

``scripts/fixtures_mb_istft.py`` runs each fork's own code with these and writes
``tests/model/fixtures/mb_istft_parity.json.gz``; ``tests/model/test_mb_istft_parity.py`` runs
vitscfg's networks with the same weights, inputs and seed, and compares.

Geometry: hop_length 16 = prod(upsample_rates) x gen_istft_hop_size x subbands (2 x 2 x 4 for
the multi-band / multi-stream decoders, 2 x 2 x 4 x 1 for the plain iSTFT one); a 128-sample
decoder window, so each band has 32 samples and the sub-band STFT resolutions stay below that.
MB-iSTFT-VITS cases are single-speaker (its only train script is); one MB-iSTFT-VITS2 case has
three speakers (train_ms.py's networks: speaker embedding, speaker-conditioned text encoder).
"""

from __future__ import annotations

from typing import Any

import torch

from tests.model.golden import tiny_sections, with_overrides
from tests.model.vits2_golden import SEED, Batch, make_batch, seeded_state

__all__ = [
    "PARITY_CASES",
    "SEED",
    "V2_VARIANTS",
    "Batch",
    "case_config",
    "make_batch",
    "seeded_state",
    "decoder_seeded_state",
    "variant_config",
]

_BASE: dict[str, Any] = tiny_sections(
    train={
        "learning_rate": 2e-4,
        "fft_sizes": [16, 32, 8],
        "hop_sizes": [2, 4, 1],
        "win_lengths": [8, 16, 4],
        "window": "hann_window",
    },
    data={"sampling_rate": 8000, "n_speakers": 0},
    model={
        "p_dropout": 0.1,
        "upsample_rates": [2, 2],
        "upsample_kernel_sizes": [4, 4],
        "use_spectral_norm": False,
        "istft_vits": False,
        "mb_istft_vits": False,
        "ms_istft_vits": False,
        "subbands": 4,
        "gen_istft_n_fft": 8,
        "gen_istft_hop_size": 2,
    },
)

_MULTIBAND = {"model.upsample_rates": [2], "model.upsample_kernel_sizes": [4]}
_SINGLE = {"model.subbands": False, "model.gen_istft_n_fft": 16, "model.gen_istft_hop_size": 4}
_VITS2 = {
    "model.use_transformer_flows": True,
    "model.use_duration_discriminator": True,
    "model.use_spk_conditioned_encoder": False,
    "model.monotonic_align": "sma_v1",
}

#: case name -> (fork: "mb-istft-vits" or "mb-istft-vits2", overrides of _BASE).
PARITY_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "v1_mb_sdp": (
        "mb-istft-vits",
        {**_MULTIBAND, "model.mb_istft_vits": True, "model.use_sdp": True},
    ),
    "v1_ms_dp": (
        "mb-istft-vits",
        {**_MULTIBAND, "model.ms_istft_vits": True, "model.use_sdp": False},
    ),
    "v1_istft_dp": ("mb-istft-vits", {**_SINGLE, "model.istft_vits": True, "model.use_sdp": False}),
    "v2_mb_pre_conv2_dd2_mel_noise": (
        "mb-istft-vits2",
        {
            **_MULTIBAND,
            **_VITS2,
            "model.mb_istft_vits": True,
            "model.use_sdp": False,
            "model.transformer_flow_type": "pre_conv2",
            "model.duration_discriminator_type": "dur_disc_2",
            "model.use_mel_posterior_encoder": True,
            "model.use_noise_scaled_mas": True,
        },
    ),
    "v2_mb_speakers_spk_encoder_dd2": (
        "mb-istft-vits2",
        {
            **_MULTIBAND,
            **_VITS2,
            "data.n_speakers": 3,
            "model.gin_channels": 8,
            "model.n_layers": 3,  # the speaker vector enters the text encoder before layer 2
            "model.use_spk_conditioned_encoder": True,
            "model.mb_istft_vits": True,
            "model.use_sdp": True,
            "model.transformer_flow_type": "mono_layer_post_residual",
            "model.duration_discriminator_type": "dur_disc_2",
            "model.use_mel_posterior_encoder": True,
            "model.use_noise_scaled_mas": True,
        },
    ),
    "v2_ms_sdp_fft_dd1_linear": (
        "mb-istft-vits2",
        {
            **_MULTIBAND,
            **_VITS2,
            "model.ms_istft_vits": True,
            "model.use_sdp": True,
            "model.transformer_flow_type": "fft",
            "model.duration_discriminator_type": "dur_disc_1",
            "model.use_mel_posterior_encoder": False,
            "model.use_noise_scaled_mas": False,
        },
    ),
}


#: Variants of a shipped MB-iSTFT-VITS2 config: name -> (config file, "section.key"
#: overrides). Multi-speaker ones (train_ms.py's networks; MB-iSTFT-VITS has no multi-speaker
#: script) and the flow switches (with transformer flows off: the VITS flow, or the
#: post-residual flow for that type; with them on, that type builds no flow layer).
V2_VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    **{
        f"mb_istft_vits2_base+speakers{'+spk_encoder' if enc else ''}": (
            "mb_istft_vits2_base.json",
            {
                "data.n_speakers": 10,
                "model.gin_channels": 256,
                "model.use_spk_conditioned_encoder": enc,
            },
        )
        for enc in (True, False)
    },
    "mb_istft_vits2_base+flows_off": (
        "mb_istft_vits2_base.json",
        {"model.use_transformer_flows": False},
    ),
    "mb_istft_vits2_base+flows_off+post_residual": (
        "mb_istft_vits2_base.json",
        {
            "model.use_transformer_flows": False,
            "model.transformer_flow_type": "mono_layer_post_residual",
        },
    ),
    "mb_istft_vits2_base+post_residual": (
        "mb_istft_vits2_base.json",
        {"model.transformer_flow_type": "mono_layer_post_residual"},
    ),
}


def variant_config(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    return with_overrides(base, overrides)


#: Gain of the decoder's final projection (log-magnitudes and phases) relative to
#: ``seeded_state``'s: keeps exp(log-magnitude) near 1. At full gain the mel-posterior cases
#: decode to ~1e13, where float32 rounding that depends on the thread count shows.
POST_GAIN = 0.1


def decoder_seeded_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """``seeded_state(module)`` with the iSTFT decoder's final projection scaled by POST_GAIN."""
    state = seeded_state(module)
    for key in state:
        if key.startswith("dec.") and key.endswith("conv_post.weight_g"):
            state[key] = state[key] * POST_GAIN
    return state


def case_config(case: str) -> dict[str, Any]:
    """The full tiny config of a parity case."""
    return with_overrides(_BASE, PARITY_CASES[case][1])
