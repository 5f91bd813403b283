"""`--gpu`: probe plan, fit and confirmation on a real GPU (see probe.py for one probe).

Plan per precision, in one probe process: three small batches at the config's segment (2, 4, 8: small enough to
fit nearly any card, three points so the affine fit is *checked*, not just solved) and one
at the farthest grid segment; OOM probes are recorded and left out of the fit. The fit is
on the device peak (reserved + context/handles). Then one confirming probe at the
recommended point; when it measures above the budget or OOMs, the batch is lowered by 10 %
and confirmed again (three tries); the confirming probe runs in a process of its own, as a
new training run would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from vitscfg.estimate.data import Lengths
from vitscfg.estimate.devices import DeviceInfo
from vitscfg.estimate.fit import BilinearFit, Sample, fit_bilinear
from vitscfg.estimate.grid import Recommendation, recommend
from vitscfg.estimate.probe import ProbeResult, run_probe, run_probes

PROBE_BATCHES = (2, 4, 8)


@dataclass
class GpuPrediction:
    fits: dict[str, BilinearFit]
    probes: list[ProbeResult]
    recommended: Recommendation | None
    step_seconds: float | None
    capacity: int
    margin: float
    notes: list[str] = field(default_factory=list)

    def predict(self, b: int, s: int, p: str) -> int:
        for r in self.probes:
            if r.ok and (r.batch_size, r.segment_size, r.precision) == (b, s, p):
                return r.device_peak
        return self.fits[p].predict(b, s)

    def max_batch(self, s: int, p: str) -> int:
        return self.fits[p].max_batch(s, self.capacity * (1 - self.margin))

    def measured(self, b: int, s: int, p: str) -> str | None:
        hit = any(
            r.ok and (r.batch_size, r.segment_size, r.precision) == (b, s, p) for r in self.probes
        )
        return "probed" if hit else None


def gpu_prediction(
    config: Mapping[str, Any],
    device: DeviceInfo,
    precisions: Sequence[str],
    batch_sizes: Sequence[int],
    segment_sizes: Sequence[int],
    lengths: Lengths,
    margin: float,
    config_segment: int,
    probe: Callable[..., ProbeResult] = run_probe,
    probe_list: Callable[..., list[ProbeResult]] = run_probes,
    report: Callable[[ProbeResult], None] | None = None,
) -> GpuPrediction:
    assert device.index is not None
    capacity = device.capacity_bytes
    far = max(segment_sizes, key=lambda s: (abs(s - config_segment), s))
    plan = [(b, config_segment) for b in PROBE_BATCHES] + (
        [(PROBE_BATCHES[1], far)] if far != config_segment else []
    )
    probes: list[ProbeResult] = []
    fits: dict[str, BilinearFit] = {}
    notes: list[str] = []

    def record(r: ProbeResult) -> ProbeResult:
        probes.append(r)
        if report is not None:
            report(r)
        if r.oom:
            notes.append(
                f"probe batch {r.batch_size} segment {r.segment_size} {r.precision}: "
                "out of memory (recorded)"
            )
        elif not r.ok:
            notes.append(
                f"probe batch {r.batch_size} segment {r.segment_size} "
                f"{r.precision} failed: {r.error}"
            )
        return r

    def run(b: int, s: int, p: str) -> ProbeResult:
        return record(probe(config, device.index, b, s, p, lengths.text_len, lengths.spec_frames))

    for p in precisions:
        # One process for the plan (fresh allocator state per point, see probe.py).
        results = [
            record(r)
            for r in probe_list(
                config, device.index, plan, p, lengths.text_len, lengths.spec_frames
            )
        ]
        ok = [r for r in results if r.ok]
        if len({r.batch_size for r in ok if r.segment_size == config_segment}) < 2:
            ok += [r for r in (run(1, config_segment, p),) if r.ok]
        samples = [Sample(r.batch_size, r.segment_size, r.device_peak) for r in ok]
        try:
            fits[p] = fit_bilinear(samples)
        except ValueError:
            notes.append(f"{p}: too few successful probes to fit; nothing is recommended")
            fits[p] = BilinearFit(float(capacity) * 2, 0.0, float(capacity), 1.0)
            continue
        if fits[p].max_rel_residual > 0.02:
            notes.append(
                f"{p}: memory is not affine in batch size over the probes "
                f"(max residual {fits[p].max_rel_residual:.1%}); treat the grid as rough"
            )

    def predict(b: int, s: int, p: str) -> int:
        return fits[p].predict(b, s)

    def max_batch(s: int, p: str) -> int:
        return fits[p].max_batch(s, capacity * (1 - margin))

    measured = [r.batch_size for r in probes if r.ok]
    rec = recommend(
        max_batch,
        predict,
        config_segment,
        segment_sizes,
        precisions,
        capacity,
        margin,
        largest_measured=max(measured) if measured else None,
    )  # no cap: the confirming probe below measures the recommendation itself
    step_seconds = None
    for _ in range(3):
        if rec is None:
            break
        r = run(rec.batch_size, rec.segment_size, rec.precision)
        if r.ok and r.device_peak <= capacity * (1 - margin):
            step_seconds = r.step_seconds
            rec = replace(
                rec,
                peak_bytes=r.device_peak,
                reason=rec.reason
                + f"; confirmed by a real step ({r.device_peak / (1 << 30):.2f} GiB)",
            )
            break
        lower = max(1, int(rec.batch_size * 0.9))
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
            peak_bytes=predict(lower, rec.segment_size, rec.precision),
            reason=rec.reason.split(";")[0] + f"; lowered to {lower} after the confirming probe",
            extrapolated=rec.extrapolated and lower > max(measured, default=0),
        )
    return GpuPrediction(fits, probes, rec, step_seconds, capacity, margin, notes)
