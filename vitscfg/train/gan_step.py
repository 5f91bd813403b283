"""The GAN half that the voice-conversion and GPT-SoVITS fork steps share (train/rvc_step.py,
train/svc_step.py, train/gpt_sovits_step.py): one function runs their common order, each fork
supplies only its generator forward (with its own mel pair) and its own loss terms.

Order: G forward under autocast (the fork's callback: G's outputs, the real and fake mels,
the real audio segment); D on (real, fake.detach()) with the LSGAN loss; D's scaled
backward, unscale and step; D again on (real, fake) under autocast; outside autocast the
fork's terms (mel L1, KL, its extras, in the order it sums them), then feature matching and
the adversarial term, then the fork's late terms; total = adversarial + feature matching + the fork's terms, summed
left to right in that order; G's scaled backward, unscale and step; the scaler updates once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import torch
from torch import nn

from vitscfg.model import losses as L

T = TypeVar("T")
G = TypeVar("G", bound=nn.Module)


@dataclass
class GanForward(Generic[T]):
    """What a fork's generator forward hands the GAN half."""

    state: T  # the fork's own values for its loss terms (G's outputs, the mel pair)
    audio: torch.Tensor  # G's decoded segment (B, 1, segment samples), with its graph
    wave: torch.Tensor  # the real segment, cut at G's window


@dataclass(frozen=True)
class Amp:
    """The step's autocast: device type, dtype, on/off; and whether D's loss runs outside it."""

    device: str
    dtype: torch.dtype
    enabled: bool
    disc_loss_fp32: bool = True


@dataclass
class GanLosses:
    """The shared losses (detached) and the fork's own terms (detached, in its order)."""

    disc: torch.Tensor
    gen: torch.Tensor
    fm: torch.Tensor
    terms: dict[str, torch.Tensor]
    gen_all: torch.Tensor


def scaled_update(optimizer: torch.optim.Optimizer, loss: torch.Tensor, scaler: Any) -> None:
    """zero_grad, scaled backward, unscale, step: one network's update as the scripts write it."""
    optimizer.zero_grad()
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    scaler.step(optimizer)


def mel_gan_step(
    net_d: nn.Module,
    optim_g: torch.optim.Optimizer,
    optim_d: torch.optim.Optimizer,
    scaler: Any,
    amp: Amp,
    forward: Callable[[], GanForward[T]],
    terms: Callable[[T], dict[str, torch.Tensor]],
    late_terms: Callable[[T], dict[str, torch.Tensor]] | None = None,
) -> GanLosses:
    """D update then G update (module docstring). ``terms`` (before the adversarial terms)
    and ``late_terms`` (after them, as so-vits-svc computes its F0 loss) run outside
    autocast; both are summed after the adversarial terms, in their order."""
    device = amp.device
    with torch.autocast(device, dtype=amp.dtype, enabled=amp.enabled):
        fwd = forward()
        real, fake, _, _ = net_d(fwd.wave, fwd.audio.detach())
        # RVC computes D's loss under G's autocast; the others in float32.
        outside = torch.autocast(device, enabled=False) if amp.disc_loss_fp32 else nullcontext()
        with outside:
            loss_disc, _, _ = L.discriminator_loss(real, fake)
    scaled_update(optim_d, loss_disc, scaler)

    with torch.autocast(device, dtype=amp.dtype, enabled=amp.enabled):
        real, fake, fmap_real, fmap_fake = net_d(fwd.wave, fwd.audio)
        with torch.autocast(device, enabled=False):
            own = terms(fwd.state)
            loss_fm = L.feature_loss(fmap_real, fmap_fake)
            loss_gen, _ = L.generator_loss(fake)
            if late_terms is not None:
                own.update(late_terms(fwd.state))
            loss_gen_all = loss_gen + loss_fm
            for term in own.values():
                loss_gen_all = loss_gen_all + term
    scaled_update(optim_g, loss_gen_all, scaler)
    scaler.update()
    detached = {k: v.detach() for k, v in own.items()}
    return GanLosses(
        loss_disc.detach(), loss_gen.detach(), loss_fm.detach(), detached, loss_gen_all.detach()
    )


def gan_nets(
    parts: Any, generator: type[G], needs: str
) -> tuple[G, nn.Module, torch.optim.Optimizer, torch.optim.Optimizer]:
    """(G, D, G's optimizer, D's optimizer) of the state builder's ``parts`` (duck-typed:
    ``nets``, ``optimizers``); G must be a ``generator``, else TypeError: "``needs``, got X"."""
    net_g = parts.nets["G"]
    if not isinstance(net_g, generator):
        raise TypeError(f"{needs}, got {type(net_g).__name__}")
    optimizers: Mapping[str, torch.optim.Optimizer] = parts.optimizers
    return net_g, parts.nets["D"], optimizers["G"], optimizers["D"]
