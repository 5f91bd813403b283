"""VITS2 (p0p4k/vits2_pytorch): its networks from its config, for `build_nets`.

The generator is vitscfg's VITS generator with VITS2's switches (``ModelHParams.vits2``); the
discriminator is the VITS multi-period discriminator; the duration discriminator, when the
config enables it, is the third trained network (``"DurDisc"``, its own optimizer).

How the fork's train scripts turn a config into networks, and so what is built here:

- n_vocab is the fork's own symbol table (``text/symbols.py``: 178 symbols); a config has no
  say in it.
- ``model.use_mel_posterior_encoder`` (the data section's copy is overwritten by the script)
  feeds the posterior encoder mel frames instead of the linear spectrogram. The fork
  hard-codes 80 input channels there; every shipped config has ``n_mel_channels`` 80, and
  the data loader produces ``n_mel_channels`` bins, so that is the width built here.
- The duration discriminator type defaults to ``dur_disc_1`` when the key is absent
  (``train_ms.py``'s default; ``train.py`` would stop with an error). ``train_ms.py`` then
  overwrites the type with the list of all types, which matches neither and silently trains
  without a duration discriminator; vitscfg builds the configured (or default) type instead.
- The alignment-noise schedule (0.01, minus 2e-6 per step) is fixed by the script.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from torch import nn

from vitscfg.config.schema.model import Vits2Model
from vitscfg.model.discriminators import MultiPeriodDiscriminator
from vitscfg.model.duration_discriminator import (
    DURATION_DISCRIMINATORS,
    build_duration_discriminator,
)
from vitscfg.model.hparams import ModelHParams, Vits2HParams
from vitscfg.model.nets import register_nets
from vitscfg.model.synthesizer import SynthesizerTrn

#: len(symbols) of the fork's text/symbols.py (pad, punctuation, ASCII and IPA letters).
VITS2_N_SYMBOLS = 178
#: The fork's transformer_flow_type values (its AVAILABLE_FLOW_TYPES; all in FLOW_TYPES).
VITS2_FLOW_TYPES = (
    "pre_conv",
    "pre_conv2",
    "fft",
    "mono_layer_inter_residual",
    "mono_layer_post_residual",
)
#: The duration discriminator the fork's multi-speaker script falls back to.
DEFAULT_DURATION_DISCRIMINATOR = "dur_disc_1"


def _flag(model: Mapping[str, Any], key: str) -> Any:
    """``model[key]``, or the VITS2 schema's default (the one source of these defaults)."""
    value = model.get(key)
    return Vits2Model.model_fields[key].default if value is None else value


def vits2_hparams(config: Mapping[str, Any], n_vocab: int | None = None) -> ModelHParams:
    """``ModelHParams`` of a VITS2 config, with ``vits2`` set. Raises ValueError on a flow or
    duration-discriminator type the fork does not have."""
    hp = ModelHParams.from_config(config, n_vocab=VITS2_N_SYMBOLS if n_vocab is None else n_vocab)
    model = config["model"]
    options = Vits2HParams(
        use_transformer_flows=bool(_flag(model, "use_transformer_flows")),
        transformer_flow_type=str(_flag(model, "transformer_flow_type")),
        use_spk_conditioned_encoder=bool(_flag(model, "use_spk_conditioned_encoder")),
        use_noise_scaled_mas=bool(_flag(model, "use_noise_scaled_mas")),
        use_duration_discriminator=bool(_flag(model, "use_duration_discriminator")),
        duration_discriminator_type=str(
            model.get("duration_discriminator_type") or DEFAULT_DURATION_DISCRIMINATOR
        ),
        use_mel_posterior_encoder=bool(_flag(model, "use_mel_posterior_encoder")),
    )
    if options.use_transformer_flows and options.transformer_flow_type not in VITS2_FLOW_TYPES:
        raise ValueError(
            f"model.transformer_flow_type {options.transformer_flow_type!r} is not one of "
            f"VITS2's flows: {', '.join(VITS2_FLOW_TYPES)}"
        )
    if (
        options.use_duration_discriminator
        and options.duration_discriminator_type not in DURATION_DISCRIMINATORS
    ):
        raise ValueError(
            f"model.duration_discriminator_type {options.duration_discriminator_type!r} is not "
            f"one of VITS2's: {', '.join(DURATION_DISCRIMINATORS)}"
        )
    if options.use_spk_conditioned_encoder and hp.n_speakers == 0:
        raise ValueError(
            "model.use_spk_conditioned_encoder needs a multi-speaker model "
            "(data.n_speakers > 0), as in the fork's training script"
        )
    spec_channels = hp.n_mel_channels if options.use_mel_posterior_encoder else hp.spec_channels
    return dataclasses.replace(hp, vits2=options, spec_channels=spec_channels)


@register_nets("vits2")
def build_vits2_nets(config: Mapping[str, Any], n_vocab: int | None = None) -> dict[str, nn.Module]:
    """VITS2's trained networks: "G", "D" and, when enabled, "DurDisc"."""
    hp = vits2_hparams(config, n_vocab)
    assert hp.vits2 is not None
    nets: dict[str, nn.Module] = {
        "G": SynthesizerTrn(hp),
        # Real and fake in two calls, as the fork's step: two weight-normed weight copies
        # live until backward (+187 MB at ljs_base), which an exact trace must see.
        "D": MultiPeriodDiscriminator(
            hp.use_spectral_norm, width=hp.discriminator_width, joint=False
        ),
    }
    if hp.vits2.use_duration_discriminator:
        nets["DurDisc"] = build_duration_discriminator(
            hp.vits2.duration_discriminator_type, hp.hidden_channels
        )
    return nets
