"""What the so-vits-svc parity fixture and its test share: tiny so-vits-svc 4.1 configs, the
inputs of one training batch and the seed of the generator's random draws.

``scripts/fixtures_svc.py`` runs so-vits-svc's own code with these (weights seeded by key
name: tests/model/golden.seeded_state) and writes ``fixtures/svc_parity.json.gz``;
``tests/model/test_svc_parity.py`` runs vitscfg's model and compares.

Randomness: the generator draws, in this order, the F0 predictor's pitch-scale factor
(``uniform_``), the prior and posterior samples (``randn_like``), the window starts
(``rand``), the NSF source's initial phases (``rand``), its additive noise and an unused
noise branch (``randn_like``). vitscfg makes the same draws with the same shapes in the same
order on the CPU, so seeding the global generator with ``FORWARD_SEED`` before the forward
pass gives both models the same numbers (dropout is 0, so nothing else draws).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch

from tests.model.golden import floats, grad_norm, tiny_sections

__all__ = [
    "BASE_CONFIG",
    "BATCH",
    "CASES",
    "FORWARD_SEED",
    "FRAMES",
    "KEYS_4_1_ONLY",
    "LENGTHS",
    "Batch",
    "case_config",
    "case_version",
    "floats",
    "grad_norm",
    "make_batch",
]

FORWARD_SEED = 1234

#: Sizes small enough for a G step in well under a second; D keeps VITS's fixed widths.
BASE_CONFIG: dict[str, Any] = tiny_sections(
    train={},
    data={},
    model={
        "n_layers_q": 3,
        "n_layers_trans_flow": 2,
        "n_flow_layer": 3,
        "use_spectral_norm": False,
        "gin_channels": 8,
        "ssl_dim": 32,
        "n_speakers": 3,
        "vocoder_name": "nsf-hifigan",
        "speech_encoder": "vec768l12",
        "speaker_embedding": False,
        "vol_embedding": False,
        "use_depthwise_conv": False,
        "flow_share_parameter": False,
        "use_automatic_f0_prediction": True,
        "use_transformer_flow": False,
    },
)

#: case name -> model keys over BASE_CONFIG: every option of 4.1's model at least once,
#: and a 4.0 config (none of 4.1's keys; its golden comes from a 4.0 checkout).
CASES: dict[str, dict[str, Any]] = {
    "wavenet-flow-vol": {"vol_embedding": True},
    "depthwise-shared-flow": {"use_depthwise_conv": True, "flow_share_parameter": True},
    "transformer-flow-shared-no-f0-predictor": {
        "use_transformer_flow": True,
        "flow_share_parameter": True,
        "use_automatic_f0_prediction": False,
    },
    "4.0": {},
}
#: Model keys a 4.0 config does not have.
KEYS_4_1_ONLY = (
    "n_layers_trans_flow",
    "n_flow_layer",
    "vocoder_name",
    "speech_encoder",
    "speaker_embedding",
    "vol_embedding",
    "use_depthwise_conv",
    "flow_share_parameter",
    "use_automatic_f0_prediction",
    "use_transformer_flow",
)
BATCH, FRAMES, LENGTHS = 2, 12, (12, 10)


def case_version(name: str) -> str:
    return "4.0" if name == "4.0" else "4.1"


def case_config(name: str) -> dict[str, Any]:
    config = copy.deepcopy(BASE_CONFIG)
    config["model"].update(CASES[name])
    if case_version(name) == "4.0":
        for key in KEYS_4_1_ONLY:
            del config["model"][key]
    return config


@dataclass
class Batch:
    """One batch as so-vits-svc's collate hands it to train.py (content channel-first)."""

    c: torch.Tensor  # (B, ssl_dim, T)
    f0: torch.Tensor  # (B, T) Hz, 0 where unvoiced
    uv: torch.Tensor  # (B, T) 1.0 where voiced
    spec: torch.Tensor  # (B, F, T)
    wave: torch.Tensor  # (B, 1, T * hop)
    sid: torch.Tensor  # (B, 1) long
    lengths: torch.Tensor  # (B,)
    vol: torch.Tensor  # (B, T)


def make_batch(config: dict[str, Any]) -> Batch:
    """Deterministic inputs (a private seeded generator)."""
    gen = torch.Generator().manual_seed(20241206)
    data, model = config["data"], config["model"]
    hop, n_freq = data["hop_length"], data["filter_length"] // 2 + 1
    c = torch.randn(BATCH, model["ssl_dim"], FRAMES, generator=gen)
    f0 = 90.0 + 400.0 * torch.rand(BATCH, FRAMES, generator=gen)
    f0[:, 3] = 0.0  # unvoiced frames: noise excitation, uv 0, coarse pitch bin 1
    f0[1, 7] = 0.0
    uv = (f0 > 0).float()
    spec = 0.01 + torch.rand(BATCH, n_freq, FRAMES, generator=gen)
    wave = 0.5 * torch.tanh(torch.randn(BATCH, 1, FRAMES * hop, generator=gen))
    vol = torch.rand(BATCH, FRAMES, generator=gen)
    sid = torch.tensor([[0], [2]], dtype=torch.long)
    lengths = torch.tensor(LENGTHS, dtype=torch.long)
    return Batch(c, f0, uv, spec, wave, sid, lengths, vol)
