"""A traced step's allocations, for the caching-allocator model (allocator.py).

The estimator's trace pieces (`vitscfg.estimate.trace`: the trainer's own state, a
worst-case batch; meta backend) with a tracker that logs every storage's birth and death;
each step becomes a :class:`~scripts.study.allocator.StepTrace` and is replayed twice (a
loop's steady state). Runs in a trace process (`vitscfg.estimate.children.trace_pool`), as
every meta trace.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scripts.study.allocator import Event, StepTrace, replay_steps
from vitscfg.estimate.tracker import StorageTracker


@dataclass(frozen=True)
class AllocatedStep:
    peak_bytes: int  # the traced tensor peak (as `vitscfg estimate` traces it)
    autocast: str  # the autocast policy the trace applied
    trace: StepTrace
    reserved_bytes: int  # the model's reserved bytes after two such steps


def _one_step(
    step: Any, precision: str, point: Any, device: Any, placed: Any, options: dict[str, Any]
) -> AllocatedStep:
    """One step of the estimator's trace (`vitscfg.estimate.trace`: the trainer's state in
    its steady state, a worst-case batch), its allocations logged until its outputs die."""
    from vitscfg.estimate.trace import _batch_tensors, make_batch, state_tensors, steady_parts
    from vitscfg.train.step import train_step

    with placed():  # as the trace: state and batch on the device, the step as it comes
        parts = steady_parts(
            step.with_segment(point.segment_size), precision, device, options["foreach"]
        )
        batch = make_batch(parts.step.hp, point)
    log: list[Event] = []
    tracker = StorageTracker(options["round_to"], log)
    tracker.track(state_tensors(parts))
    n_state = tracker.seen
    tracker.track(_batch_tensors(batch))
    n_batch = tracker.seen
    with tracker:
        result = train_step(parts.step, batch)
    del result  # the step's outputs die before the next step: part of it
    # The state lives on; the batch dies at the end of the step (the loader's next comes).
    trace = StepTrace(
        tuple(n for _, n in log[:n_state]),
        (*log[n_state:], *((uid, -1) for uid in range(n_state, n_batch))),
    )
    reserved = replay_steps([trace, trace]).peak_reserved
    return AllocatedStep(tracker.peak, "none", trace, reserved)


def allocated_steps_here(
    step: Any, precision: str, points: Sequence[Any], kind: str = "cuda", *, fake: bool = False
) -> list[AllocatedStep]:
    """In a trace process: each point's step, its allocation log and the model's reserved
    bytes; the target's options (``kind``: 512-B blocks, foreach AdamW, its autocast
    policy) on meta tensors, or with ``fake`` on real CPU tensors (the tests' ground
    truth)."""
    import contextlib
    import dataclasses

    import torch

    from vitscfg.estimate.meta import META, meta_mode, target_options
    from vitscfg.estimate.trace import _warm_caches
    from vitscfg.model.hparams import ModelHParams

    options = target_options(kind)
    if fake:
        mode: Any = contextlib.nullcontext  # real CPU tensors
        device, placed = torch.device("cpu"), contextlib.nullcontext
    else:
        mode, device = meta_mode(precision, options["autocast_target"]), META
        placed = functools.partial(torch.device, META)
    policy = "none" if precision == "fp32" or fake else options["autocast_target"]
    _warm_caches(ModelHParams.from_config(step.config), device)
    out = []
    for point in points:
        torch.manual_seed(0)
        with mode(), placed():
            done = _one_step(step, precision, point, device, placed, options)
        out.append(dataclasses.replace(done, autocast=policy))
    return out


def allocated_steps(
    config: Any, precision: str, points: Sequence[Any], kind: str = "cuda"
) -> list[AllocatedStep]:
    """:func:`allocated_steps_here` in a trace process, for a config mapping."""
    from vitscfg.estimate.children import trace_pool
    from vitscfg.estimate.trace import StepConfig

    with trace_pool(1) as pool:
        result: list[AllocatedStep] = pool.apply(
            allocated_steps_here, (StepConfig.of(config), precision, list(points), kind)
        )
    return result
