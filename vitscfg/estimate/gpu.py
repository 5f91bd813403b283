"""`--gpu`: probe plan, fits and confirmation on a real GPU (see probe.py for one probe).

All probes of a run go through one worker process (probe.py: fresh allocator state per
point, torch and CUDA started once). Plan per precision:

1. Small stage: batches 2, 4, 8 at the config's segment S0 (small enough for nearly any
   card; three points so the affine fit is *checked*, not just solved) and 4, 8 at the grid
   segment farthest from it. Its fit predicts the largest batch B1 that fits the budget.
2. Large stage: 16, 32, ... (doubling) below B1, and B1, at S0; a quarter and half of the
   far segment's largest batch there. Measured on an H100 (docs/estimator-accuracy.md), an
   affine fit through batches 2-8 alone is 4-18 % low at batch 32-169: reserved memory
   grows a little faster than affinely (allocator segments, cuDNN algorithms chosen per
   shape). So a cell is interpolated between probed batches at S0 and at the far segment
   (peak(B) is convex: the chord is on the safe side), then linear in the segment.

OOM probes are recorded and left out of the fits. Then one confirming probe at the
recommended point; when it measures above the budget, the batch is lowered to what that
measurement implies (it becomes an anchor), after an OOM halfway down to the largest batch
that ran, and confirmed again (up to six tries). No recommendation is at or above a batch
that ran out of memory. A recommendation equal to a probed point in budget is
confirmed by that probe.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TextIO

from vitscfg.estimate.data import Lengths
from vitscfg.estimate.devices import DeviceInfo
from vitscfg.estimate.fit import BilinearFit, Sample, fit_bilinear
from vitscfg.estimate.grid import Recommendation, recommend
from vitscfg.estimate.probe import ProbeResult, ProbeWorker

if TYPE_CHECKING:
    from vitscfg.estimate.trace import StepConfig

PROBE_BATCHES = (2, 4, 8)
CONFIRM_TRIES = 6  # each failed confirmation lowers the batch
SMALL_MAX = PROBE_BATCHES[-1]  # the small stage's largest batch


@dataclass
class GpuPrediction:
    """:class:`vitscfg.estimate.prediction.Prediction` from real steps on the GPU."""

    small: dict[str, BilinearFit]  # fit of the small stage (cells up to SMALL_MAX)
    large: dict[str, BilinearFit]  # fit of the probes at batch >= SMALL_MAX (cells above)
    probes: list[ProbeResult]
    recommended: Recommendation | None
    step_seconds: float | None
    capacity: int
    margin: float
    notes: list[str] = field(default_factory=list)
    segment: int = 0  # the config's segment size: where the batch anchors were probed
    far: int = 0  # the grid segment farthest from it: the second row of anchors
    method: str = "gpu-probe"

    def recommend(self) -> Recommendation | None:
        """The recommendation the plan confirmed with a real step (or lowered to)."""
        return self.recommended

    def fit(self, b: int, p: str) -> BilinearFit:
        """The fit for a batch: used only where a segment row has fewer than two probes
        (the per-sample slope) or none at all (the whole prediction)."""
        return self.small[p] if b <= SMALL_MAX or p not in self.large else self.large[p]

    def anchors(self, p: str, segment: int) -> list[tuple[int, int]]:
        """(batch, device peak) of the successful probes at ``segment``."""
        return sorted(
            {
                (r.batch_size, r.device_peak)
                for r in self.probes
                if r.ok and r.precision == p and r.segment_size == segment
            }
        )

    def predict(self, b: int, s: int, p: str) -> int:
        """Measured where probed; else, at the config's segment and at the far one, the
        peak interpolated between the probed batches (peak(B) is convex: the chord is on
        the safe side; extrapolated along the outermost chord), then linear in the segment
        between (and beyond) those two, as the fit's form says."""
        for r in self.probes:
            if r.ok and (r.batch_size, r.segment_size, r.precision) == (b, s, p):
                return r.device_peak
        fit = self.fit(b, p)
        near = _chord(self.anchors(p, self.segment), b)
        if near is None:
            return fit.predict(b, s)
        far = _chord(self.anchors(p, self.far), b) if self.far != self.segment else None
        if far is None:
            return int(round(near + b * fit.a * (s - self.segment)))
        return int(round(near + (far - near) * (s - self.segment) / (self.far - self.segment)))

    def max_batch(self, s: int, p: str) -> int:
        budget = self.capacity * (1 - self.margin)
        lo, hi = 0, 1
        while hi < 1 << 16 and self.predict(hi, s, p) <= budget:
            lo, hi = hi, hi * 2
        while hi - lo > 1:  # predict is increasing in the batch
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if self.predict(mid, s, p) <= budget else (lo, mid)
        oom = [
            r.batch_size for r in self.probes if r.oom and (r.segment_size, r.precision) == (s, p)
        ]
        return min([lo] + [b - 1 for b in oom])  # never at or above a batch that ran out

    def largest_ok_below(self, b: int, s: int, p: str) -> int:
        """The largest batch under ``b`` that a probe ran at this segment (0: none)."""
        return max(
            (
                r.batch_size
                for r in self.probes
                if r.ok and (r.segment_size, r.precision) == (s, p) and r.batch_size < b
            ),
            default=0,
        )

    def traced_bytes(self, b: int, s: int, p: str) -> int | None:
        return None  # real steps: the device peak is measured, no trace ran

    def measured(self, b: int, s: int, p: str) -> str | None:
        hit = any(
            r.ok and (r.batch_size, r.segment_size, r.precision) == (b, s, p) for r in self.probes
        )
        return "probed" if hit else None


def _chord(points: Sequence[tuple[int, int]], b: int) -> float | None:
    """Linear interpolation of (batch, peak) points at ``b``; None with fewer than two."""
    if len(points) < 2:
        return None
    i = next((k for k in range(1, len(points) - 1) if b <= points[k][0]), len(points) - 1)
    (b0, y0), (b1, y1) = points[i - 1], points[i]
    return y0 + (y1 - y0) * (b - b0) / (b1 - b0)


def report_probe(stream: TextIO, r: ProbeResult) -> None:
    """One progress line per probe (probes take seconds to minutes each)."""
    what = (
        f"{r.device_peak / 2**30:.2f} GiB, {r.step_seconds:.2f} s/step"
        if r.ok
        else "out of memory"
        if r.oom
        else f"failed: {r.error}"
    )
    stream.write(
        f"probe batch {r.batch_size} segment {r.segment_size} {r.precision}: "
        f"{what} ({r.seconds:.0f} s)\n"
    )
    stream.flush()


def probe_progress(stream: TextIO) -> Callable[[ProbeResult], None]:
    """:func:`report_probe` on ``stream``."""
    return functools.partial(report_probe, stream)


def gpu_prediction(
    step: StepConfig,
    device: DeviceInfo,
    precisions: Sequence[str],
    batch_sizes: Sequence[int],
    segment_sizes: Sequence[int],
    lengths: Lengths,
    margin: float,
    config_segment: int,
    report: Callable[[ProbeResult], None] | None = None,
    worker: Any = None,
) -> GpuPrediction:
    """``worker``: something with ``probe(b, s, p) -> ProbeResult`` (tests); default a
    :class:`ProbeWorker` on ``device``."""
    assert device.index is not None
    own = worker is None
    if own:
        worker = ProbeWorker(step, device.index, lengths.text_len, lengths.spec_frames)
    try:
        return _plan(worker, config_segment, segment_sizes, precisions, device, margin, report)
    finally:
        if own:
            worker.close()


def _plan(
    worker: Any,
    s0: int,
    segment_sizes: Sequence[int],
    precisions: Sequence[str],
    device: DeviceInfo,
    margin: float,
    report: Callable[[ProbeResult], None] | None,
) -> GpuPrediction:
    capacity = device.capacity_bytes
    budget = capacity * (1 - margin)
    far = max(segment_sizes, key=lambda s: (abs(s - s0), s))
    probes: list[ProbeResult] = []
    notes: list[str] = []
    small: dict[str, BilinearFit] = {}
    large: dict[str, BilinearFit] = {}

    def run(b: int, s: int, p: str) -> ProbeResult:
        for old in probes:
            if (old.batch_size, old.segment_size, old.precision) == (b, s, p):
                return old
        r: ProbeResult = worker.probe(b, s, p)
        probes.append(r)
        if report is not None:
            report(r)
        if r.oom:
            notes.append(f"probe batch {b} segment {s} {p}: out of memory (recorded)")
        elif not r.ok:
            notes.append(f"probe batch {b} segment {s} {p} failed: {r.error}")
        return r

    def fit(results: Sequence[ProbeResult]) -> BilinearFit:
        return fit_bilinear([Sample(r.batch_size, r.segment_size, r.device_peak) for r in results])

    for p in precisions:
        first = [run(b, s0, p) for b in PROBE_BATCHES]
        if far != s0:
            first += [run(b, far, p) for b in PROBE_BATCHES[1:]]
        ok = [r for r in first if r.ok]
        if len({r.batch_size for r in ok if r.segment_size == s0}) < 2:
            ok += [r for r in (run(1, s0, p),) if r.ok]
        try:
            small[p] = fit(ok)
        except ValueError:
            notes.append(f"{p}: too few successful probes to fit; nothing is recommended")
            small[p] = BilinearFit(float(capacity) * 2, 0.0, float(capacity), 1.0)
            continue
        b1, b_far = small[p].max_batch(s0, budget), small[p].max_batch(far, budget)
        doubling = [SMALL_MAX * 2**k for k in range(1, 16) if SMALL_MAX * 2**k < b1]
        second: list[ProbeResult] = []
        for b in (*doubling, b1) if b1 > SMALL_MAX else ():
            second.append(run(b, s0, p))
            if not second[-1].ok:  # OOM (or worse): larger batches would fail too
                break
        if far != s0:
            second += [run(b, far, p) for b in (b_far // 4, b_far // 2) if b > SMALL_MAX]
        big = [r for r in (*first, *second) if r.ok and r.batch_size >= SMALL_MAX]
        try:
            if len(big) >= 3:
                large[p] = fit(big)
        except ValueError:
            pass
        worst = max(
            [small[p].max_rel_residual] + ([large[p].max_rel_residual] if p in large else [])
        )
        if worst > 0.02:
            notes.append(
                f"{p}: memory is not affine in batch size over the probes "
                f"(max residual {worst:.1%}); the grid interpolates between probes"
            )

    gp = GpuPrediction(small, large, probes, None, None, capacity, margin, notes, s0, far)
    measured = [r.batch_size for r in probes if r.ok]
    rec = recommend(
        gp.max_batch,
        gp.predict,
        s0,
        segment_sizes,
        precisions,
        capacity,
        margin,
        largest_measured=max(measured) if measured else None,
    )  # no cap: the confirming probe below measures the recommendation itself
    confirmed = False
    for _ in range(CONFIRM_TRIES):
        if rec is None:
            break
        r = run(rec.batch_size, rec.segment_size, rec.precision)
        if r.ok and r.device_peak <= budget:
            gp.step_seconds = r.step_seconds
            rec = replace(
                rec,
                peak_bytes=r.device_peak,
                reason=rec.reason
                + f"; confirmed by a real step ({r.device_peak / (1 << 30):.2f} GiB)",
            )
            confirmed = True
            break
        b, seg, prec = rec.batch_size, rec.segment_size, rec.precision
        if r.ok:  # over budget: the probe is a new anchor; scale the per-item part down too
            c0 = gp.small[prec].c0
            scaled = int(b * (budget - c0) / max(r.device_peak - c0, 1.0))
            lower = max(1, min(gp.max_batch(seg, prec), scaled, b - 1))
        else:  # OOM: halfway down to the largest batch that ran (bisection), else -10 %
            below = gp.largest_ok_below(b, seg, prec)
            lower = (below + b) // 2 if below else int(b * 0.9)
            lower = max(1, min(lower, gp.max_batch(seg, prec), b - 1))
        notes.append(
            f"confirming probe at batch {rec.batch_size} "
            + ("ran out of memory" if r.oom else "measured above the budget")
            + f"; lowering to {lower}"
        )
        if lower == rec.batch_size:
            rec = None
            break
        rec = replace(
            rec,
            batch_size=lower,
            peak_bytes=gp.predict(lower, rec.segment_size, rec.precision),
            reason=rec.reason.split(";")[0] + f"; lowered to {lower} after the confirming probe",
            extrapolated=rec.extrapolated and lower > max(measured, default=0),
        )
    if rec is not None and not confirmed:
        notes.append(
            f"no confirming probe succeeded in {CONFIRM_TRIES} tries: batch {rec.batch_size} "
            "is a prediction only"
        )
    gp.recommended = rec
    return gp
