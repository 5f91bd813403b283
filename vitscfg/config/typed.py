"""The `train` section as a typed value: the schema's reading of it, defaults included.

Why one place: the trainer, the estimator's traces and its GPU probe all build the same
step state from these values (`vitscfg.train.state`), so a default (a learning rate, the
AdamW betas, a loss weight) lives in the schema (`vitscfg.config.schema.train`) and is read
here, never typed a second time by a caller.

Two readings of a section:

* :func:`trainer_settings`: what vitscfg's own trainer reads (`VitscfgTrain`); a
  reference config has no ``use_gpu``: it means CUDA there, so it does here.
* :func:`dialect_settings`: what the config's own fork reads (its dialect's train schema),
  for the estimator, which sizes forks' configs it does not train.

Torch-free: the estimator decides its device and grid from these before importing torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vitscfg.config.schema import schema_for
from vitscfg.config.schema.base import Section
from vitscfg.config.schema.train import VitscfgTrain, VitsTrain


class NoTrainSection(ValueError):
    """The config has no `train` object."""


def _section(config: Mapping[str, Any]) -> dict[str, Any]:
    section = config.get("train")
    if not isinstance(section, Mapping):
        raise NoTrainSection("the config has no `train` section")
    return dict(section)


def _validate(cls: type[Section], section: dict[str, Any]) -> VitsTrain:
    values = {"use_gpu": True, **section} if issubclass(cls, VitscfgTrain) else section
    typed = cls.model_validate(values)
    assert isinstance(typed, VitsTrain)  # every dialect's train schema derives from VITS's
    return typed


def trainer_settings(config: Mapping[str, Any]) -> VitscfgTrain:
    """The `train` section as vitscfg's trainer reads it. Raises NoTrainSection or
    pydantic's ValidationError."""
    typed = _validate(VitscfgTrain, _section(config))
    assert isinstance(typed, VitscfgTrain)
    return typed


def dialect_settings(config: Mapping[str, Any], dialect: str | None) -> VitsTrain:
    """The `train` section as ``dialect``'s trainer reads it (the VITS schema for an
    unknown dialect). Raises NoTrainSection or pydantic's ValidationError."""
    cls = schema_for(dialect).train or VitsTrain
    return _validate(cls, _section(config))


def uses_gpu(train: VitsTrain) -> bool:
    """Whether the run trains on a GPU: ``use_gpu`` in vitscfg's trainer; every fork's
    trainer requires CUDA."""
    return train.use_gpu if isinstance(train, VitscfgTrain) else True


def loader_workers(train: VitsTrain) -> int:
    """DataLoader worker processes of vitscfg's trainer (0 where the trainer is a fork's:
    only vitscfg's trainer trains in RAM, where workers count)."""
    return train.num_workers if isinstance(train, VitscfgTrain) else 0


def micro_batches(train: VitsTrain) -> int:
    """Batches accumulated per optimiser step (``grad_accum_steps``, vitscfg's trainer)."""
    return train.grad_accum_steps if isinstance(train, VitscfgTrain) else 1


def precisions(train: VitsTrain) -> list[str]:
    """The precision(s) the section trains in: fp16_run / bf16_run, else fp32 (both on is
    a `check` warning; the estimator then sizes both)."""
    flags = (("fp16", train.fp16_run), ("bf16", getattr(train, "bf16_run", None)))
    return [p for p, on in flags if on is True] or ["fp32"]
