"""Interchange with jaywalnut310/vits checkpoints (``G_*.pth`` / ``D_*.pth``).

Those files are dicts ``{"model", "iteration", "optimizer", "learning_rate"}``. Note the
reference stores the *epoch* under "iteration" and the *initial* learning rate under
"learning_rate". Loading is strict: a key or shape mismatch raises with the offending keys,
never silently keeps a random init (the reference's bare ``except`` did).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

REFERENCE_KEYS = ("model", "iteration", "optimizer", "learning_rate")
_DDP_PREFIX = "module."


def model_state_from_checkpoint(checkpoint: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """The "model" state dict of a reference checkpoint, without a DDP ``module.`` prefix."""
    if "model" not in checkpoint:
        raise ValueError(
            f"not a VITS checkpoint: expected keys {REFERENCE_KEYS}, found {sorted(checkpoint)}"
        )
    state: Mapping[str, torch.Tensor] = checkpoint["model"]
    if state and all(key.startswith(_DDP_PREFIX) for key in state):
        return {key[len(_DDP_PREFIX) :]: value for key, value in state.items()}
    return dict(state)


def load_reference_state(module: nn.Module, checkpoint: Mapping[str, Any]) -> None:
    """Load a reference checkpoint dict's "model" into ``module`` with ``strict=True``."""
    module.load_state_dict(model_state_from_checkpoint(checkpoint), strict=True)


def load_reference_checkpoint(
    module: nn.Module, path: str | os.PathLike[str], map_location: str | torch.device = "cpu"
) -> dict[str, Any]:
    """Read a ``G_*.pth``/``D_*.pth`` file (tensors and plain values only), load its weights
    strictly into ``module`` and return the whole dict (for the optimizer state etc.)."""
    checkpoint: dict[str, Any] = torch.load(path, map_location=map_location, weights_only=True)
    load_reference_state(module, checkpoint)
    return checkpoint


def reference_checkpoint(
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    epoch: int,
    learning_rate: float,
) -> dict[str, Any]:
    """Build a dict the reference ``load_checkpoint`` accepts (epoch goes under "iteration")."""
    return {
        "model": module.state_dict(),
        "iteration": epoch,
        "optimizer": optimizer.state_dict(),
        "learning_rate": learning_rate,
    }
