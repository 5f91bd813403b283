"""The parts the Bert-VITS2 family (Bert-VITS2 2.x, Style-Bert-VITS2, MeloTTS) adds to VITS2.

- ``BertTextEncoder``: phone, tone and language embeddings plus 1x1 projections of per-phone
  BERT features (and, in Style-Bert-VITS2, a style vector) summed before the transformer.
- ``TransformerCoupling``: a mean-only coupling layer whose conditioning network is the
  relative-attention transformer of the text encoder (speaker-conditioned when g exists).
- ``ReferenceEncoder``: the speaker vector of a model without speaker ids, from the
  spectrogram (six strided 2-D convs and a GRU).
- ``BertDurationDiscriminator``: the duration discriminator with a speaker input and
  normalised blocks, judging with convolutions (``conv``) or a bidirectional LSTM (``lstm``).
- ``WavLMDiscriminator``: a small conv head over the stacked hidden states of a frozen WavLM.

Parameter names and shapes follow the forks' checkpoints, so they load strictly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from vitscfg.model.attentions import Encoder
from vitscfg.model.commons import sequence_mask
from vitscfg.model.norms import LayerNorm, weight_norm
from vitscfg.model.transformer_flow import mean_shift, zero_conv

LRELU_SLOPE = 0.1
#: The reference encoder's conv widths and GRU size (fixed by the forks).
REF_FILTERS = (32, 32, 64, 64, 128, 128)
REF_GRU = 128


class BertTextEncoder(nn.Module):
    """Prior encoder over phones with tone, language, BERT and optional style inputs.

    ``bert_inputs``: (state_dict name, feature width) of each BERT projection, in the order
    ``forward`` receives the feature tensors. ``style_channels``: width of the style vector
    (None: no style input). Returns ``(x, m_p, logs_p, x_mask)`` like the VITS encoder.
    """

    def __init__(
        self,
        n_vocab: int,
        n_tones: int,
        n_languages: int,
        out_channels: int,
        hidden_channels: int,
        filter_channels: int,
        n_heads: int,
        n_layers: int,
        kernel_size: int,
        p_dropout: float,
        gin_channels: int,
        bert_inputs: Sequence[tuple[str, int]],
        style_channels: int | None = None,
    ) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.hidden_channels = hidden_channels
        self.bert_names = tuple(name for name, _ in bert_inputs)
        self.emb = nn.Embedding(n_vocab, hidden_channels)
        self.tone_emb = nn.Embedding(n_tones, hidden_channels)
        self.language_emb = nn.Embedding(n_languages, hidden_channels)
        for table in (self.emb, self.tone_emb, self.language_emb):
            # Scaled so that the sum times sqrt(H) below starts near unit variance.
            nn.init.normal_(table.weight, 0.0, hidden_channels**-0.5)
        for name, width in bert_inputs:
            self.add_module(name, nn.Conv1d(width, hidden_channels, 1))
        if style_channels is not None:
            self.style_proj = nn.Linear(style_channels, hidden_channels)
        self.encoder = Encoder(
            hidden_channels,
            filter_channels,
            n_heads,
            n_layers,
            kernel_size,
            p_dropout,
            gin_channels=gin_channels,
        )
        self.proj = nn.Conv1d(hidden_channels, out_channels * 2, 1)

    def forward(
        self,
        tokens: torch.Tensor,
        lengths: torch.Tensor,
        tone: torch.Tensor,
        language: torch.Tensor,
        berts: Sequence[torch.Tensor],
        style: torch.Tensor | None = None,
        g: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """tokens, tone, language: (B, T) long; berts: (B, D_i, T) per projection;
        style: (B, style_channels) or None; g: (B, gin, 1) or None."""
        if len(berts) != len(self.bert_names):
            raise ValueError(f"expected {len(self.bert_names)} BERT feature tensors")
        x = self.emb(tokens) + self.tone_emb(tone) + self.language_emb(language)
        for name, feats in zip(self.bert_names, berts, strict=True):
            x = x + getattr(self, name)(feats).transpose(1, 2)
        if hasattr(self, "style_proj"):
            if style is None:
                raise ValueError("this text encoder needs a style vector")
            x = x + self.style_proj(style.unsqueeze(1))
        x = (x * math.sqrt(self.hidden_channels)).transpose(1, 2)  # (B, H, T)
        x_mask = sequence_mask(lengths, x.size(2)).unsqueeze(1).to(x.dtype)
        x = self.encoder(x * x_mask, x_mask, g=g)
        stats = self.proj(x) * x_mask
        m_p, logs_p = torch.split(stats, self.out_channels, dim=1)
        return x, m_p, logs_p, x_mask


class TransformerCoupling(nn.Module):
    """Mean-only affine coupling: x1 is shifted by a transformer's reading of x0."""

    def __init__(
        self,
        channels: int,
        hidden_channels: int,
        filter_channels: int,
        n_heads: int,
        n_layers: int,
        kernel_size: int,
        p_dropout: float,
        gin_channels: int,
    ) -> None:
        super().__init__()
        self.half_channels = channels // 2
        self.pre = nn.Conv1d(self.half_channels, hidden_channels, 1)
        self.enc = Encoder(
            hidden_channels,
            filter_channels,
            n_heads,
            n_layers,
            kernel_size,
            p_dropout,
            gin_channels=gin_channels,
        )
        self.post = zero_conv(hidden_channels, self.half_channels)

    def forward(
        self,
        x: torch.Tensor,
        x_mask: torch.Tensor,
        g: torch.Tensor | None = None,
        reverse: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x0, x1 = torch.split(x, [self.half_channels, self.half_channels], dim=1)
        h = self.enc(self.pre(x0) * x_mask, x_mask, g=g)
        return mean_shift(x0, x1, self.post(h) * x_mask, x_mask, reverse)


class ReferenceEncoder(nn.Module):
    """Speaker vector (B, gin) from a spectrogram (B, T, F), for models without speaker ids.

    ``layernorm`` (MeloTTS's ``norm_refenc``): normalise the frequency axis first.
    """

    def __init__(self, spec_channels: int, gin_channels: int, layernorm: bool = False) -> None:
        super().__init__()
        self.spec_channels = spec_channels
        widths = (1, *REF_FILTERS)
        self.convs = nn.ModuleList(
            weight_norm(nn.Conv2d(widths[i], widths[i + 1], 3, stride=2, padding=1))
            for i in range(len(REF_FILTERS))
        )
        freq = spec_channels
        for _ in REF_FILTERS:
            freq = (freq - 3 + 2) // 2 + 1
        self.gru = nn.GRU(REF_FILTERS[-1] * freq, REF_GRU, batch_first=True)
        self.proj = nn.Linear(REF_GRU, gin_channels)
        self.layernorm = nn.LayerNorm(spec_channels) if layernorm else None

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        n = spec.size(0)
        out = spec.reshape(n, 1, -1, self.spec_channels)  # (B, 1, T, F)
        if self.layernorm is not None:
            out = self.layernorm(out)
        for conv in self.convs:
            out = F.relu(conv(out))
        out = out.transpose(1, 2)  # (B, T', C, F')
        out = out.contiguous().view(n, out.size(1), -1)
        self.gru.flatten_parameters()
        _, last = self.gru(out)  # (1, B, 128)
        proj: torch.Tensor = self.proj(last.squeeze(0))
        return proj


class BertDurationDiscriminator(nn.Module):
    """Per-token probability that log-durations are real, given the text encoder's states.

    ``lstm`` (Bert-VITS2 2.3, Style-Bert-VITS2 JP-Extra): a bidirectional LSTM over
    [states, projected durations]; otherwise (MeloTTS, Style-Bert-VITS2) two more
    conv + ReLU + LayerNorm blocks. Forward returns ``[p_real, p_fake]``, each (B, T, 1).
    """

    def __init__(
        self,
        in_channels: int,
        filter_channels: int,
        kernel_size: int,
        p_dropout: float,
        gin_channels: int = 0,
        lstm: bool = False,
    ) -> None:
        super().__init__()
        pad = kernel_size // 2
        self.lstm = lstm
        self.drop = nn.Dropout(p_dropout)
        self.conv_1 = nn.Conv1d(in_channels, filter_channels, kernel_size, padding=pad)
        self.norm_1 = LayerNorm(filter_channels)
        self.conv_2 = nn.Conv1d(filter_channels, filter_channels, kernel_size, padding=pad)
        self.norm_2 = LayerNorm(filter_channels)
        self.dur_proj = nn.Conv1d(1, filter_channels, 1)
        out_width = filter_channels
        if lstm:
            self.LSTM = nn.LSTM(
                2 * filter_channels, filter_channels, batch_first=True, bidirectional=True
            )
            out_width = 2 * filter_channels
        else:
            self.pre_out_conv_1 = nn.Conv1d(
                2 * filter_channels, filter_channels, kernel_size, padding=pad
            )
            self.pre_out_norm_1 = LayerNorm(filter_channels)
            self.pre_out_conv_2 = nn.Conv1d(
                filter_channels, filter_channels, kernel_size, padding=pad
            )
            self.pre_out_norm_2 = LayerNorm(filter_channels)
        if gin_channels != 0:
            self.cond = nn.Conv1d(gin_channels, in_channels, 1)
        self.output_layer = nn.Sequential(nn.Linear(out_width, 1), nn.Sigmoid())

    def _block(self, conv: nn.Module, norm: nn.Module, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.drop(norm(torch.relu(conv(x))))
        return out

    def _probability(
        self, h: torch.Tensor, x_mask: torch.Tensor, dur: torch.Tensor
    ) -> torch.Tensor:
        x = torch.cat([h, self.dur_proj(dur)], dim=1)  # (B, 2F, T)
        if self.lstm:
            out, _ = self.LSTM(x.transpose(1, 2))
            prob: torch.Tensor = self.output_layer(out)
            return prob
        x = self._block(self.pre_out_conv_1, self.pre_out_norm_1, x * x_mask)
        x = self._block(self.pre_out_conv_2, self.pre_out_norm_2, x * x_mask)
        prob = self.output_layer((x * x_mask).transpose(1, 2))
        return prob

    def forward(
        self,
        x: torch.Tensor,
        x_mask: torch.Tensor,
        dur_real: torch.Tensor,
        dur_fake: torch.Tensor,
        g: torch.Tensor | None = None,
    ) -> list[torch.Tensor]:
        """x: (B, H, T) (detached here); dur_*: (B, 1, T) log-durations; g: (B, gin, 1)."""
        h = torch.detach(x)
        if g is not None and hasattr(self, "cond"):
            h = h + self.cond(torch.detach(g))
        h = self._block(self.conv_1, self.norm_1, h * x_mask)
        h = self._block(self.conv_2, self.norm_2, h * x_mask)
        return [self._probability(h, x_mask, dur) for dur in (dur_real, dur_fake)]


class WavLMDiscriminator(nn.Module):
    """Logits (B, T') from WavLM hidden states of all layers stacked on channels
    (B, slm_hidden * slm_layers, T')."""

    def __init__(self, slm_hidden: int = 768, slm_layers: int = 13, initial_channel: int = 64):
        super().__init__()
        c = initial_channel
        self.pre = weight_norm(nn.Conv1d(slm_hidden * slm_layers, c, 1))
        self.convs = nn.ModuleList(
            [
                weight_norm(nn.Conv1d(c, 2 * c, 5, padding=2)),
                weight_norm(nn.Conv1d(2 * c, 4 * c, 5, padding=2)),
                weight_norm(nn.Conv1d(4 * c, 4 * c, 5, padding=2)),
            ]
        )
        self.conv_post = weight_norm(nn.Conv1d(4 * c, 1, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pre(x)
        for conv in self.convs:
            x = F.leaky_relu(conv(x), LRELU_SLOPE)
        return torch.flatten(self.conv_post(x), 1, -1)
