"""Shared tiny VITS configs for the model tests: small widths so a full G+D step takes well
under a second on two CPU cores, while every component (SDP, speaker conditioning, ...) exists.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("torch")

import torch  # noqa: E402

TINY_CONFIG: dict[str, Any] = {
    "train": {"segment_size": 128, "c_mel": 45, "c_kl": 1.0},
    "data": {
        "sampling_rate": 8000,
        "filter_length": 64,
        "hop_length": 16,
        "win_length": 64,
        "n_mel_channels": 20,
        "mel_fmin": 0.0,
        "mel_fmax": None,
        "n_speakers": 0,
    },
    "model": {
        "inter_channels": 8,
        "hidden_channels": 16,
        "filter_channels": 32,
        "n_heads": 2,
        "n_layers": 2,
        "kernel_size": 3,
        "p_dropout": 0.1,
        "resblock": "1",
        "resblock_kernel_sizes": [3, 5],
        "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5]],
        "upsample_rates": [4, 4],
        "upsample_initial_channel": 16,
        "upsample_kernel_sizes": [8, 8],
        "n_layers_q": 3,
        "use_spectral_norm": False,
        # vitscfg dialect: 1/8 of the reference discriminator widths (0.8 M instead of 47 M
        # parameters), same structure; the reference widths are covered by test_model_keys.
        "discriminator_width": 0.125,
    },
}


def _tiny_config(**overrides: Any) -> dict[str, Any]:
    """A deep copy of TINY_CONFIG; ``section__key=value`` keyword overrides."""
    config = copy.deepcopy(TINY_CONFIG)
    for name, value in overrides.items():
        section, key = name.split("__", 1)
        config[section][key] = value
    return config


@pytest.fixture
def tiny_config() -> Any:
    """Factory fixture: ``tiny_config(model__use_sdp=False, data__n_speakers=3, ...)``."""
    return _tiny_config


@pytest.fixture(autouse=True)
def _seed_and_single_thread() -> Iterator[None]:
    """Seed every test, and run it on one intra-op thread: these tensors are tiny, and on a
    busy 2-core machine a second OpenMP thread that is not scheduled stalls every op (measured
    here: a small conv1d took 2.1 ms with 2 threads under load vs 0.15 ms with 1)."""
    torch.manual_seed(0)
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
