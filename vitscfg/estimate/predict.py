"""The no-GPU prediction: traces of the trainer's step, fitted over the grid.

Cost: a trace is per op, not per byte, whatever the batch: ~2 s for ljs_base in fp32 and
~3 s with autocast (meta traces, meta.py and meta_autocast.py; 20-30 s as fake traces,
fake.py, the fall-back where the autocast emulation cannot be installed), on two cores.
The grid is filled from three traces per precision, (B_lo, S0), (B_hi, S0) and
(B_hi, S_far), through :func:`vitscfg.estimate.fit.fit_bilinear`, and the traces run in
parallel child processes (one process per trace group, which the meta trace needs). B_lo/B_hi are the grid's smallest and largest batch: peak(B) is convex
piecewise-affine (a max over the step's moments of affine functions), so the secant is
exact at both ends and on the safe side between them (and beyond B_hi on the unsafe side:
see grid.py for how a recommendation there is flagged and capped).

Device bytes from tensor bytes: CUDA adds 512-B rounding, AdamW's foreach path (the CUDA
default) and its own autocast policy (all three in the trace), then fragmentation,
workspaces and the context; the RAM path adds the host process and the DataLoader workers
(constants and sources in devices.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from vitscfg.estimate import devices
from vitscfg.estimate.fit import BilinearFit, Sample, fit_bilinear

DeviceKind = Literal["cuda", "cpu"]


@dataclass(frozen=True)
class TracedFit:
    """Per-precision fit in device bytes, plus the traced samples (tensor bytes)."""

    precision: str
    fit: BilinearFit  # device bytes (overheads included)
    tensor_fit: BilinearFit  # tensor bytes only
    samples: tuple[Sample, ...]


@dataclass(frozen=True)
class FakePrediction:
    device_kind: DeviceKind
    fits: dict[str, TracedFit]
    text_len: int
    spec_frames: int
    notes: tuple[str, ...] = field(default=())

    def predict(self, batch_size: int, segment_size: int, precision: str) -> int:
        return self.fits[precision].fit.predict(batch_size, segment_size)


def to_device_bytes(fit: BilinearFit, kind: DeviceKind, num_workers: int) -> BilinearFit:
    """Apply the (affine) overhead model to a tensor-bytes fit."""
    if kind == "cuda":
        k = devices.CUDA_RESERVED_PER_TENSOR_BYTE
        fixed = devices.CUDA_CONTEXT_BYTES
        return BilinearFit(fit.c0 * k + fixed, fit.a * k, fit.b * k, fit.max_rel_residual)
    extra = devices.cpu_overhead_bytes(num_workers)
    return BilinearFit(fit.c0 + extra, fit.a, fit.b, fit.max_rel_residual)


def _trace_group(args: tuple[Mapping[str, Any], str, list[Any], DeviceKind]) -> list[int]:
    """Traced peaks of points that share a precision and a segment size (one model build),
    as the target holds them (CUDA: its autocast policy, 512-B blocks, foreach AdamW). Runs
    in a disposable child process: the meta trace re-registers kernels process-wide
    (meta.py)."""
    from vitscfg.estimate.meta import step_peaks_here, target_options

    config, precision, points, kind = args
    peaks = step_peaks_here(config, precision, points, **target_options(kind))
    if kind != "cuda":
        return [x.peak_bytes for x in peaks]
    return [devices.cuda_tensor_bytes(x.peak_bytes, x.autocast) for x in peaks]


def trace_points(
    config: Mapping[str, Any],
    jobs: Sequence[tuple[str, Any]],
    kind: DeviceKind,
    processes: int | None = None,
    *,
    group: bool = True,
) -> list[int]:
    """Tensor peak of each (precision, StepPoint), in job order.

    Jobs sharing a precision and a segment size are traced in one process (one model build,
    one step per point); each group runs in its own child process (from a fork server:
    torch is not imported again; spawned on Windows), ``processes`` (default: the CPU
    count) at a time. A fresh process per group, even for a single one: the meta trace
    changes the process's dispatcher (meta.py).
    """
    from vitscfg.estimate.meta import child_init, trace_context

    groups: dict[tuple[str, int, int], list[int]] = {}
    for i, (p, point) in enumerate(jobs):
        groups.setdefault((p, point.segment_size, i if not group else -1), []).append(i)
    tasks = [
        (config, p, [jobs[i][1] for i in indices], kind) for (p, _, _), indices in groups.items()
    ]
    n = max(1, min(len(tasks), processes or os.cpu_count() or 1))
    with trace_context().Pool(n, initializer=child_init, maxtasksperchild=1) as pool:
        results = pool.map(_trace_group, tasks, chunksize=1)
    peaks = [0] * len(jobs)
    for indices, group_peaks in zip(groups.values(), results, strict=True):
        for i, peak in zip(indices, group_peaks, strict=True):
            peaks[i] = peak
    return peaks


def fake_prediction(
    config: Mapping[str, Any],
    precisions: Sequence[str],
    batch_sizes: Sequence[int],
    segment_sizes: Sequence[int],
    text_len: int,
    spec_frames: int,
    kind: DeviceKind,
    processes: int | None = None,
) -> FakePrediction:
    """Three traces per precision, fitted (see the module docstring)."""
    from vitscfg.estimate.fake import StepPoint

    train = config.get("train") or {}
    s0 = int(train.get("segment_size", segment_sizes[0]))
    b_lo, b_hi = min(batch_sizes), max(batch_sizes)
    if b_lo == b_hi:
        b_lo, b_hi = max(1, b_hi // 2), b_hi if b_hi > 1 else 2
    s_far = max(segment_sizes, key=lambda s: (abs(s - s0), s))
    shape = [(b_lo, s0), (b_hi, s0)] + ([(b_hi, s_far)] if s_far != s0 else [])
    jobs = [(p, StepPoint(b, s, text_len, spec_frames)) for p in precisions for b, s in shape]
    peaks = trace_points(config, jobs, kind, processes)
    workers = int(train.get("num_workers", 0) or 0)
    fits: dict[str, TracedFit] = {}
    for p in precisions:
        samples = tuple(
            Sample(point.batch_size, point.segment_size, peak)
            for (q, point), peak in zip(jobs, peaks, strict=True)
            if q == p
        )
        tensor_fit = fit_bilinear(samples)
        fits[p] = TracedFit(p, to_device_bytes(tensor_fit, kind, workers), tensor_fit, samples)
    return FakePrediction(kind, fits, text_len, spec_frames)


def predict_peak_bytes(
    config_mapping: Mapping[str, Any],
    batch_size: int,
    segment_size: int,
    precision: str,
    device_kind: DeviceKind,
    *,
    text_len: int | None = None,
    spec_frames: int | None = None,
) -> int:
    """The estimator's prediction for one training configuration (the trainer's hook).

    ``device_kind="cuda"``: predicted ``torch.cuda.max_memory_reserved()`` of the step
    (512-B rounded tensor peak x fragmentation + workspaces; the CUDA context is *not*
    included because torch's counters do not see it). ``"cpu"``: the tensor peak in bytes.
    Lengths default to the loader's limits (last bucket boundary, 2*max_text_len+1): pass
    the first batch's padded lengths to compare with that batch's measured peak.
    One trace: ~1-4 s (meta, in a child process; 10-30 s as a fake trace where meta is not
    available); call it once, off the hot path.
    """
    from vitscfg.estimate.data import limit_lengths
    from vitscfg.estimate.fake import StepPoint
    from vitscfg.estimate.meta import run_forked

    limits = limit_lengths(config_mapping)
    point = StepPoint(
        batch_size,
        segment_size,
        text_len if text_len is not None else limits.text_len,
        spec_frames if spec_frames is not None else limits.spec_frames,
    )
    reserved: int = run_forked(_reserved_here, dict(config_mapping), point, precision, device_kind)
    return reserved


def _reserved_here(
    config: Mapping[str, Any], point: Any, precision: str, device_kind: DeviceKind
) -> int:
    """predict_peak_bytes, in a disposable trace child (so the meta trace may be used):
    reserved bytes on CUDA (context excluded), the tensor peak itself on the CPU."""
    (peak,) = _trace_group((config, precision, [point], device_kind))
    return int(peak * devices.CUDA_RESERVED_PER_TENSOR_BYTE) if device_kind == "cuda" else peak


class PendingPrediction:
    """:func:`predict_peak_bytes` running in a trace child while the caller goes on (the
    trainer keeps training while the estimator traces its step)."""

    def __init__(
        self,
        config: Mapping[str, Any],
        batch_size: int,
        segment_size: int,
        precision: str,
        device_kind: DeviceKind,
        text_len: int,
        spec_frames: int,
    ) -> None:
        from vitscfg.estimate.fake import StepPoint
        from vitscfg.estimate.meta import child_init, trace_context

        point = StepPoint(batch_size, segment_size, text_len, spec_frames)
        self._pool = trace_context().Pool(1, initializer=child_init, maxtasksperchild=1)
        self._result = self._pool.apply_async(
            _reserved_here, (dict(config), point, precision, device_kind)
        )

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
