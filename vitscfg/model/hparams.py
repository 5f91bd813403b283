"""Typed model hyper-parameters, read once from a VITS config mapping.

Replaces the reference's ``SynthesizerTrn(**hps.model)`` splat, which silently ignored typos:
every field here is explicit, and an optional config key's default lives in exactly one
place (the dataclass field default below). Cross-field sanity checks (hop length vs upsample
rates, segment size vs hop ...) belong to ``vitscfg.lint``; this module only reads values.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Size of the symbol table of jaywalnut310/vits text/symbols.py (pad, punctuation, ASCII
# letters, IPA letters), which every English config in the reference repo trains with.
VITS_ENGLISH_N_SYMBOLS = 178


@dataclass(frozen=True)
class Vits2HParams:
    """VITS2's switches (p0p4k/vits2_pytorch), read by ``vitscfg.model.vits2``."""

    use_transformer_flows: bool
    transformer_flow_type: str  # key of vitscfg.model.transformer_flow.FLOW_TYPES
    use_spk_conditioned_encoder: bool
    use_noise_scaled_mas: bool
    use_duration_discriminator: bool
    duration_discriminator_type: str  # key of DURATION_DISCRIMINATORS
    use_mel_posterior_encoder: bool
    # The fork's train script fixes the MAS noise schedule (no config key sets it).
    mas_noise_scale_initial: float = 0.01
    noise_scale_delta: float = 2e-6

    @property
    def flow_type(self) -> str:
        """The flow variant the generator builds ("vits" without transformer flows)."""
        return self.transformer_flow_type if self.use_transformer_flows else "vits"

    def mas_noise_scale(self, step: int) -> float:
        """Noise scale of the alignment search at optimizer step ``step`` (linear decay to 0)."""
        return max(self.mas_noise_scale_initial - self.noise_scale_delta * step, 0.0)


@dataclass(frozen=True)
class IstftHParams:
    """The inverse-STFT decoders' geometry (MB-iSTFT-VITS), read by ``vitscfg.model.mb_istft``."""

    n_fft: int  # model.gen_istft_n_fft: FFT size of the decoder's inverse STFT
    hop_size: int  # model.gen_istft_hop_size: its hop in samples (of a sub-band)
    subbands: int  # model.subbands for the multi-band/-stream decoders, 1 for plain iSTFT


@dataclass(frozen=True)
class ModelHParams:
    """Everything needed to build the generator and the discriminator."""

    # text / audio front-end (derived from the ``data`` section)
    n_vocab: int
    spec_channels: int  # linear-spectrogram bins = filter_length // 2 + 1
    segment_frames: int  # decoder training window in frames = train.segment_size // hop_length
    hop_length: int
    filter_length: int
    win_length: int
    sampling_rate: int
    n_mel_channels: int
    mel_fmin: float
    mel_fmax: float | None

    # text encoder / prior
    inter_channels: int
    hidden_channels: int
    filter_channels: int
    n_heads: int
    n_layers: int
    kernel_size: int
    p_dropout: float

    # HiFi-GAN decoder
    resblock: str
    resblock_kernel_sizes: tuple[int, ...]
    resblock_dilation_sizes: tuple[tuple[int, ...], ...]
    upsample_rates: tuple[int, ...]
    upsample_initial_channel: int
    upsample_kernel_sizes: tuple[int, ...]

    # optional keys; these defaults are the reference's
    n_speakers: int = 0  # data.n_speakers; a speaker embedding exists when > 1
    gin_channels: int = 0  # model.gin_channels; conditioning layers exist when > 0
    use_sdp: bool = True  # model.use_sdp; stochastic (True) or deterministic duration predictor
    use_spectral_norm: bool = False  # model.use_spectral_norm; discriminator only
    decoder: str = "hifigan"  # model.decoder; key of vitscfg.model.decoder.DECODERS
    # model.discriminator_width (vitscfg dialect only): channel multiplier of every
    # discriminator conv; < 1 makes CPU smoke runs feasible (D is ~47 M parameters).
    discriminator_width: float = 1.0
    # VITS2's switches when the config is a VITS2 one (set by vitscfg.model.vits2), else None.
    vits2: Vits2HParams | None = None
    # The iSTFT decoders' geometry when ``decoder`` is one of them (vitscfg.model.mb_istft).
    istft: IstftHParams | None = None

    @property
    def upsample_factor(self) -> int:
        """Audio samples per latent frame produced by the decoder."""
        return math.prod(self.upsample_rates)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], n_vocab: int | None = None) -> ModelHParams:
        """Read a VITS config mapping (``data``, ``model`` and ``train.segment_size``).

        ``n_vocab``: explicit symbol count; otherwise the length of a top-level ``symbols``
        list when the config carries one, else the reference English set (178).
        """
        data = _section(config, "data")
        model = _section(config, "model")
        train = _section(config, "train")
        if n_vocab is None:
            symbols = config.get("symbols")
            n_vocab = len(symbols) if isinstance(symbols, list) else VITS_ENGLISH_N_SYMBOLS

        hop_length = int(_required(data, "data.hop_length"))
        filter_length = int(_required(data, "data.filter_length"))
        fmax = data.get("mel_fmax")
        return cls(
            n_vocab=n_vocab,
            spec_channels=filter_length // 2 + 1,
            segment_frames=int(_required(train, "train.segment_size")) // hop_length,
            hop_length=hop_length,
            filter_length=filter_length,
            win_length=int(_required(data, "data.win_length")),
            sampling_rate=int(_required(data, "data.sampling_rate")),
            n_mel_channels=int(_required(data, "data.n_mel_channels")),
            mel_fmin=float(_required(data, "data.mel_fmin")),
            mel_fmax=None if fmax is None else float(fmax),
            inter_channels=int(_required(model, "model.inter_channels")),
            hidden_channels=int(_required(model, "model.hidden_channels")),
            filter_channels=int(_required(model, "model.filter_channels")),
            n_heads=int(_required(model, "model.n_heads")),
            n_layers=int(_required(model, "model.n_layers")),
            kernel_size=int(_required(model, "model.kernel_size")),
            p_dropout=float(_required(model, "model.p_dropout")),
            resblock=str(_required(model, "model.resblock")),
            resblock_kernel_sizes=tuple(
                int(k) for k in _required(model, "model.resblock_kernel_sizes")
            ),
            resblock_dilation_sizes=tuple(
                tuple(int(d) for d in ds)
                for ds in _required(model, "model.resblock_dilation_sizes")
            ),
            upsample_rates=tuple(int(r) for r in _required(model, "model.upsample_rates")),
            upsample_initial_channel=int(_required(model, "model.upsample_initial_channel")),
            upsample_kernel_sizes=tuple(
                int(k) for k in _required(model, "model.upsample_kernel_sizes")
            ),
            n_speakers=int(_optional(data, "n_speakers")),
            gin_channels=int(_optional(model, "gin_channels")),
            use_sdp=bool(_optional(model, "use_sdp")),
            use_spectral_norm=bool(_optional(model, "use_spectral_norm")),
            decoder=str(_optional(model, "decoder")),
            discriminator_width=float(_optional(model, "discriminator_width")),
        )


_DEFAULTS: dict[str, Any] = {
    f.name: f.default
    for f in dataclasses.fields(ModelHParams)
    if f.default is not dataclasses.MISSING
}


def _section(config: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    section = config.get(name)
    if not isinstance(section, Mapping):
        raise ValueError(f"config has no {name!r} section (a JSON object is required)")
    return section


def _required(section: Mapping[str, Any], path: str) -> Any:
    """Value of a required key; ``path`` is ``section.key`` for the error message."""
    key = path.split(".", 1)[1]
    if section.get(key) is None:
        raise ValueError(f"config key {path} is required to build the model")
    return section[key]


def _optional(section: Mapping[str, Any], key: str) -> Any:
    """Value of an optional key, defaulting to the dataclass field default (single source)."""
    value = section.get(key)
    return _DEFAULTS[key] if value is None else value
