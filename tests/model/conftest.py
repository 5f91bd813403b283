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

from tests.model.golden import TINY_DATA, TINY_MODEL, TINY_TRAIN  # noqa: E402

TINY_CONFIG: dict[str, Any] = copy.deepcopy(
    {
        "train": {key: TINY_TRAIN[key] for key in ("segment_size", "c_mel", "c_kl")},
        "data": {**TINY_DATA, "sampling_rate": 8000, "n_speakers": 0},
        "model": {
            **TINY_MODEL,
            "p_dropout": 0.1,
            "n_layers_q": 3,
            "use_spectral_norm": False,
            # vitscfg dialect: 1/8 of the reference discriminator widths (0.8 M instead of 47 M
            # parameters), same structure; the reference widths are covered by test_model_keys.
            "discriminator_width": 0.125,
        },
    }
)


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
