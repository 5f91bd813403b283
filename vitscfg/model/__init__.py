"""VITS model components (generator, discriminator, losses, spectrograms).

Imported by training and estimation only; ``vitscfg.config`` and ``vitscfg.lint`` must never
import this package (it pulls in torch).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from vitscfg.model.discriminators import MultiPeriodDiscriminator
from vitscfg.model.hparams import ModelHParams
from vitscfg.model.nets import NET_BUILDERS, build_nets, load_config, register_nets
from vitscfg.model.synthesizer import SynthesizerTrn

# Fork modules register their network builders (vitscfg.model.nets) when imported.
from vitscfg.model import rvc as _rvc  # noqa: E402,F401  # isort: skip
from vitscfg.model import vits2 as _vits2  # noqa: E402,F401  # isort: skip
from vitscfg.model import mb_istft as _mb_istft  # noqa: E402,F401  # isort: skip
from vitscfg.model import svc as _svc  # noqa: E402,F401  # isort: skip
from vitscfg.model import bert_vits2 as _bert_vits2  # noqa: E402,F401  # isort: skip
from vitscfg.model import gpt_sovits as _gpt_sovits  # noqa: E402,F401  # isort: skip

__all__ = [
    "NET_BUILDERS",
    "ModelHParams",
    "MultiPeriodDiscriminator",
    "SynthesizerTrn",
    "build_models",
    "build_nets",
    "register_nets",
]


def build_models(
    config: str | os.PathLike[str] | Mapping[str, Any], n_vocab: int | None = None
) -> tuple[SynthesizerTrn, MultiPeriodDiscriminator]:
    """Build ``(generator, discriminator)`` from a JSON config path or a loaded mapping.

    ``n_vocab`` overrides the symbol count (see ``ModelHParams.from_config``).
    """
    hp = ModelHParams.from_config(load_config(config), n_vocab=n_vocab)
    return SynthesizerTrn(hp), MultiPeriodDiscriminator(
        hp.use_spectral_norm, width=hp.discriminator_width
    )
