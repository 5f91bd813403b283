"""The `model` section, per dialect: generator and discriminator hyper-parameters.

In the reference the section is splatted into SynthesizerTrn(**hps.model), whose
signature ends in **kwargs, so unknown keys vanish silently. Here every key is
declared.
"""

from __future__ import annotations

from typing import Any, Literal

from vitscfg.config.schema.base import Section, field

_NOOP_NLQ = {
    "n_layers_q": "ignored: the posterior encoder is hard-coded to 16 WaveNet layers "
    "(only daniilrobnikov/vits2 reads it)"
}


class VitsModel(Section):
    NOOP = _NOOP_NLQ
    inter_channels: int = field(
        en="Width of the latent z (flow coupling splits it: even).", reference=192, gt=0
    )
    hidden_channels: int = field(
        en="Text-encoder width (divisible by n_heads).", reference=192, gt=0
    )
    filter_channels: int = field(en="Feed-forward width of the text encoder.", reference=768, gt=0)
    n_heads: int = field(en="Attention heads of the text encoder.", reference=2, gt=0)
    n_layers: int = field(en="Transformer layers of the text encoder.", reference=6, gt=0)
    kernel_size: int = field(
        en="Feed-forward convolution kernel of the text encoder.", reference=3, gt=0
    )
    p_dropout: float = field(en="Dropout of the text encoder.", reference=0.1, ge=0, lt=1)
    resblock: Any = field(
        en='HiFi-GAN residual block type: the string "1" or "2" (any other '
        "value silently selects type 2).",
        reference="1",
    )
    resblock_kernel_sizes: list[int] = field(
        en="Kernel sizes of the parallel residual blocks (odd).", reference=[3, 7, 11]
    )
    resblock_dilation_sizes: list[list[int]] = field(
        en="Dilations per residual block (>= 3 each for type 1, >= 2 for type 2).",
        reference=[[1, 3, 5], [1, 3, 5], [1, 3, 5]],
    )
    upsample_rates: list[int] = field(
        en="Decoder upsampling strides; their product must equal data.hop_length.",
        reference=[8, 8, 2, 2],
    )
    upsample_initial_channel: int = field(
        en="Decoder channels before the first upsampling (halved at each stage).",
        reference=512,
        gt=0,
    )
    upsample_kernel_sizes: list[int] = field(
        en="Transposed-convolution kernels, one per stride, "
        "each >= its stride with an even difference.",
        reference=[16, 16, 4, 4],
    )
    use_spectral_norm: bool = field(
        en="Spectral instead of weight normalisation in the discriminators.", reference=False
    )
    n_layers_q: int | None = field(None, en="Posterior-encoder layers (ignored).", gt=0)
    n_speakers: int | None = field(None, en="Not read from model in vits (see data.n_speakers).")
    gin_channels: int = field(0, en="Speaker-vector width; > 0 whenever n_speakers > 0.", ge=0)
    use_sdp: bool = field(True, en="Stochastic (true) or deterministic (false) duration predictor.")


_FLOW_TYPES = Literal[
    "pre_conv", "pre_conv2", "fft", "mono_layer_inter_residual", "mono_layer_post_residual"
]


class Vits2Model(VitsModel):
    use_mel_posterior_encoder: bool = field(
        False,
        en="Posterior encoder on mel (80 channels, hard-coded) instead of the linear spectrogram.",
    )
    use_transformer_flows: bool = field(False, en="Transformer blocks in the flow.")
    transformer_flow_type: _FLOW_TYPES = field(
        "pre_conv", en="Flow variant (an assert rejects any other value)."
    )
    use_spk_conditioned_encoder: bool = field(
        False, en="Condition the text encoder on the speaker (forced off when n_speakers == 0)."
    )
    use_noise_scaled_mas: bool = field(
        False, en="Noise-scaled alignment search (noise 0.01, decaying 2e-6 per step)."
    )
    use_duration_discriminator: bool = field(False, en="Adversarial duration discriminator.")
    duration_discriminator_type: str | None = field(None, en="Duration discriminator variant.")


class MbIstftModel(VitsModel):
    istft_vits: bool = field(
        False, en="iSTFT decoder: prod(upsample_rates) x gen_istft_hop_size == hop_length."
    )
    mb_istft_vits: bool = field(False, en="Multi-band iSTFT decoder (x subbands).")
    ms_istft_vits: bool = field(False, en="Multi-stream iSTFT decoder (x subbands).")
    subbands: int | bool = field(False, en="Number of sub-bands (false when unused).")
    gen_istft_n_fft: int | None = field(None, en="iSTFT size of the decoder.", gt=0)
    gen_istft_hop_size: int | None = field(None, en="iSTFT hop of the decoder.", gt=0)


class MbIstft2Model(MbIstftModel, Vits2Model):
    monotonic_align: str | None = field(None, en='Alignment implementation ("sma_v1", ...).')


class BertVits2Model(Vits2Model):
    NOOP = {
        **_NOOP_NLQ,
        "use_mel_posterior_encoder": "Bert-VITS2 always feeds the linear "
        "spectrogram to the posterior encoder",
    }
    n_layers_trans_flow: int = field(4, en="Layers of the transformer flow.", gt=0)
    slm: dict[str, Any] | None = field(
        None, en="WavLM discriminator settings (model, sr 16000, hidden, nlayers, initial_channel)."
    )
    use_wavlm_discriminator: bool = field(True, en="Adversarial WavLM discriminator.")
    gin_channels: int = field(256, en="Speaker-vector width.", ge=0)


class MeloModel(BertVits2Model):
    pass


class SoVitsSvcModel(VitsModel):
    NOOP = _NOOP_NLQ
    ssl_dim: int = field(
        en="Content-encoder feature width: must match speech_encoder "
        "(768 vec768l12, 256 vec256l9, 1024 whisper-ppg).",
        reference=768,
        gt=0,
    )
    n_speakers: int = field(
        en="Speaker-table rows (set by preprocessing).",
        reference=200,
        gt=0,
    )
    gin_channels: int = field(256, en="Speaker-vector width.", gt=0)
    speech_encoder: str | None = field(None, en="Content encoder (vec768l12, hubertsoft, ...).")
    vocoder_name: str | None = field(None, en="Vocoder (nsf-hifigan).")
    use_automatic_f0_prediction: bool | None = field(None, en="Predict F0 at inference.")
    vol_embedding: bool = field(False, en="Volume embedding; needed by train.vol_aug.")
    speaker_embedding: bool | None = field(None, en="Use speaker embeddings from an encoder.")
    use_depthwise_conv: bool | None = field(None, en="Depthwise convolutions (lighter model).")
    flow_share_parameter: bool | None = field(None, en="Share flow parameters.")
    n_flow_layer: int | None = field(None, en="Flow layers.", gt=0)
    n_layers_trans_flow: int | None = field(None, en="Layers of the transformer flow.", gt=0)
    use_transformer_flow: bool | None = field(None, en="Transformer flow.")


class SvcForkModel(SoVitsSvcModel):
    type_: str = field("hifi-gan", en="Decoder type (hifi-gan, ms-istft, ...).")
    pretrained: dict[str, str] | None = field(None, en="URLs of the initial G/D.")
    gen_istft_n_fft: int | None = field(None, en="iSTFT size.", gt=0)
    gen_istft_hop_size: int | None = field(None, en="iSTFT hop.", gt=0)
    subbands: int | bool | None = field(None, en="Sub-bands.")


class RvcModel(VitsModel):
    spk_embed_dim: int = field(en="Speaker-table size.", reference=109, gt=0)
    gin_channels: int = field(256, en="Speaker-vector width.", gt=0)


class ApplioModel(RvcModel):
    text_enc_hidden_dim: int = field(
        768, en="Width of the content features the text encoder reads (768: v2 features).", gt=0
    )


class GptSovitsModel(VitsModel):
    semantic_frame_rate: Literal["25hz", "50hz"] = field(
        en="Semantic-token rate: 25hz halves the 50 Hz SSL frames with a stride-2 projection "
        "(every shipped config); the model accepts nothing else and has no default (its "
        "SynthesizerTrn asserts one of the two).",
        reference="25hz",
    )
    freeze_quantizer: bool | None = field(None, en="Freeze the VQ.")
    version: Literal["v1", "v2", "v2Pro", "v2ProPlus", "v3", "v4"] | None = field(
        None,
        en="Model version (set by the WebUI): v1/v2 differ in the phone table, v2Pro/"
        "v2ProPlus add a speaker-verification embedding, v3/v4 train another model "
        "(s2_train_v3_lora.py).",
    )
    gin_channels: int = field(512, en="Speaker-vector width.", ge=0)


class VitscfgModel(VitsModel):
    """vitscfg's trainer: the reference generator, plus two choices the forks hard-code."""

    decoder: Literal["hifigan"] = field(
        "hifigan",
        en="Decoder architecture, chosen from vitscfg's registry (only the HiFi-GAN decoder of "
        "VITS today; iSTFT decoders slot in here).",
    )
    discriminator_width: float = field(
        1.0,
        en="Channel multiplier of every discriminator layer. 1.0 keeps the reference shapes "
        "(needed to load reference D checkpoints); 0.125-0.25 makes CPU training of small "
        "models practical, since the 47 M-parameter discriminator dominates a CPU step.",
        effect="Discriminator memory and time scale roughly with the square of the width.",
        gt=0,
        le=1,
    )
