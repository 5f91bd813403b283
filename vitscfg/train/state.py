"""The ONE builder of a training step's state: networks, optimisers, schedulers, scaler.

Why one: `vitscfg train` runs this state, and `vitscfg estimate` measures it (a meta or
FakeTensor trace, or a real step on the GPU). A second builder would be a second set of
defaults and a second idea of which networks a fork trains, and the estimate would be
about a step nobody runs. Every hyper-parameter comes from the typed `train` section
(`vitscfg.config.typed`), so its defaults are the schema's.

The networks come from `vitscfg.model.build_nets` under stable names (``"G"``, ``"D"``,
and a fork's extras such as ``"DurDisc"``); each gets its own AdamW and ExponentialLR under
the same name, so a fork with more networks needs no change here. The step itself
(`vitscfg.train.step.StepState`) is made from the generator and discriminator.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from vitscfg.config.schema.train import VitsTrain
from vitscfg.config.typed import micro_batches
from vitscfg.model import build_nets
from vitscfg.model.hparams import ModelHParams
from vitscfg.train.step import StepState
from vitscfg.train.subband import subband_loss_for


@dataclass
class StepParts:
    """What :func:`build_step_state` builds, by stable network name.

    ``nets`` are the bare networks (checkpoints, evaluation); ``step`` runs them, wrapped
    for DDP where the trainer asked for it."""

    nets: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    schedulers: dict[str, torch.optim.lr_scheduler.ExponentialLR]
    scaler: torch.amp.GradScaler  # type: ignore[name-defined]
    step: StepState


def _identity(net: nn.Module) -> nn.Module:
    return net


def _placed(net: nn.Module, device: torch.device) -> nn.Module:
    """``net`` on ``device``, moved only when a tensor of it is elsewhere: a module built
    inside a FakeTensorMode is already where it will run, and moving it there again makes
    torch swap its (fake) weight-norm parameters, which it refuses."""
    tensors = [*net.parameters(), *net.buffers()]
    if all(t.device == device for t in tensors):
        return net
    return net.to(device)


def build_step_state(
    config: Mapping[str, Any],
    train: VitsTrain,
    precision: str,
    device: torch.device,
    *,
    dialect: str | None = None,
    wrap: Callable[[nn.Module], nn.Module] = _identity,
    foreach: bool | None = None,
    init_scale: float | None = None,
) -> StepParts:
    """Build the step state of ``config`` in ``precision`` on ``device``.

    The networks are built where the caller's default device puts them (the trainer: the
    CPU, so that a seed gives the same weights on every device; a trace: inside its meta
    or FakeTensor mode) and then moved to ``device``. ``wrap``: applied to each network the
    step runs (DDP). ``foreach``: AdamW's implementation (None: torch's choice, foreach on
    CUDA). ``init_scale``: the fp16 GradScaler's first scale (None: torch's default).
    """
    hp = ModelHParams.from_config(config)
    nets = {name: _placed(net, device) for name, net in build_nets(config, dialect).items()}
    for net in nets.values():
        net.train()
    betas = (float(train.betas[0]), float(train.betas[1]))
    optimizers: dict[str, torch.optim.Optimizer] = {
        name: torch.optim.AdamW(
            net.parameters(), train.learning_rate, betas=betas, eps=train.eps, foreach=foreach
        )
        for name, net in nets.items()
    }
    schedulers = {
        name: torch.optim.lr_scheduler.ExponentialLR(opt, train.lr_decay)
        for name, opt in optimizers.items()
    }
    # GradScaler knows "cuda" and "cpu"; a meta trace emulates the CPU's.
    kind = "cuda" if device.type == "cuda" else "cpu"
    options: dict[str, Any] = {} if init_scale is None else {"init_scale": init_scale}
    scaler = torch.amp.GradScaler(kind, enabled=precision == "fp16", **options)  # type: ignore[attr-defined]
    step = StepState(
        wrap(nets["G"]),
        wrap(nets["D"]),
        optimizers["G"],
        optimizers["D"],
        scaler,
        hp,
        train.c_mel,
        train.c_kl,
        precision,
        micro_batches(train),
        subband_loss_for(config, device),
    )
    return StepParts(nets, optimizers, schedulers, scaler, step)
