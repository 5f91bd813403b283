"""The parts of GPT-SoVITS's stage-2 generator that no other fork has: the reference (style)
encoder, the cross-attention that mixes text into the content frames (MRTE), and the
residual vector quantizer of the SSL features.

- ``MelStyleEncoder`` turns a reference spectrogram into one timbre vector per item
  (``ge``): two position-wise linear layers with Mish, two gated convolutions, one
  multi-head self-attention with a residual, a projection, and a masked mean over time.
- ``MultiReferenceTimbreEncoder`` (MRTE): the content frames attend to the encoded phones
  (queries from frames, keys and values from phones, no relative positions), then the
  timbre vector is added to every frame.
- ``ResidualVectorQuantizer``: one codebook of 1024 codes over the 768-d SSL features,
  updated by exponential moving averages (no gradient) when the quantizer trains, and a
  plain nearest-code lookup when it is frozen (the shipped configs' ``freeze_quantizer``).

Sub-module and buffer names (``spectral.0.fc``, ``temporal.0.conv1.conv``, ``slf_attn.w_qs``,
``cross_attention``, ``vq.layers.0._codebook.embed`` ...) are the fork's checkpoint keys.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from vitscfg.model.attentions import _MASK_VALUE


class _Linear(nn.Module):
    """A linear layer one level down (``<name>.fc``), as the fork's checkpoints nest it."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.fc = nn.Linear(in_features, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.fc(x)
        return out


class _Mish(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.tanh(F.softplus(x))


class _Conv(nn.Module):
    """A 'same'-padded Conv1d one level down (``<name>.conv``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.conv(x)
        return out


class _GatedConv(nn.Module):
    """Residual gated linear unit: ``x + dropout(a * sigmoid(b))``, a and b from one conv."""

    def __init__(self, channels: int, kernel_size: int, dropout: float) -> None:
        super().__init__()
        self.channels = channels
        self.conv1 = _Conv(channels, 2 * channels, kernel_size)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = torch.split(self.conv1(x), self.channels, dim=1)
        out: torch.Tensor = x + self.dropout(a * torch.sigmoid(b))
        return out


class _StyleSelfAttention(nn.Module):
    """Multi-head self-attention over (B, T, C) with a residual; logits are scaled by the
    model width (not the head width) and padded keys get -inf, as the fork does."""

    def __init__(self, n_heads: int, channels: int, dropout: float) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.d_head = channels // n_heads
        self.scale = math.sqrt(channels)
        self.w_qs = nn.Linear(channels, channels)
        self.w_ks = nn.Linear(channels, channels)
        self.w_vs = nn.Linear(channels, channels)
        self.fc = nn.Linear(channels, channels)
        self.attn_dropout = nn.Dropout(dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        """x: (B, T, C); pad: (B, T, T) True where the key is padding."""
        batch, length, _ = x.shape
        heads, d = self.n_heads, self.d_head

        def fold(t: torch.Tensor) -> torch.Tensor:  # (B, T, H*d) -> (H*B, T, d), head-major
            return t.view(batch, length, heads, d).permute(2, 0, 1, 3).reshape(-1, length, d)

        q, k, v = fold(self.w_qs(x)), fold(self.w_ks(x)), fold(self.w_vs(x))
        scores = torch.bmm(q, k.transpose(1, 2)) / self.scale  # (H*B, T, T)
        scores = scores.masked_fill(pad.repeat(heads, 1, 1), float("-inf"))
        weights = self.attn_dropout(F.softmax(scores, dim=2))
        out = torch.bmm(weights, v).view(heads, batch, length, d)
        out = out.permute(1, 2, 0, 3).reshape(batch, length, heads * d)  # (B, T, C)
        result: torch.Tensor = self.dropout(self.fc(out)) + x
        return result


class MelStyleEncoder(nn.Module):
    """Reference spectrogram (B, F, T) + mask (B, 1, T) -> timbre vector (B, out_dim, 1)."""

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        hidden: int = 128,
        kernel_size: int = 5,
        n_heads: int = 2,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.spectral = nn.Sequential(
            _Linear(in_dim, hidden),
            _Mish(),
            nn.Dropout(dropout),
            _Linear(hidden, hidden),
            _Mish(),
            nn.Dropout(dropout),
        )
        self.temporal = nn.Sequential(
            _GatedConv(hidden, kernel_size, dropout), _GatedConv(hidden, kernel_size, dropout)
        )
        self.slf_attn = _StyleSelfAttention(n_heads, hidden, dropout)
        self.fc = _Linear(hidden, out_dim)

    def forward(self, x: torch.Tensor, x_mask: torch.Tensor) -> torch.Tensor:
        pad = (x_mask.int() == 0).squeeze(1)  # (B, T) True on padding
        length = x.size(2)
        h = self.spectral(x.transpose(1, 2))  # (B, T, hidden)
        h = self.temporal(h.transpose(1, 2)).transpose(1, 2)
        h = h.masked_fill(pad.unsqueeze(-1), 0)
        h = self.fc(self.slf_attn(h, pad.unsqueeze(1).expand(-1, length, -1)))  # (B, T, out)
        # Masked mean over time in float32 (the fork's order: divide, then sum).
        frames = (~pad).sum(dim=1).unsqueeze(1)  # (B, 1)
        h32 = h.masked_fill(pad.unsqueeze(-1), 0).float() / frames.unsqueeze(1)
        out: torch.Tensor = h32.sum(dim=1).to(h.dtype).unsqueeze(-1)  # (B, out, 1)
        return out


class CrossAttention(nn.Module):
    """Multi-head attention of queries x (B, C, Tq) over keys/values c (B, C, Tk), 1x1-conv
    projections (``conv_q`` ... ``conv_o``), no relative positions."""

    def __init__(self, channels: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.k_channels = channels // n_heads
        self.conv_q = nn.Conv1d(channels, channels, 1)
        self.conv_k = nn.Conv1d(channels, channels, 1)
        self.conv_v = nn.Conv1d(channels, channels, 1)
        self.conv_o = nn.Conv1d(channels, channels, 1)
        for conv in (self.conv_q, self.conv_k, self.conv_v):
            nn.init.xavier_uniform_(conv.weight)

    def forward(self, x: torch.Tensor, c: torch.Tensor, attn_mask: torch.Tensor) -> torch.Tensor:
        """attn_mask: (B, 1, Tq, Tk), 1 where a query may see a key."""
        batch, channels, t_q = x.shape
        t_k = c.size(2)
        heads, d = self.n_heads, self.k_channels
        q = self.conv_q(x).view(batch, heads, d, t_q).transpose(2, 3)
        k = self.conv_k(c).view(batch, heads, d, t_k).transpose(2, 3)
        v = self.conv_v(c).view(batch, heads, d, t_k).transpose(2, 3)
        scores = torch.matmul(q / math.sqrt(d), k.transpose(-2, -1))  # (B, H, Tq, Tk)
        scores = scores.masked_fill(attn_mask == 0, _MASK_VALUE)
        out = torch.matmul(F.softmax(scores, dim=-1), v)  # (B, H, Tq, d)
        out = out.transpose(2, 3).contiguous().view(batch, channels, t_q)
        result: torch.Tensor = self.conv_o(out)
        return result


class MultiReferenceTimbreEncoder(nn.Module):
    """Content frames attend to phones; the timbre vector is added to every frame."""

    def __init__(
        self, in_channels: int = 192, hidden: int = 512, out_channels: int = 192, n_heads: int = 4
    ) -> None:
        super().__init__()
        self.cross_attention = CrossAttention(hidden, n_heads)
        self.c_pre = nn.Conv1d(in_channels, hidden, 1)
        self.text_pre = nn.Conv1d(in_channels, hidden, 1)
        self.c_post = nn.Conv1d(hidden, out_channels, 1)

    def forward(
        self,
        frames: torch.Tensor,
        frame_mask: torch.Tensor,
        text: torch.Tensor,
        text_mask: torch.Tensor,
        ge: torch.Tensor,
    ) -> torch.Tensor:
        """frames: (B, C, T); text: (B, C, L); ge: (B, hidden, 1). Returns (B, C_out, T)."""
        attn_mask = text_mask.unsqueeze(2) * frame_mask.unsqueeze(-1)  # (B, 1, T, L)
        h = self.c_pre(frames * frame_mask)
        t = self.text_pre(text * text_mask)
        h = self.cross_attention(h * frame_mask, t * text_mask, attn_mask) + h + ge
        out: torch.Tensor = self.c_post(h * frame_mask)
        return out


class _Codebook(nn.Module):
    """Codes as buffers (``embed``) with their EMA statistics; ``inited`` marks a codebook
    that has codes (the fork fills a fresh one by k-means on its first batch; checkpoints
    always have it set)."""

    def __init__(self, dim: int, size: int, decay: float, eps: float, dead_below: int) -> None:
        super().__init__()
        self.decay, self.eps, self.dead_below = decay, eps, dead_below
        self.inited: torch.Tensor
        self.cluster_size: torch.Tensor
        self.embed: torch.Tensor
        self.embed_avg: torch.Tensor
        self.register_buffer("inited", torch.ones(1))
        self.register_buffer("cluster_size", torch.zeros(size))
        self.register_buffer("embed", torch.empty(size, dim).uniform_(-1 / size, 1 / size))
        self.register_buffer("embed_avg", self.embed.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, D) -> the nearest codes (N, D); in training, moves the codes towards x."""
        embed = self.embed
        dist = -(x.pow(2).sum(1, keepdim=True) - 2 * x @ embed.t() + embed.pow(2).sum(1))
        index = dist.max(dim=-1).indices
        onehot = F.one_hot(index, embed.size(0)).to(x.dtype)  # (N, K)
        codes = F.embedding(index, embed)
        if self.training:
            self._ema_update(x, onehot)
        return codes

    @torch.no_grad()
    def _ema_update(self, x: torch.Tensor, onehot: torch.Tensor) -> None:
        size, avg = self.cluster_size, self.embed_avg
        size.mul_(self.decay).add_(onehot.sum(0), alpha=1 - self.decay)
        avg.mul_(self.decay).add_((x.t() @ onehot).t(), alpha=1 - self.decay)
        total = size.sum()
        smoothed = (size + self.eps) / (total + size.numel() * self.eps) * total
        self.embed.copy_(avg / smoothed.unsqueeze(1))
        # Codes used less than ``dead_below`` times (EMA) restart at random inputs. How many
        # is data: a memory trace (meta/fake tensors) has none to read and skips this
        # (a few kilobytes).
        dead = size < self.dead_below
        if not _has_values(dead):
            return
        n_dead = int(dead.sum())  # a host sync, as the fork's check
        if n_dead:
            n = x.size(0)
            if n >= n_dead:
                pick = torch.randperm(n, device=x.device)[:n_dead]
            else:
                pick = torch.randint(0, n, (n_dead,), device=x.device)
            self.embed[dead] = x[pick]


def _has_values(t: torch.Tensor) -> bool:
    """Whether ``t`` holds data (not a meta or FakeTensor trace's stand-in)."""
    from torch._subclasses.fake_tensor import is_fake

    return not (t.is_meta or is_fake(t))


class _VectorQuantizer(nn.Module):
    def __init__(self, dim: int, size: int) -> None:
        super().__init__()
        self._codebook = _Codebook(dim, size, decay=0.99, eps=1e-5, dead_below=2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, D, T) -> (quantized (B, D, T), commitment loss (1,))."""
        flat = x.transpose(1, 2)  # (B, T, D)
        codes = self._codebook(flat.reshape(-1, flat.size(-1))).view_as(flat)
        loss = torch.zeros(1, device=x.device, requires_grad=self.training)
        if self.training:
            codes = flat + (codes - flat).detach()  # straight-through estimator
            loss = loss + F.mse_loss(codes.detach(), flat)
        return codes.transpose(1, 2), loss


class _Layers(nn.Module):
    """The ``vq.layers`` level of the fork's keys."""

    def __init__(self, dim: int, n_q: int, bins: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList([_VectorQuantizer(dim, bins) for _ in range(n_q)])


class ResidualVectorQuantizer(nn.Module):
    """``n_q`` vector quantizers, each quantizing what the previous ones left."""

    def __init__(self, dim: int = 768, n_q: int = 1, bins: int = 1024) -> None:
        super().__init__()
        self.vq = _Layers(dim, n_q, bins)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, D, T) -> (quantized (B, D, T), mean commitment loss over the layers)."""
        quantized: torch.Tensor | None = None
        residual = x
        losses = []
        for layer in self.vq.layers:
            q, loss = layer(residual)
            residual = residual - q
            quantized = q if quantized is None else quantized + q
            losses.append(loss)
        assert quantized is not None
        return quantized, torch.mean(torch.stack(losses))
