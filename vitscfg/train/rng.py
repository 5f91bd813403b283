"""Random number generators of a training run, captured into a checkpoint and restored
on resume: Python, numpy, torch CPU and every CUDA device, as tensors and plain values
so ``torch.load(weights_only=True)`` reads them."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch


def capture_rng() -> dict[str, Any]:
    """Python, numpy, torch CPU and every CUDA device's generator state, as tensors and
    plain values (weights_only loads them; numpy arrays it would refuse)."""
    version, words, gauss = random.getstate()
    np_state = np.random.get_state(legacy=True)
    assert isinstance(np_state, tuple)  # legacy=True: the 5-tuple form
    state: dict[str, Any] = {
        "python": {
            "version": int(version),
            "state": torch.tensor(words, dtype=torch.int64),
            "gauss": gauss,
        },
        "numpy": {
            "kind": str(np_state[0]),
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "gauss": float(np_state[4]),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    return state


def restore_rng(state: Mapping[str, Any]) -> None:
    """Inverse of ``capture_rng``. CUDA states are restored for the devices present (a
    resume on fewer GPUs restores the first ones)."""
    py = state["python"]
    random.setstate((int(py["version"]), tuple(int(w) for w in py["state"].tolist()), py["gauss"]))
    npy = state["numpy"]
    np.random.set_state(
        (
            npy["kind"],
            npy["keys"].numpy().astype(np.uint32),
            int(npy["pos"]),
            int(npy["has_gauss"]),
            float(npy["gauss"]),
        )
    )
    torch.set_rng_state(state["torch"].cpu())
    cuda_states = list(state.get("cuda", []))
    if cuda_states and torch.cuda.is_available():
        count = min(len(cuda_states), torch.cuda.device_count())
        for index in range(count):
            torch.cuda.set_rng_state(cuda_states[index].cpu(), index)
