"""The Bert-VITS2 family's generator: VITS2 with a BERT-fed text encoder, a transformer
coupling flow and both duration predictors trained together.

Sub-module names (``enc_p``, ``dec``, ``enc_q``, ``flow``, ``sdp``, ``dp``, ``emb_g`` /
``ref_enc``) are the forks' checkpoint names. ``vitscfg.model.bert_vits2`` builds it from a
config.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from vitscfg.model.bert_parts import BertTextEncoder, ReferenceEncoder, TransformerCoupling
from vitscfg.model.commons import rand_slice_segments
from vitscfg.model.decoder import build_decoder
from vitscfg.model.duration import DurationPredictor, StochasticDurationPredictor
from vitscfg.model.flow import Flip
from vitscfg.model.hparams import ModelHParams
from vitscfg.model.mas import maximum_path
from vitscfg.model.posterior_encoder import PosteriorEncoder
from vitscfg.model.synthesizer import _expand, _log_likelihood_matrix
from vitscfg.model.transformer_flow import FlowSizes, FlowStack, build_flow

# Fixed by the forks' model classes, not by their configs.
POSTERIOR_KERNEL, POSTERIOR_LAYERS = 5, 16
FLOW_KERNEL = 5
SDP_KERNEL, SDP_DROPOUT, SDP_FLOWS = 3, 0.5, 4
DP_FILTER_CHANNELS, DP_KERNEL, DP_DROPOUT = 256, 3, 0.5
WAVENET_FLOW_LAYERS = 4


@dataclass(frozen=True)
class BertOptions:
    """The family's switches (see vitscfg.model.bert_vits2 for where each comes from)."""

    n_tones: int
    n_languages: int
    bert_inputs: tuple[tuple[str, int], ...]
    style_channels: int | None
    spk_conditioned_encoder: bool
    use_noise_scaled_mas: bool
    transformer_flow: bool
    n_flow_layer: int
    n_layers_trans_flow: int
    sdp_sample_loss: bool
    refenc_layernorm: bool = False


class BertTextInputs(NamedTuple):
    """What the text encoder reads besides phone ids (per phone unless said otherwise)."""

    tone: torch.Tensor  # (B, T) long
    language: torch.Tensor  # (B, T) long
    berts: Sequence[torch.Tensor]  # (B, D_i, T) per BERT projection, in the variant's order
    style: torch.Tensor | None = None  # (B, 256) style vector (Style-Bert-VITS2)


class BertTrainOutput(NamedTuple):
    """One training forward pass (the forks' tuple, named)."""

    audio: torch.Tensor  # (B, 1, segment_frames * hop)
    dur_loss: torch.Tensor  # (B,) deterministic + stochastic duration losses per token
    attn: torch.Tensor  # (B, 1, T_spec, T_text)
    ids_slice: torch.Tensor  # (B,)
    x_mask: torch.Tensor  # (B, 1, T_text)
    y_mask: torch.Tensor  # (B, 1, T_spec)
    z: torch.Tensor
    z_p: torch.Tensor
    m_p: torch.Tensor  # expanded along the alignment
    logs_p: torch.Tensor
    m_q: torch.Tensor
    logs_q: torch.Tensor
    hidden_x: torch.Tensor  # (B, H, T_text): the duration discriminator's input
    logw: torch.Tensor  # (B, 1, T_text) deterministic prediction
    logw_target: torch.Tensor  # (B, 1, T_text) from the alignment
    logw_sdp: torch.Tensor | None  # (B, 1, T_text) SDP sample (Bert-VITS2 only)
    g: torch.Tensor  # (B, gin, 1) speaker vector


class BertSynthesizer(nn.Module):
    """The generator; ``forward`` is the training pass."""

    def __init__(self, hp: ModelHParams, options: BertOptions) -> None:
        super().__init__()
        self.hp = hp
        self.options = options
        self.segment_frames = hp.segment_frames
        self.n_speakers = hp.n_speakers
        self.enc_p = BertTextEncoder(
            hp.n_vocab,
            options.n_tones,
            options.n_languages,
            hp.inter_channels,
            hp.hidden_channels,
            hp.filter_channels,
            hp.n_heads,
            hp.n_layers,
            hp.kernel_size,
            hp.p_dropout,
            hp.gin_channels if options.spk_conditioned_encoder else 0,
            options.bert_inputs,
            options.style_channels,
        )
        self.dec = build_decoder(hp)
        self.enc_q = PosteriorEncoder(
            hp.spec_channels,
            hp.inter_channels,
            hp.hidden_channels,
            POSTERIOR_KERNEL,
            1,
            POSTERIOR_LAYERS,
            gin_channels=hp.gin_channels,
        )
        self.flow = self._flow(hp, options)
        self.sdp = StochasticDurationPredictor(
            hp.hidden_channels, SDP_KERNEL, SDP_DROPOUT, SDP_FLOWS, hp.gin_channels
        )
        self.dp = DurationPredictor(
            hp.hidden_channels, DP_FILTER_CHANNELS, DP_KERNEL, DP_DROPOUT, hp.gin_channels
        )
        if hp.n_speakers >= 1:
            self.emb_g = nn.Embedding(hp.n_speakers, hp.gin_channels)
        else:
            self.ref_enc = ReferenceEncoder(
                hp.spec_channels, hp.gin_channels, layernorm=options.refenc_layernorm
            )

    @staticmethod
    def _flow(hp: ModelHParams, options: BertOptions) -> FlowStack:
        if not options.transformer_flow:
            sizes = FlowSizes(
                hp.inter_channels,
                hp.hidden_channels,
                FLOW_KERNEL,
                1,
                WAVENET_FLOW_LAYERS,
                options.n_flow_layer,
                hp.gin_channels,
            )
            return build_flow("vits", sizes)
        layers: list[nn.Module] = []
        for _ in range(options.n_flow_layer):
            layers.append(
                TransformerCoupling(
                    hp.inter_channels,
                    hp.hidden_channels,
                    hp.filter_channels,
                    hp.n_heads,
                    options.n_layers_trans_flow,
                    FLOW_KERNEL,
                    hp.p_dropout,
                    hp.gin_channels,
                )
            )
            layers.append(Flip())
        return FlowStack(layers)

    def blank_inputs(self, text: torch.Tensor) -> tuple[torch.Tensor, BertTextInputs]:
        """Phone ids within the table and all-zero side inputs of ``text``'s shape."""
        b, t = text.shape
        zeros = torch.zeros_like(text)
        berts = [
            torch.zeros(b, width, t, device=text.device) for _, width in self.options.bert_inputs
        ]
        style = None
        if self.options.style_channels is not None:
            style = torch.zeros(b, self.options.style_channels, device=text.device)
        ids = torch.remainder(text, self.hp.n_vocab)
        return ids, BertTextInputs(zeros, zeros, berts, style)

    def speaker(self, sid: torch.Tensor | None, spec: torch.Tensor) -> torch.Tensor:
        """g (B, gin, 1): the speaker table's row, or the reference encoder's reading."""
        if self.n_speakers >= 1:
            if sid is None:
                raise ValueError(f"model has {self.n_speakers} speakers: pass sid (B,)")
            g: torch.Tensor = self.emb_g(sid).unsqueeze(-1)
            return g
        ref: torch.Tensor = self.ref_enc(spec.transpose(1, 2))
        return ref.unsqueeze(-1)

    def forward(
        self,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        spec: torch.Tensor,
        spec_lengths: torch.Tensor,
        sid: torch.Tensor | None,
        inputs: BertTextInputs | None = None,
        mas_noise_scale: float = 0.0,
    ) -> BertTrainOutput:
        """text: (B, T_text); spec: (B, F, T_spec) linear spectrogram; ``mas_noise_scale``:
        the alignment noise of this step (0.01 - 2e-6 * step in the forks, floored at 0).

        ``inputs`` None: zero tones, languages, BERT features and style, and phone ids folded
        into the fork's table, for callers that run the VITS step on this generator (the
        estimator's proxy step: same tensors, sizes and memory, none of the meaning)."""
        if inputs is None:
            text, inputs = self.blank_inputs(text)
        g = self.speaker(sid, spec)
        x, m_p, logs_p, x_mask = self.enc_p(
            text, text_lengths, inputs.tone, inputs.language, inputs.berts, inputs.style, g=g
        )
        z, m_q, logs_q, y_mask = self.enc_q(spec, spec_lengths, g=g)
        z_p = self.flow(z, y_mask, g=g)

        with torch.no_grad():
            neg_cent = _log_likelihood_matrix(z_p, m_p, logs_p)
            if self.options.use_noise_scaled_mas:
                noise = torch.randn_like(neg_cent) * mas_noise_scale
                neg_cent = neg_cent + torch.std(neg_cent) * noise
            attn_mask = x_mask.unsqueeze(2) * y_mask.unsqueeze(-1)
            attn = maximum_path(neg_cent, attn_mask.squeeze(1).to(neg_cent.dtype)).unsqueeze(1)

        w = attn.sum(2)  # (B, 1, T_text)
        n_tokens = torch.sum(x_mask)
        sdp_loss = self.sdp(x, x_mask, w.to(x.dtype), g=g) / n_tokens
        logw_target = torch.log(w + 1e-6) * x_mask
        logw = self.dp(x, x_mask, g=g)
        logw_sdp: torch.Tensor | None = None
        if self.options.sdp_sample_loss:
            logw_sdp = self.sdp.infer(x, x_mask, g=g, noise_scale=1.0)
            sdp_loss = sdp_loss + torch.sum((logw_sdp - logw_target) ** 2, [1, 2]) / n_tokens
        dur_loss = torch.sum((logw - logw_target) ** 2, [1, 2]) / n_tokens + sdp_loss

        m_p = _expand(attn, m_p)
        logs_p = _expand(attn, logs_p)
        z_slice, ids_slice = rand_slice_segments(z, spec_lengths, self.segment_frames)
        audio = self.dec(z_slice, g=g)
        return BertTrainOutput(
            audio,
            dur_loss,
            attn,
            ids_slice,
            x_mask,
            y_mask,
            z,
            z_p,
            m_p,
            logs_p,
            m_q,
            logs_q,
            x,
            logw,
            logw_target,
            logw_sdp,
            g,
        )
