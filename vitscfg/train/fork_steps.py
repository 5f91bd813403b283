"""Training steps of forks whose step is not VITS's, by dialect: what `estimate` traces for
them on the state the one builder (`vitscfg.train.state.build_step_state`) makes.

A fork's step differs in its batch (RVC: content features, coarse pitch and F0 instead of
token ids) and in its losses and update order (train/rvc_step.py), not in its state: the
networks come from `vitscfg.model.build_nets`, one AdamW per network and the GradScaler
come from the builder. So an entry says how to make a worst-case batch, which of its
tensors exist before the step, and how to run the step on the builder's parts; a dialect
without an entry runs `vitscfg.train.step.train_step`.

``parts`` is duck-typed (``nets``, ``optimizers``, ``scaler``, ``step.precision``: the
builder's StepParts) so this registry does not depend on the builder's module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

import torch

from vitscfg.model.rvc import RvcSynthesizer, RvcVariant
from vitscfg.model.svc import SvcSynthesizer
from vitscfg.model.vits2 import vits2_hparams
from vitscfg.train.bert_step import bert_fork_batch, bert_fork_run
from vitscfg.train.gan_step import gan_nets
from vitscfg.train.gpt_sovits_step import (
    GPT_SOVITS_MAX_FRAMES,
    GPT_SOVITS_UNITS,
    gpt_sovits_fork_batch,
    gpt_sovits_fork_run,
)
from vitscfg.train.length_units import CONTENT_FRAMES, TEXT_AND_FRAMES, LengthUnits
from vitscfg.train.rvc_step import (
    RVC_MAX_FRAMES,
    RvcBatch,
    RvcStepSettings,
    rvc_device_precision,
    rvc_trace_batch,
    rvc_train_step,
)
from vitscfg.train.step import Batch
from vitscfg.train.svc_step import (
    SVC_MAX_FRAMES,
    SvcBatch,
    SvcStepSettings,
    svc_trace_batch,
    svc_train_step,
)
from vitscfg.train.vits2_step import vits2_trace_batch, vits2_train_step


class MakeBatch(Protocol):
    """(config, batch_size, frames, device, text_len) -> a batch of items all ``frames``
    long; ``text_len``: token ids per item, read by text-to-speech forks only (the voice
    conversion forks' items have content frames, no text)."""

    def __call__(
        self,
        config: Mapping[str, Any],
        batch_size: int,
        frames: int,
        device: torch.device,
        text_len: int = 1,
    ) -> Any: ...


@dataclass(frozen=True)
class TargetDevice:
    """What a fork's precision rule reads of the device an estimate is for."""

    cuda: bool  # False: training on the CPU
    name: str
    total_bytes: int
    capability: tuple[int, int] | None  # None: not known (a card assumed by name or size)


#: device -> (precision, why): a fork whose trainer picks its precision itself.
PrecisionRule = Callable[[TargetDevice], tuple[str, str]]


@dataclass(frozen=True)
class ForkStep:
    """One fork's step, as the estimator's trace runs it."""

    make_batch: MakeBatch
    #: The batch's tensors (live before the step starts).
    batch_tensors: Callable[[Any], list[torch.Tensor]]
    #: (config, parts, batch) -> the step's losses; D then G updated as the fork does.
    run: Callable[[Mapping[str, Any], Any, Any], Any]
    #: The longest item the fork's loader lets through, in the batch's frames (None: none).
    max_frames: int | None = None
    units: LengthUnits = TEXT_AND_FRAMES
    #: The fork's own precision rule (None: the config's fp16_run / bf16_run decide).
    precision: PrecisionRule | None = None


def _rvc_batch(
    config: Mapping[str, Any],
    batch_size: int,
    frames: int,
    device: torch.device,
    text_len: int = 1,
) -> RvcBatch:
    return rvc_trace_batch(config, RvcVariant.from_config(config), batch_size, frames, device)


def _batch_tensors(batch: Any) -> list[torch.Tensor]:
    """Every tensor field of a fork's batch dataclass."""
    return [t for t in vars(batch).values() if isinstance(t, torch.Tensor)]


def _rvc_run(config: Mapping[str, Any], parts: Any, batch: RvcBatch) -> Any:
    nets = gan_nets(parts, RvcSynthesizer, "the rvc step needs RVC's generator")
    settings = RvcStepSettings.from_config(config, fp16=parts.step.precision == "fp16")
    return rvc_train_step(*nets, batch, settings, parts.scaler)


def _rvc_precision(device: TargetDevice) -> tuple[str, str]:
    return rvc_device_precision(device.cuda, device.name, device.total_bytes, device.capability)


def _svc_batch(
    config: Mapping[str, Any],
    batch_size: int,
    frames: int,
    device: torch.device,
    text_len: int = 1,
) -> SvcBatch:
    return svc_trace_batch(config, batch_size, frames, device)


#: The builder's precision -> so-vits-svc's autocast dtype (None: fp32, no autocast).
_SVC_HALF = {"fp16": torch.float16, "bf16": torch.bfloat16}


def _svc_run(config: Mapping[str, Any], parts: Any, batch: SvcBatch) -> Any:
    nets = gan_nets(parts, SvcSynthesizer, "the so-vits-svc step needs its generator")
    half = _SVC_HALF.get(parts.step.precision)
    settings = replace(SvcStepSettings.from_config(config), half=half)
    return svc_train_step(*nets, batch, settings, parts.scaler)


def _vits2_batch(
    config: Mapping[str, Any],
    batch_size: int,
    frames: int,
    device: torch.device,
    text_len: int = 1,
) -> Batch:
    # vits2_hparams: the posterior encoder's input is mel bins when the config says so.
    batch = vits2_trace_batch(vits2_hparams(config), batch_size, text_len, frames, device)
    # Finite values: a real probe step (estimate --gpu) on uninitialised memory can meet
    # NaNs and skip its fp16 updates; silence and a flat spectrogram cost the same memory.
    batch.spec.fill_(1e-3)
    batch.wav.zero_()
    return batch


def _vits2_run(config: Mapping[str, Any], parts: Any, batch: Batch) -> Any:
    # The steady state of a loop: the alignment noise at its first step's scale (its decay
    # changes values, not shapes).
    return vits2_train_step(
        parts.nets,
        parts.optimizers,
        batch,
        c_mel=parts.step.c_mel,
        c_kl=parts.step.c_kl,
        global_step=0,
        precision=parts.step.precision,
        scaler=parts.scaler,
        subband=parts.step.subband,  # MB-iSTFT-VITS2's multi-band decoder: its sub-band loss
    )


def _bert_step(dialect: str) -> ForkStep:
    """The Bert-VITS2 family's step for ``dialect`` (train/bert_step.py: its flavours)."""

    def make_batch(
        config: Mapping[str, Any],
        batch_size: int,
        frames: int,
        device: torch.device,
        text_len: int = 1,
    ) -> Any:
        return bert_fork_batch(config, dialect, batch_size, frames, device, text_len)

    def run(config: Mapping[str, Any], parts: Any, batch: Any) -> Any:
        return bert_fork_run(config, dialect, parts, batch)

    return ForkStep(make_batch, lambda batch: batch.tensors(), run, units=PHONES_AND_FRAMES)


#: The family's items: phone ids, each with its BERT feature vectors, and spectrogram frames.
PHONES_AND_FRAMES = LengthUnits("phones (each with its BERT features)")


#: dialect (vitscfg.config.dialect) -> its step.
FORK_STEPS: dict[str, ForkStep] = {
    "rvc": ForkStep(
        _rvc_batch,
        _batch_tensors,
        _rvc_run,
        max_frames=RVC_MAX_FRAMES,
        units=CONTENT_FRAMES,
        precision=_rvc_precision,
    ),
    # so-vits-svc's precision is its config's (train.fp16_run, half_type).
    "so-vits-svc": ForkStep(
        _svc_batch, _batch_tensors, _svc_run, max_frames=SVC_MAX_FRAMES, units=CONTENT_FRAMES
    ),
    # VITS2's loader keeps what VITS's bucket sampler keeps (data.py's limits apply).
    "vits2": ForkStep(_vits2_batch, _batch_tensors, _vits2_run),
    # MB-iSTFT-VITS2's train.py runs VITS2's step plus the sub-band loss (vits2_step.py);
    # MB-iSTFT-VITS's train_latest.py the same order without the VITS2 parts.
    "mb-istft-vits2": ForkStep(_vits2_batch, _batch_tensors, _vits2_run),
    "mb-istft-vits": ForkStep(_vits2_batch, _batch_tensors, _vits2_run),
    **{d: _bert_step(d) for d in ("bert-vits2", "style-bert-vits2", "melotts")},
    # GPT-SoVITS s2: SSL frames (= spectrogram frames) and phones; precision: train.fp16_run.
    "gpt-sovits": ForkStep(
        gpt_sovits_fork_batch,
        _batch_tensors,
        gpt_sovits_fork_run,
        max_frames=GPT_SOVITS_MAX_FRAMES,
        units=GPT_SOVITS_UNITS,
    ),
}


def fork_step(dialect: str | None) -> ForkStep | None:
    """The step of ``dialect`` when it is not VITS's, else None."""
    return FORK_STEPS.get(dialect or "")


def length_units(dialect: str | None) -> LengthUnits:
    """What ``dialect``'s worst-case lengths count (VITS's units without an entry)."""
    fork = fork_step(dialect)
    return fork.units if fork else TEXT_AND_FRAMES
