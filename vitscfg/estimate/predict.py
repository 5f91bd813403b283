"""The no-GPU prediction: traces of the trainer's step, fitted over the grid.

Cost: a trace is per op, not per byte, whatever the batch: ~2 s for ljs_base in fp32 and
~3 s with autocast (meta backend, meta.py and meta_autocast.py; 20-30 s on the FakeTensor
backend, fake.py, the fall-back where the autocast emulation cannot be installed), on two
cores. The grid is filled from three traces per precision, (B_lo, S0), (B_hi, S0) and
(B_hi, S_far), through :func:`vitscfg.estimate.fit.fit_bilinear`, and the traces run in
parallel trace processes (children.py; one process per trace group). B_lo/B_hi are the
grid's smallest and largest batch: peak(B) is convex piecewise-affine (a max over the
step's moments of affine functions), so the secant is exact at both ends and on the safe
side between them (and beyond B_hi on the unsafe side: see grid.py for how a
recommendation there is flagged and capped).

Device bytes from tensor bytes: CUDA adds 512-B rounding, AdamW's foreach path (the CUDA
default) and its own autocast policy (all three in the trace), then fragmentation,
workspaces and the context; the RAM path adds the host process and the DataLoader workers
(constants and sources in devices.py).

Also the trainer's memory check (:func:`start_reserved_prediction`): the same trace for one
batch, in a trace process while training goes on; `vitscfg train` receives it from the CLI
(the trainer never imports the estimator).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from vitscfg.estimate import devices
from vitscfg.estimate.fit import BilinearFit, Sample, fit_bilinear
from vitscfg.estimate.grid import EXTRAPOLATION_CAP, Recommendation, recommend

if TYPE_CHECKING:
    from vitscfg.estimate.trace import StepConfig, StepPoint

DeviceKind = Literal["cuda", "cpu"]


class TraceFailed(Exception):
    """A trace process raised: the config passes `check`, yet the model could not run it."""


@dataclass(frozen=True)
class TracedFit:
    """Per-precision fit in device bytes, plus the traced samples (tensor bytes)."""

    precision: str
    fit: BilinearFit  # device bytes (overheads included)
    samples: tuple[Sample, ...]
    tensor_fit: BilinearFit | None = None  # the samples' fit before the allowances


@dataclass
class TracedPrediction:
    """:class:`vitscfg.estimate.prediction.Prediction` from traces of the step."""

    fits: dict[str, TracedFit]
    method: str  # the backends that ran: "meta", "fake" or "fake+meta"
    capacity: int
    margin: float
    config_segment: int
    segment_sizes: tuple[int, ...]
    notes: list[str] = field(default_factory=list)
    step_seconds: float | None = None  # a trace says nothing about speed

    def predict(self, batch_size: int, segment_size: int, precision: str) -> int:
        return self.fits[precision].fit.predict(batch_size, segment_size)

    def max_batch(self, segment_size: int, precision: str) -> int:
        return self.fits[precision].fit.max_batch(segment_size, self.capacity * (1 - self.margin))

    def traced_bytes(self, batch_size: int, segment_size: int, precision: str) -> int | None:
        traced = self.fits.get(precision)
        if traced is None or traced.tensor_fit is None:
            return None
        for x in traced.samples:  # a traced point: its own peak, not the fit's
            if (x.batch_size, x.segment_size) == (batch_size, segment_size):
                return x.peak_bytes
        return traced.tensor_fit.predict(batch_size, segment_size)

    def measured(self, batch_size: int, segment_size: int, precision: str) -> str | None:
        samples = self.fits[precision].samples if precision in self.fits else ()
        hit = any((x.batch_size, x.segment_size) == (batch_size, segment_size) for x in samples)
        return "traced" if hit else None

    def recommend(self) -> Recommendation | None:
        largest = max(x.batch_size for f in self.fits.values() for x in f.samples)
        return recommend(
            self.max_batch,
            self.predict,
            self.config_segment,
            self.segment_sizes,
            list(self.fits),
            self.capacity,
            self.margin,
            largest_measured=largest,
            cap=EXTRAPOLATION_CAP * largest,
        )


def to_device_bytes(fit: BilinearFit, kind: DeviceKind, num_workers: int) -> BilinearFit:
    """Apply the (affine) overhead model to a tensor-bytes fit."""
    if kind == "cuda":
        k = devices.CUDA_RESERVED_PER_TENSOR_BYTE
        fixed = devices.CUDA_CONTEXT_BYTES
        return BilinearFit(fit.c0 * k + fixed, fit.a * k, fit.b * k, fit.max_rel_residual)
    extra = devices.cpu_overhead_bytes(num_workers)
    return BilinearFit(fit.c0 + extra, fit.a, fit.b, fit.max_rel_residual)


def _trace_group(
    args: tuple[StepConfig, str, list[StepPoint], DeviceKind],
) -> list[tuple[int, str]]:
    """(tensor bytes, backend) of points that share a precision and a segment size (one
    state build), as the target holds them (CUDA: its autocast policy, 512-B blocks,
    foreach AdamW). Runs in a trace process (children.py)."""
    from vitscfg.estimate.meta import step_peaks_here, target_options

    step, precision, points, kind = args
    peaks = step_peaks_here(step, precision, points, **target_options(kind))
    if kind != "cuda":
        return [(x.peak_bytes, x.backend) for x in peaks]
    return [(devices.cuda_tensor_bytes(x.peak_bytes, x.autocast), x.backend) for x in peaks]


def trace_points(
    step: StepConfig,
    jobs: Sequence[tuple[str, StepPoint]],
    kind: DeviceKind,
    processes: int | None = None,
) -> list[tuple[int, str]]:
    """(tensor peak, backend) of each (precision, StepPoint), in job order.

    Jobs sharing a precision and a segment size are traced in one process (one state
    build, one step per point); each group runs in its own trace process, ``processes``
    (default: the CPU count) at a time.
    """
    from vitscfg.estimate.children import trace_pool
    from vitscfg.estimate.trace import ModelBuildError

    groups: dict[tuple[str, int], list[int]] = {}
    for i, (p, point) in enumerate(jobs):
        groups.setdefault((p, point.segment_size), []).append(i)
    tasks = [(step, p, [jobs[i][1] for i in indices], kind) for (p, _), indices in groups.items()]
    n = max(1, min(len(tasks), processes or os.cpu_count() or 1))
    try:
        with trace_pool(n) as pool:
            results = pool.map(_trace_group, tasks, chunksize=1)
    except ModelBuildError:
        raise  # a problem of the config: run.py says it as one
    except Exception as exc:  # raised in a trace process: a message, not its traceback
        raise TraceFailed(f"{type(exc).__name__}: {exc}") from exc
    peaks: list[tuple[int, str]] = [(0, "")] * len(jobs)
    for indices, group_peaks in zip(groups.values(), results, strict=True):
        for i, peak in zip(indices, group_peaks, strict=True):
            peaks[i] = peak
    return peaks


def traced_prediction(
    step: StepConfig,
    precisions: Sequence[str],
    batch_sizes: Sequence[int],
    segment_sizes: Sequence[int],
    text_len: int,
    spec_frames: int,
    device: devices.DeviceInfo,
    margin: float,
    processes: int | None = None,
) -> TracedPrediction:
    """Three traces per precision, fitted (see the module docstring)."""
    from vitscfg.config.typed import loader_workers
    from vitscfg.estimate.trace import StepPoint

    s0 = step.train.segment_size
    b_lo, b_hi = min(batch_sizes), max(batch_sizes)
    if b_lo == b_hi:
        b_lo, b_hi = max(1, b_hi // 2), b_hi if b_hi > 1 else 2
    s_far = max(segment_sizes, key=lambda s: (abs(s - s0), s))
    shape = [(b_lo, s0), (b_hi, s0)] + ([(b_hi, s_far)] if s_far != s0 else [])
    jobs = [(p, StepPoint(b, s, text_len, spec_frames)) for p in precisions for b, s in shape]
    traced = trace_points(step, jobs, device.kind, processes)
    workers = loader_workers(step.train)
    fits: dict[str, TracedFit] = {}
    for p in precisions:
        samples = tuple(
            Sample(point.batch_size, point.segment_size, peak)
            for (q, point), (peak, _) in zip(jobs, traced, strict=True)
            if q == p
        )
        tensor_fit = fit_bilinear(samples)
        fits[p] = TracedFit(
            p, to_device_bytes(tensor_fit, device.kind, workers), samples, tensor_fit
        )
    notes: list[str] = []
    if device.kind == "cpu":
        notes.append(
            f"RAM path: includes {devices.HOST_PROCESS_BYTES >> 20} MiB for this process "
            f"and {devices.WORKER_BYTES >> 20} MiB per DataLoader worker "
            f"(num_workers={workers})"
        )
    method = "+".join(sorted({backend for _, backend in traced}))
    return TracedPrediction(
        fits, method, device.capacity_bytes, margin, s0, tuple(segment_sizes), notes
    )


def _reserved_here(step: StepConfig, point: StepPoint, precision: str) -> int:
    """In a trace process: the CUDA reserved bytes of one step (context excluded: torch's
    counters do not see it)."""
    ((peak, _),) = _trace_group((step, precision, [point], "cuda"))
    return int(peak * devices.CUDA_RESERVED_PER_TENSOR_BYTE)


class PendingPrediction:
    """The predicted ``max_memory_reserved`` of one step, traced in a trace process while
    the caller goes on (the trainer keeps training meanwhile)."""

    def __init__(self, step: StepConfig, point: StepPoint, precision: str) -> None:
        from vitscfg.estimate.children import trace_pool

        self._pool = trace_pool(1)
        self._result = self._pool.apply_async(_reserved_here, (step, point, precision))

    def ready(self) -> bool:
        return bool(self._result.ready())

    def get(self, timeout: float | None = None) -> int:
        try:
            return int(self._result.get(timeout))
        finally:
            self.close()

    def close(self) -> None:
        self._pool.terminate()
        self._pool.join()


def start_reserved_prediction(
    config: Any,
    train: Any,
    precision: str,
    batch_size: int,
    segment_size: int,
    text_len: int,
    spec_frames: int,
) -> PendingPrediction:
    """The trainer's memory check (`vitscfg.train.memcheck.StartPrediction`): the predicted
    ``max_memory_reserved`` of its heaviest batch, started in the background."""
    from vitscfg.estimate.trace import StepConfig, StepPoint

    step = StepConfig(dict(config), train)
    point = StepPoint(batch_size, segment_size, text_len, spec_frames)
    return PendingPrediction(step, point, precision)
