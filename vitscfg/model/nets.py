"""Every trained network of a config's model, under stable names, chosen by the fork.

`build_nets(config)` is the one entry point the trainer, the estimator's trace and
checkpoint loading share. Each fork (the dialect `check` detects) registers a builder that
returns its networks as ``{"G": generator, "D": discriminator, ...}``; extra networks keep
fork-neutral names (``"DurDisc"`` for a duration discriminator, ``"WavLMDisc"`` for a WavLM
discriminator head) so a caller can loop over them (one optimizer, one checkpoint file
each) without knowing the fork.

A dialect without its own builder gets the VITS builder: the VITS model with the config's
sizes, a proxy of the fork's model (``vitscfg.model.support`` says what it lacks).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import Any

from torch import nn

from vitscfg.model.discriminators import MultiPeriodDiscriminator
from vitscfg.model.hparams import ModelHParams
from vitscfg.model.synthesizer import SynthesizerTrn

#: A fork's builder: (config mapping, explicit symbol count or None) -> named networks.
NetsBuilder = Callable[[Mapping[str, Any], "int | None"], dict[str, nn.Module]]

#: dialect name (see vitscfg.config.dialect.DIALECTS) -> builder.
NET_BUILDERS: dict[str, NetsBuilder] = {}

#: The builder for dialects that register none.
FALLBACK_DIALECT = "vits"


def register_nets(*dialects: str) -> Callable[[NetsBuilder], NetsBuilder]:
    """Decorator: ``builder`` builds the networks of each of ``dialects``."""

    def register(builder: NetsBuilder) -> NetsBuilder:
        for name in dialects:
            if name in NET_BUILDERS:
                raise ValueError(f"dialect {name!r} already has a network builder")
            NET_BUILDERS[name] = builder
        return builder

    return register


@register_nets("vits", "vitscfg")
def build_vits_nets(config: Mapping[str, Any], n_vocab: int | None = None) -> dict[str, nn.Module]:
    """VITS (jaywalnut310/vits, vitscfg's trainer): generator and multi-period discriminator."""
    hp = ModelHParams.from_config(config, n_vocab=n_vocab)
    return {
        "G": SynthesizerTrn(hp),
        "D": MultiPeriodDiscriminator(hp.use_spectral_norm, width=hp.discriminator_width),
    }


def load_config(config: str | os.PathLike[str] | Mapping[str, Any]) -> Mapping[str, Any]:
    """A config mapping from a JSON path, or the mapping itself."""
    if isinstance(config, (str, os.PathLike)):
        with open(config, encoding="utf-8") as f:
            config = json.load(f)
    if not isinstance(config, Mapping):
        raise ValueError("a VITS config must be a JSON object")
    return config


def nets_dialect(config: Mapping[str, Any], dialect: str | None = None) -> str:
    """The registry key whose builder builds ``config``: ``dialect`` when given, else the
    detected one; the VITS fallback when that dialect registers no builder."""
    if dialect is None:
        # Lazy: the torch-free config package is only needed when the caller did not say.
        from vitscfg.config.dialect import detect_dialect

        guess = detect_dialect(dict(config))
        dialect = guess.name if guess else FALLBACK_DIALECT
    return dialect if dialect in NET_BUILDERS else FALLBACK_DIALECT


def build_nets(
    config: str | os.PathLike[str] | Mapping[str, Any],
    dialect: str | None = None,
    n_vocab: int | None = None,
) -> dict[str, nn.Module]:
    """Every trained network of ``config``'s model, keyed ``"G"``, ``"D"`` and the fork's
    extra names (``"DurDisc"`` ...), each with the fork's own state_dict keys and shapes.

    ``dialect``: the fork (as `check` names it); detected from the config when None.
    ``n_vocab`` overrides the fork's symbol count.
    """
    mapping = load_config(config)
    return NET_BUILDERS[nets_dialect(mapping, dialect)](mapping, n_vocab)
