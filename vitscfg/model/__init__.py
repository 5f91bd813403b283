"""VITS model components (generator, discriminator, losses, spectrograms).

Imported by training and estimation only; ``vitscfg.config`` and ``vitscfg.lint`` must never
import this package (it pulls in torch).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from vitscfg.model.discriminators import MultiPeriodDiscriminator
from vitscfg.model.hparams import ModelHParams
from vitscfg.model.synthesizer import SynthesizerTrn

__all__ = ["ModelHParams", "MultiPeriodDiscriminator", "SynthesizerTrn", "build_models"]


def build_models(
    config: str | os.PathLike[str] | Mapping[str, Any], n_vocab: int | None = None
) -> tuple[SynthesizerTrn, MultiPeriodDiscriminator]:
    """Build ``(generator, discriminator)`` from a JSON config path or a loaded mapping.

    ``n_vocab`` overrides the symbol count (see ``ModelHParams.from_config``).
    """
    if isinstance(config, (str, os.PathLike)):
        with open(config, encoding="utf-8") as f:
            config = json.load(f)
    if not isinstance(config, Mapping):
        raise ValueError("a VITS config must be a JSON object")
    hp = ModelHParams.from_config(config, n_vocab=n_vocab)
    return SynthesizerTrn(hp), MultiPeriodDiscriminator(
        hp.use_spectral_norm, width=hp.discriminator_width
    )
