"""VITS2's duration discriminator, chosen by ``model.duration_discriminator_type``.

VITS2 trains the duration predictor adversarially: a small convolutional network sees the
text encoder's hidden states with either the log-durations taken from the alignment search
(real) or the predictor's (fake) and says, per token, how real they look. p0p4k/vits2_pytorch
has two variants with the same parameters:

- ``dur_disc_1``: plain convolutions; its LayerNorms exist (so they are in checkpoints) but
  the forward pass never uses them.
- ``dur_disc_2``: convolution, ReLU and LayerNorm in every block.

The fork's losses iterate over what the discriminator returns: ``dur_disc_1`` returns bare
(B, T, 1) tensors, so its losses iterate over the batch (one term per item, summed), while
``dur_disc_2`` returns one-element lists (one term for the whole batch, a mean). The fork
trains with exactly that, so ``loss_terms`` reproduces it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from vitscfg.model.norms import LayerNorm

# Fixed by the fork's train script: kernel 3, dropout 0.1, filter width = hidden width.
KERNEL_SIZE, P_DROPOUT = 3, 0.1


class DurationDiscriminator(nn.Module):
    """Probability (B, T, 1) that log-durations ``dur`` (B, 1, T) are real, for each token."""

    #: Whether every block applies ReLU and LayerNorm (``dur_disc_2``) or not (``dur_disc_1``).
    normalized: bool = False

    def __init__(
        self,
        in_channels: int,
        filter_channels: int,
        kernel_size: int = KERNEL_SIZE,
        p_dropout: float = P_DROPOUT,
    ) -> None:
        super().__init__()
        pad = kernel_size // 2
        if not self.normalized:
            # dur_disc_1 owns a dropout module (no parameters) that it never applies.
            self.drop = nn.Dropout(p_dropout)
        self.conv_1 = nn.Conv1d(in_channels, filter_channels, kernel_size, padding=pad)
        self.conv_2 = nn.Conv1d(filter_channels, filter_channels, kernel_size, padding=pad)
        if self.normalized:
            self.norm_1 = LayerNorm(filter_channels)
            self.norm_2 = LayerNorm(filter_channels)
        self.dur_proj = nn.Conv1d(1, filter_channels, 1)
        self.pre_out_conv_1 = nn.Conv1d(
            2 * filter_channels, filter_channels, kernel_size, padding=pad
        )
        self.pre_out_norm_1 = LayerNorm(filter_channels)
        self.pre_out_conv_2 = nn.Conv1d(filter_channels, filter_channels, kernel_size, padding=pad)
        self.pre_out_norm_2 = LayerNorm(filter_channels)
        self.output_layer = nn.Sequential(nn.Linear(filter_channels, 1), nn.Sigmoid())

    def _block(self, conv: nn.Module, norm: nn.Module | None, x: torch.Tensor) -> torch.Tensor:
        """conv, then ReLU and LayerNorm in dur_disc_2 (``norm`` None: conv only)."""
        x = conv(x)
        return norm(torch.relu(x)) if norm is not None and self.normalized else x

    def _probability(
        self, h: torch.Tensor, x_mask: torch.Tensor, dur: torch.Tensor
    ) -> torch.Tensor:
        x = torch.cat([h, self.dur_proj(dur)], dim=1)  # (B, 2F, T)
        x = self._block(self.pre_out_conv_1, self.pre_out_norm_1, x * x_mask)
        x = self._block(self.pre_out_conv_2, self.pre_out_norm_2, x * x_mask)
        prob: torch.Tensor = self.output_layer((x * x_mask).transpose(1, 2))
        return prob

    def forward(
        self,
        x: torch.Tensor,
        x_mask: torch.Tensor,
        dur_real: torch.Tensor,
        dur_fake: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, H, T) text-encoder states (detached here); x_mask: (B, 1, T); dur_real,
        dur_fake: (B, 1, T) log-durations. Returns (p_real, p_fake), each (B, T, 1)."""
        h = torch.detach(x)
        norm_1 = self.norm_1 if self.normalized else None
        norm_2 = self.norm_2 if self.normalized else None
        h = self._block(self.conv_1, norm_1, h * x_mask)
        h = self._block(self.conv_2, norm_2, h * x_mask)
        return self._probability(h, x_mask, dur_real), self._probability(h, x_mask, dur_fake)

    def loss_terms(self, prob: torch.Tensor) -> list[torch.Tensor]:
        """How the fork's list-based adversarial losses see one output (see the module doc)."""
        return [prob] if self.normalized else list(prob.unbind(0))


class DurationDiscriminatorV2(DurationDiscriminator):
    normalized = True


#: model.duration_discriminator_type -> class.
DURATION_DISCRIMINATORS: dict[str, Callable[[int, int], DurationDiscriminator]] = {
    "dur_disc_1": DurationDiscriminator,
    "dur_disc_2": DurationDiscriminatorV2,
}


def build_duration_discriminator(kind: str, hidden_channels: int) -> DurationDiscriminator:
    """The duration discriminator ``kind`` for a text encoder of width ``hidden_channels``."""
    if kind not in DURATION_DISCRIMINATORS:
        raise ValueError(
            f"unknown duration_discriminator_type {kind!r}: one of "
            f"{', '.join(DURATION_DISCRIMINATORS)}"
        )
    return DURATION_DISCRIMINATORS[kind](hidden_channels, hidden_channels)
