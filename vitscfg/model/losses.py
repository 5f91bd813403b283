"""VITS training losses, all evaluated in float32 with autocast disabled.

Weights are applied by the caller (``train.c_mel``, ``train.c_kl``); the feature-matching
factor 2 is part of the reference's definition and stays here. Nothing calls ``.item()``:
per-discriminator terms come back as tensors so the trainer decides when to sync.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.nn import functional as F


def _no_autocast(t: torch.Tensor) -> torch.autocast:
    return torch.autocast(device_type=t.device.type, enabled=False)


def feature_loss(
    fmap_real: Sequence[Sequence[torch.Tensor]], fmap_fake: Sequence[Sequence[torch.Tensor]]
) -> torch.Tensor:
    """2 x sum over discriminators and layers of mean |f_real - f_fake| (real side detached)."""
    total = torch.zeros((), device=fmap_fake[0][0].device)
    with _no_autocast(total):
        for disc_real, disc_fake in zip(fmap_real, fmap_fake, strict=True):
            for real, fake in zip(disc_real, disc_fake, strict=True):
                total = total + torch.mean(torch.abs(real.detach().float() - fake.float()))
    return total * 2


def discriminator_loss(
    real_logits: Sequence[torch.Tensor], fake_logits: Sequence[torch.Tensor]
) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
    """LSGAN: sum of mean((1 - D(y))^2) + mean(D(y_hat)^2).

    Returns (total, per-discriminator real terms, per-discriminator fake terms).
    """
    real_terms: list[torch.Tensor] = []
    fake_terms: list[torch.Tensor] = []
    with _no_autocast(real_logits[0]):
        for real, fake in zip(real_logits, fake_logits, strict=True):
            real_terms.append(torch.mean((1 - real.float()) ** 2))
            fake_terms.append(torch.mean(fake.float() ** 2))
    total = torch.stack(real_terms).sum() + torch.stack(fake_terms).sum()
    return total, real_terms, fake_terms


def generator_loss(fake_logits: Sequence[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """LSGAN generator term: sum of mean((1 - D(y_hat))^2). Returns (total, per-discriminator)."""
    with _no_autocast(fake_logits[0]):
        terms = [torch.mean((1 - fake.float()) ** 2) for fake in fake_logits]
    return torch.stack(terms).sum(), terms


def kl_loss(
    z_p: torch.Tensor,
    logs_q: torch.Tensor,
    m_p: torch.Tensor,
    logs_p: torch.Tensor,
    z_mask: torch.Tensor,
) -> torch.Tensor:
    """KL(q(z|x) || p(z|c)) estimated at the flow-mapped sample z_p, per frame.

    All inputs (B, C, T) except z_mask (B, 1, T). Normalised by the number of valid frames
    (not frames x channels), as the reference.
    """
    with _no_autocast(z_p):
        z_p, logs_q, m_p, logs_p = z_p.float(), logs_q.float(), m_p.float(), logs_p.float()
        mask = z_mask.float()
        kl = logs_p - logs_q - 0.5 + 0.5 * (z_p - m_p) ** 2 * torch.exp(-2.0 * logs_p)
        return torch.sum(kl * mask) / torch.sum(mask)


def mel_loss(mel_real: torch.Tensor, mel_fake: torch.Tensor) -> torch.Tensor:
    """Unweighted L1 between log-mels (B, n_mels, T); the caller multiplies by ``c_mel``."""
    with _no_autocast(mel_fake):
        return F.l1_loss(mel_real.float(), mel_fake.float())


def duration_loss(per_item: torch.Tensor) -> torch.Tensor:
    """Sum over the batch of the synthesizer's per-item duration loss (B,) -> scalar."""
    return torch.sum(per_item.float())
