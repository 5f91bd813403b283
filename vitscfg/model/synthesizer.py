"""The VITS generator (``SynthesizerTrn`` in the reference): text encoder + posterior encoder +
flow + duration predictor + waveform decoder, trained end to end with MAS alignments.

Sub-module names (``enc_p``, ``enc_q``, ``flow``, ``dp``, ``dec``, ``emb_g``) are those of the
reference checkpoints.

With ``hp.vits2`` set it is VITS2's generator (p0p4k/vits2_pytorch): the flow variant and the
speaker-conditioned text encoder come from the config, the alignment search can be
noise-scaled, and the forward pass also returns what the duration discriminator judges.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from vitscfg.model.commons import generate_path, rand_slice_segments, sequence_mask
from vitscfg.model.decoder import build_decoder
from vitscfg.model.duration import DurationPredictor, StochasticDurationPredictor
from vitscfg.model.hparams import ModelHParams
from vitscfg.model.istft_decoder import IstftDecoder
from vitscfg.model.mas import maximum_path
from vitscfg.model.posterior_encoder import PosteriorEncoder
from vitscfg.model.text_encoder import TextEncoder
from vitscfg.model.transformer_flow import FlowSizes, build_flow

# Fixed by the reference architecture, not by the configs (model.n_layers_q is ignored there).
POSTERIOR_KERNEL, POSTERIOR_LAYERS = 5, 16
FLOW_KERNEL, FLOW_LAYERS, FLOW_COUPLINGS = 5, 4, 4
SDP_KERNEL, SDP_DROPOUT, SDP_FLOWS = 3, 0.5, 4
DP_FILTER_CHANNELS, DP_KERNEL, DP_DROPOUT = 256, 3, 0.5


class TrainOutput(NamedTuple):
    """What the training losses need from one generator forward pass."""

    audio: torch.Tensor  # (B, 1, segment_frames * hop) decoded window
    dur_loss: torch.Tensor  # (B,) duration loss per item, already divided by the token count
    attn: torch.Tensor  # (B, 1, T_spec, T_text) MAS alignment
    ids_slice: torch.Tensor  # (B,) start frame of each decoded window
    x_mask: torch.Tensor  # (B, 1, T_text)
    y_mask: torch.Tensor  # (B, 1, T_spec)
    z: torch.Tensor  # (B, C, T_spec) posterior sample
    z_p: torch.Tensor  # (B, C, T_spec) posterior sample mapped into the prior space
    m_p: torch.Tensor  # (B, C, T_spec) prior mean expanded along the alignment
    logs_p: torch.Tensor  # (B, C, T_spec) prior log-std expanded along the alignment
    m_q: torch.Tensor  # (B, C, T_spec)
    logs_q: torch.Tensor  # (B, C, T_spec)
    # VITS2 only (None for VITS): the duration discriminator's inputs.
    hidden_x: torch.Tensor | None = None  # (B, H, T_text) text-encoder states
    logw: torch.Tensor | None = None  # (B, 1, T_text) predicted log-durations
    logw_target: torch.Tensor | None = None  # (B, 1, T_text) log-durations from the alignment
    # Multi-band / multi-stream iSTFT decoders only (MB-iSTFT-VITS): the decoder's band
    # signals, which its sub-band STFT loss compares with the real waveform's.
    audio_bands: torch.Tensor | None = None  # (B, subbands, T_band)


class InferOutput(NamedTuple):
    audio: torch.Tensor  # (B, 1, max(lengths) * hop); item b is valid up to lengths[b] * hop
    attn: torch.Tensor  # (B, 1, T_spec, T_text)
    durations: torch.Tensor  # (B, 1, T_text) whole frames per token (0 on padding)
    lengths: torch.Tensor  # (B,) frames per item = clamp(sum(durations), min=1)
    y_mask: torch.Tensor  # (B, 1, T_spec)


def _log_likelihood_matrix(
    z_p: torch.Tensor, m_p: torch.Tensor, logs_p: torch.Tensor
) -> torch.Tensor:
    """log N(z_p[:, :, t] | m_p[:, :, i], exp(logs_p[:, :, i])) summed over channels.

    z_p: (B, C, T_spec); m_p, logs_p: (B, C, T_text) -> (B, T_spec, T_text), in float32
    (the reference does the matmuls in fp16 under autocast, a precision weak spot for MAS).
    """
    with torch.autocast(device_type=z_p.device.type, enabled=False):
        z_p, m_p, logs_p = z_p.float(), m_p.float(), logs_p.float()
        inv_var = torch.exp(-2 * logs_p)  # (B, C, T_text)
        const = torch.sum(-0.5 * math.log(2 * math.pi) - logs_p, [1], keepdim=True)  # (B,1,T_text)
        quad = torch.matmul(-0.5 * (z_p**2).transpose(1, 2), inv_var)  # (B, T_spec, T_text)
        cross = torch.matmul(z_p.transpose(1, 2), m_p * inv_var)  # (B, T_spec, T_text)
        mean_sq = torch.sum(-0.5 * (m_p**2) * inv_var, [1], keepdim=True)  # (B, 1, T_text)
        return const + quad + cross + mean_sq


def _expand(attn: torch.Tensor, stats: torch.Tensor) -> torch.Tensor:
    """Repeat per-token stats (B, C, T_text) along the alignment (B, 1, T_spec, T_text)."""
    path = attn.squeeze(1).to(stats.dtype)  # (B, T_spec, T_text)
    return torch.matmul(path, stats.transpose(1, 2)).transpose(1, 2)  # (B, C, T_spec)


class SynthesizerTrn(nn.Module):
    """VITS generator. ``forward`` is the training pass, ``infer`` synthesises from text."""

    def __init__(self, hp: ModelHParams) -> None:
        super().__init__()
        self.hp = hp
        self.segment_frames = hp.segment_frames
        self.n_speakers = hp.n_speakers
        self.use_sdp = hp.use_sdp
        self.vits2 = hp.vits2
        spk_encoder = hp.vits2 is not None and hp.vits2.use_spk_conditioned_encoder

        self.enc_p = TextEncoder(
            hp.n_vocab,
            hp.inter_channels,
            hp.hidden_channels,
            hp.filter_channels,
            hp.n_heads,
            hp.n_layers,
            hp.kernel_size,
            hp.p_dropout,
            gin_channels=hp.gin_channels if spk_encoder else 0,
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
        self.flow = build_flow(
            hp.vits2.flow_type if hp.vits2 is not None else "vits",
            FlowSizes(
                hp.inter_channels,
                hp.hidden_channels,
                FLOW_KERNEL,
                1,
                FLOW_LAYERS,
                FLOW_COUPLINGS,
                hp.gin_channels,
            ),
        )
        self.dp: StochasticDurationPredictor | DurationPredictor
        if hp.use_sdp:
            self.dp = StochasticDurationPredictor(
                hp.hidden_channels, SDP_KERNEL, SDP_DROPOUT, SDP_FLOWS, hp.gin_channels
            )
        else:
            self.dp = DurationPredictor(
                hp.hidden_channels, DP_FILTER_CHANNELS, DP_KERNEL, DP_DROPOUT, hp.gin_channels
            )
        if hp.n_speakers > 1:
            self.emb_g = nn.Embedding(hp.n_speakers, hp.gin_channels)

    def _speaker(self, sid: torch.Tensor | None) -> torch.Tensor | None:
        """Global condition g (B, gin, 1) for multi-speaker models, else None."""
        if self.n_speakers <= 1:
            return None
        if sid is None:
            raise ValueError(f"model has {self.n_speakers} speakers: pass sid (B,) speaker ids")
        g: torch.Tensor = self.emb_g(sid).unsqueeze(-1)  # (B, gin, 1)
        return g

    def forward(
        self,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        spec: torch.Tensor,
        spec_lengths: torch.Tensor,
        sid: torch.Tensor | None = None,
        mas_noise_scale: float = 0.0,
    ) -> TrainOutput:
        """text: (B, T_text) ids; spec: (B, F, T_spec) linear (VITS2: or mel) spectrogram;
        lengths: (B,). ``mas_noise_scale``: VITS2's noise-scaled alignment search, see
        ``Vits2HParams.mas_noise_scale``."""
        g = self._speaker(sid)
        x, m_p, logs_p, x_mask = self.enc_p(text, text_lengths, g=g)  # x: (B, H, T_text)
        z, m_q, logs_q, y_mask = self.enc_q(spec, spec_lengths, g=g)  # (B, C, T_spec)
        z_p = self.flow(z, y_mask, g=g)

        with torch.no_grad():
            neg_cent = _log_likelihood_matrix(z_p, m_p, logs_p)  # (B, T_spec, T_text)
            if self.vits2 is not None and self.vits2.use_noise_scaled_mas:
                # VITS2: Gaussian noise scaled by the spread of the log-likelihoods lets the
                # search explore other alignments early in training.
                noise = torch.randn_like(neg_cent) * mas_noise_scale
                neg_cent = neg_cent + torch.std(neg_cent) * noise
            attn_mask = x_mask.unsqueeze(2) * y_mask.unsqueeze(-1)  # (B, 1, T_spec, T_text)
            attn = maximum_path(neg_cent, attn_mask.squeeze(1).to(neg_cent.dtype)).unsqueeze(1)

        w = attn.sum(2)  # (B, 1, T_text) frames per token
        n_tokens = torch.sum(x_mask)
        logw: torch.Tensor | None = None
        logw_target = torch.log(w + 1e-6) * x_mask
        if isinstance(self.dp, StochasticDurationPredictor):
            dur_loss = self.dp(x, x_mask, w.to(x.dtype), g=g) / n_tokens
            if self.vits2 is not None:
                # What the duration discriminator judges: a sample of the predictor (with
                # gradients: the predictor learns to fool it).
                logw = self.dp.infer(x, x_mask, g=g, noise_scale=1.0)
        else:
            logw = self.dp(x, x_mask, g=g)
            dur_loss = torch.sum((logw.float() - logw_target) ** 2, [1, 2]) / n_tokens

        m_p = _expand(attn, m_p)  # (B, C, T_spec)
        logs_p = _expand(attn, logs_p)

        z_slice, ids_slice = rand_slice_segments(z, spec_lengths, self.segment_frames)
        audio_bands: torch.Tensor | None = None
        if isinstance(self.dec, IstftDecoder):
            audio, audio_bands = self.dec.decode(z_slice, g=g)
        else:
            audio = self.dec(z_slice, g=g)
        vits2 = self.vits2 is not None
        return TrainOutput(
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
            hidden_x=x if vits2 else None,
            logw=logw if vits2 else None,
            logw_target=logw_target if vits2 else None,
            audio_bands=audio_bands,
        )

    @torch.no_grad()
    def infer(
        self,
        text: torch.Tensor,
        text_lengths: torch.Tensor,
        sid: torch.Tensor | None = None,
        noise_scale: float = 0.667,
        length_scale: float = 1.0,
        noise_scale_w: float = 0.8,
        max_len: int | None = None,
    ) -> InferOutput:
        """Synthesise audio from token ids (B, T_text). ``max_len`` caps the decoded frames."""
        g = self._speaker(sid)
        x, m_p, logs_p, x_mask = self.enc_p(text, text_lengths, g=g)
        if isinstance(self.dp, StochasticDurationPredictor):
            logw = self.dp.infer(x, x_mask, g=g, noise_scale=noise_scale_w)
        else:
            logw = self.dp(x, x_mask, g=g)
        durations = torch.ceil(torch.exp(logw.float()) * x_mask * length_scale)  # (B, 1, T_text)
        lengths = torch.clamp_min(torch.sum(durations, [1, 2]), 1).long()  # (B,)
        y_mask = sequence_mask(lengths).unsqueeze(1).to(x_mask.dtype)  # (B, 1, T_spec)
        attn_mask = x_mask.unsqueeze(2) * y_mask.unsqueeze(-1)  # (B, 1, T_spec, T_text)
        attn = generate_path(durations, attn_mask)

        m_p = _expand(attn, m_p)  # (B, C, T_spec)
        logs_p = _expand(attn, logs_p)
        z_p = m_p + torch.randn_like(m_p) * torch.exp(logs_p) * noise_scale
        z = self.flow(z_p, y_mask, g=g, reverse=True)
        audio = self.dec((z * y_mask)[:, :, :max_len], g=g)
        return InferOutput(audio, attn, durations, lengths, y_mask)

    @torch.no_grad()
    def voice_conversion(
        self,
        spec: torch.Tensor,
        spec_lengths: torch.Tensor,
        sid_src: torch.Tensor,
        sid_tgt: torch.Tensor,
    ) -> torch.Tensor:
        """Re-synthesise a linear spectrogram (B, F, T) of speaker ``sid_src`` as ``sid_tgt``."""
        g_src, g_tgt = self._speaker(sid_src), self._speaker(sid_tgt)
        if g_src is None or g_tgt is None:
            raise ValueError("voice conversion needs a multi-speaker model (n_speakers > 1)")
        z, _, _, y_mask = self.enc_q(spec, spec_lengths, g=g_src)
        z_p = self.flow(z, y_mask, g=g_src)
        z_hat = self.flow(z_p, y_mask, g=g_tgt, reverse=True)
        audio: torch.Tensor = self.dec(z_hat * y_mask, g=g_tgt)
        return audio
