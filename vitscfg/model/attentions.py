"""Transformer encoder with windowed relative-position self-attention (the VITS text encoder core).

VITS uses the relative attention of Shaw et al. (2018) limited to a window of +-4 tokens,
with one embedding table shared by all heads: phoneme context matters locally, and relative
positions let the encoder generalise to sentences longer than those seen in training.
Attribute names (``attn_layers``, ``conv_q``, ``emb_rel_k`` ...) match the reference checkpoints.

VITS2's flows reuse these blocks without relative positions (``window_size=None``) and, in its
"fft" flow, causally (``causal=True`` feed-forward, a lower-triangular mask from the caller);
its text encoder can add the speaker vector before one layer (``gin_channels > 0``).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from vitscfg.model.norms import LayerNorm

# Masked attention logits. -1e4 rather than -inf: it survives fp16 and never makes a row of
# all-masked scores NaN after the softmax.
_MASK_VALUE = -1e4


class MultiHeadAttention(nn.Module):
    """Multi-head self-attention with relative position embeddings for keys and values
    (none when ``window_size`` is None).

    Only self-attention is needed by VITS, so queries and keys come from the same sequence.
    ``proximal_init`` starts the key projection equal to the query projection (VITS2's "fft"
    flow), which makes every position attend most to itself at initialisation.
    """

    def __init__(
        self,
        channels: int,
        out_channels: int,
        n_heads: int,
        p_dropout: float = 0.0,
        window_size: int | None = 4,
        proximal_init: bool = False,
    ) -> None:
        super().__init__()
        if channels % n_heads != 0:
            raise ValueError(f"channels {channels} must be divisible by n_heads {n_heads}")
        self.channels = channels
        self.n_heads = n_heads
        self.window_size = window_size
        self.k_channels = channels // n_heads

        self.conv_q = nn.Conv1d(channels, channels, 1)
        self.conv_k = nn.Conv1d(channels, channels, 1)
        self.conv_v = nn.Conv1d(channels, channels, 1)
        self.conv_o = nn.Conv1d(channels, out_channels, 1)
        self.drop = nn.Dropout(p_dropout)

        if window_size is not None:
            # One table shared by all heads: (1, 2w+1, d_k), entry r is the offset r - w.
            rel_std = self.k_channels**-0.5
            n_rel = 2 * window_size + 1
            self.emb_rel_k = nn.Parameter(torch.randn(1, n_rel, self.k_channels) * rel_std)
            self.emb_rel_v = nn.Parameter(torch.randn(1, n_rel, self.k_channels) * rel_std)

        nn.init.xavier_uniform_(self.conv_q.weight)
        nn.init.xavier_uniform_(self.conv_k.weight)
        nn.init.xavier_uniform_(self.conv_v.weight)
        if proximal_init:
            with torch.no_grad():
                self.conv_k.weight.copy_(self.conv_q.weight)
                self.conv_k.bias.copy_(self.conv_q.bias)  # type: ignore[union-attr,arg-type]

    def _relative_index(
        self, length: int, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """For each (query i, window slot r) the key position ``j = i + r - w`` and its validity."""
        w = self.window_size
        assert w is not None
        i = torch.arange(length, device=device).unsqueeze(1)  # (T, 1)
        r = torch.arange(2 * w + 1, device=device).unsqueeze(0)  # (1, 2w+1)
        j = i + r - w  # (T, 2w+1)
        valid = (j >= 0) & (j < length)
        return j.clamp(0, length - 1), valid

    def _band_index(self, length: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """For each (query i, key j) the window slot ``r = j - i + w`` and whether |j - i| <= w."""
        w = self.window_size
        assert w is not None
        i = torch.arange(length, device=device).unsqueeze(1)  # (T, 1)
        j = torch.arange(length, device=device).unsqueeze(0)  # (1, T)
        r = j - i + w  # (T, T)
        inside = (r >= 0) & (r <= 2 * w)
        return r.clamp(0, 2 * w), inside

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B, C, T); attn_mask: (B, 1, T, T) with 1 for allowed query/key pairs."""
        batch, channels, length = x.shape
        heads, d_k = self.n_heads, self.k_channels

        def split_heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, heads, d_k, length).transpose(2, 3)  # (B, H, T, d_k)

        q = split_heads(self.conv_q(x)) / math.sqrt(d_k)
        k = split_heads(self.conv_k(x))
        v = split_heads(self.conv_v(x))

        scores = torch.matmul(q, k.transpose(-2, -1))  # (B, H, T, T)
        relative = self.window_size is not None
        if relative:
            # Relative keys: logits of each query against the 2w+1 offsets, then placed on the
            # diagonal band of the (T, T) score matrix; offsets outside the window add nothing.
            rel_k = self.emb_rel_k.unsqueeze(0).transpose(-2, -1)
            rel_logits = torch.matmul(q, rel_k)  # (B, H, T, 2w+1)
            slot, inside = self._band_index(length, x.device)
            band = torch.gather(rel_logits, 3, slot.expand(batch, heads, length, length))
            scores = scores + band * inside.to(band.dtype)

        if attn_mask is not None:
            scores = scores.masked_fill(attn_mask == 0, _MASK_VALUE)
        p_attn = self.drop(F.softmax(scores, dim=-1))  # (B, H, T, T)
        out = torch.matmul(p_attn, v)  # (B, H, T, d_k)

        if relative:
            # Relative values: gather each query's attention weight at the 2w+1 offsets.
            key_pos, valid = self._relative_index(length, x.device)
            rel_weights = torch.gather(p_attn, 3, key_pos.expand(batch, heads, length, -1))
            rel_weights = rel_weights * valid.to(rel_weights.dtype)  # (B, H, T, 2w+1)
            out = out + torch.matmul(rel_weights, self.emb_rel_v.unsqueeze(0))  # (B,H,T,d_k)

        out = out.transpose(2, 3).contiguous().view(batch, channels, length)  # (B, C, T)
        result: torch.Tensor = self.conv_o(out)
        return result


class FFN(nn.Module):
    """Position-wise feed-forward block made of two 'same'-padded (or, ``causal``, left-padded)
    convolutions with ReLU."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        filter_channels: int,
        kernel_size: int,
        p_dropout: float = 0.0,
        causal: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.causal = causal
        self.conv_1 = nn.Conv1d(in_channels, filter_channels, kernel_size)
        self.conv_2 = nn.Conv1d(filter_channels, out_channels, kernel_size)
        self.drop = nn.Dropout(p_dropout)

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        # Left gets the smaller half for even kernels, as in the reference.
        left = self.kernel_size - 1 if self.causal else (self.kernel_size - 1) // 2
        right = 0 if self.causal else self.kernel_size // 2
        return F.pad(x, (left, right)) if self.kernel_size > 1 else x

    def forward(self, x: torch.Tensor, x_mask: torch.Tensor) -> torch.Tensor:
        """x: (B, C, T); x_mask: (B, 1, T)."""
        x = self.conv_1(self._pad(x * x_mask))  # (B, F, T)
        x = self.drop(torch.relu(x))
        x = self.conv_2(self._pad(x * x_mask))  # (B, C_out, T)
        return x * x_mask


class Encoder(nn.Module):
    """Post-norm transformer encoder: ``x = LN(x + Attn(x)); x = LN(x + FFN(x))`` per layer.

    ``attention``: the attention class (a fork's memory-faithful variant, e.g.
    skewed_attention.py, for the forks whose steps `estimate` traces).

    ``gin_channels > 0`` (VITS2's speaker-conditioned text encoder): a linear projection of
    the speaker vector g is added to the input of layer ``cond_layer`` (the paper's third
    block), so the upper layers see who speaks.
    """

    def __init__(
        self,
        hidden_channels: int,
        filter_channels: int,
        n_heads: int,
        n_layers: int,
        kernel_size: int = 1,
        p_dropout: float = 0.0,
        window_size: int | None = 4,
        gin_channels: int = 0,
        cond_layer: int = 2,
        attention: type[MultiHeadAttention] = MultiHeadAttention,
    ) -> None:
        super().__init__()
        self.n_layers = n_layers
        self.cond_layer = cond_layer if gin_channels > 0 else None
        if gin_channels > 0:
            if not 0 <= cond_layer < n_layers:
                raise ValueError(
                    f"the speaker vector enters layer {cond_layer}: n_layers must exceed it "
                    f"(got {n_layers})"
                )
            self.spk_emb_linear = nn.Linear(gin_channels, hidden_channels)
        self.drop = nn.Dropout(p_dropout)
        self.attn_layers = nn.ModuleList()
        self.norm_layers_1 = nn.ModuleList()
        self.ffn_layers = nn.ModuleList()
        self.norm_layers_2 = nn.ModuleList()
        for _ in range(n_layers):
            self.attn_layers.append(
                attention(hidden_channels, hidden_channels, n_heads, p_dropout, window_size)
            )
            self.norm_layers_1.append(LayerNorm(hidden_channels))
            self.ffn_layers.append(
                FFN(hidden_channels, hidden_channels, filter_channels, kernel_size, p_dropout)
            )
            self.norm_layers_2.append(LayerNorm(hidden_channels))

    def forward(
        self, x: torch.Tensor, x_mask: torch.Tensor, g: torch.Tensor | None = None
    ) -> torch.Tensor:
        """x: (B, C, T); x_mask: (B, 1, T); g: (B, gin, 1) speaker vector, used only when the
        encoder was built with ``gin_channels``. Returns (B, C, T), zero on padding."""
        attn_mask = x_mask.unsqueeze(2) * x_mask.unsqueeze(-1)  # (B, 1, T, T)
        x = x * x_mask
        for i, (attn, norm_1, ffn, norm_2) in enumerate(
            zip(
                self.attn_layers,
                self.norm_layers_1,
                self.ffn_layers,
                self.norm_layers_2,
                strict=True,
            )
        ):
            if i == self.cond_layer and g is not None:
                x = (x + self.spk_emb_linear(g.transpose(1, 2)).transpose(1, 2)) * x_mask
            x = norm_1(x + self.drop(attn(x, attn_mask)))
            x = norm_2(x + self.drop(ffn(x, x_mask)))
        return x * x_mask
