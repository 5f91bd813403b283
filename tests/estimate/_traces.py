"""Trace helpers for the tests: a config mapping in, the estimator's backends run on it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vitscfg.estimate import fake
from vitscfg.estimate.children import trace_pool
from vitscfg.estimate.meta import step_peaks_here
from vitscfg.estimate.trace import StepConfig, StepPeak, StepPoint


def meta_step_peaks(
    config: Mapping[str, Any], precision: str, points: Sequence[StepPoint], **kwargs: Any
) -> list[StepPeak]:
    """The estimator's trace (meta where it applies, else fake) in one trace process."""
    with trace_pool(1) as pool:
        peaks: list[StepPeak] = pool.apply(
            step_peaks_here, (StepConfig.of(config), precision, list(points)), kwargs
        )
    return peaks


def step_peaks(
    config: Mapping[str, Any], precision: str, points: Sequence[StepPoint], **kwargs: Any
) -> list[StepPeak]:
    """The FakeTensor backend (``fake=False``: real CPU tensors) in this process."""
    return fake.step_peaks(StepConfig.of(config), precision, points, **kwargs)


def in_child(pool: Any, config: Mapping[str, Any], precision: str, points: Any, **kw: Any) -> Any:
    """``step_peaks`` started in ``pool`` (an AsyncResult)."""
    return pool.apply_async(fake.step_peaks, (StepConfig.of(config), precision, points), kw)
