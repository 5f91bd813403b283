"""Check `vitscfg estimate` against reality on a GPU box; writes docs/estimator-accuracy.md.

For ljs_base-sized and tiny configs, at a small grid of (batch_size, segment_size) points at
worst-case lengths, it compares:

* measured: the real peak of the trainer's step on the GPU (`vitscfg.estimate.probe`, one
  subprocess per point: max_memory_reserved + the process's non-PyTorch memory, and
  max_memory_allocated);
* GPU path: the `--gpu` fits (`vitscfg.estimate.gpu.gpu_prediction`, its two probe
  stages on this card), evaluated at the point;
* no-GPU path: the fake-tensor prediction of the device peak (`trace_points` +
  `to_device_bytes`, exactly what `vitscfg estimate` without --gpu computes), and its
  tensor-only part against max_memory_allocated (calibrates the allowances in
  vitscfg/estimate/devices.py);
* the caching allocator model (scripts/study/allocator.py, not the prediction: a study)
  against max_memory_reserved.

Goal: <= 5 % error. Run:

    python scripts/validate_estimator.py [--gpu-index 0] [--out docs/estimator-accuracy.md]

Refuses (exit 2) without CUDA. The traces (meta; fake where fork is missing) run first, in
parallel processes; then the probes, one subprocess at a time (each row is printed as soon
as it is measured).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # scripts.study
CONFIGS = {
    "ljs_base": ROOT / "examples" / "ljs_base.json",
    "tiny": ROOT / "examples/tiny/config.json",
}
# (batch_size, segment_size) at worst-case lengths (text ids, spec frames); none of them is a
# probe of the --gpu plan (2, 4, 8, 16, 32, ... at the config's segment; 4, 8 and two large
# batches at the far one), so the --gpu column tests its interpolation.
POINTS = {
    "ljs_base": ([(6, 8192), (24, 8192), (48, 8192), (12, 16384)], (381, 1000)),
    "tiny": ([(6, 4096), (24, 4096), (48, 4096), (12, 8192)], (121, 500)),
}
FIT_BATCHES = (2, 4, 8)  # as vitscfg.estimate.gpu.PROBE_BATCHES
GiB = 1 << 30


def allocator_reserved(
    config: dict[str, Any], precisions: list[str], points: list[Any]
) -> dict[tuple[str, int, int], int]:
    """(precision, batch, segment) -> the allocator model's reserved bytes (a study:
    scripts/study/allocation_trace.py), one trace process per precision."""
    from scripts.study.allocation_trace import allocated_steps

    out: dict[tuple[str, int, int], int] = {}
    for p in precisions:
        for pt, step in zip(points, allocated_steps(config, p, points, "cuda"), strict=True):
            out[(p, pt.batch_size, pt.segment_size)] = step.reserved_bytes
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpu-index", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "docs" / "estimator-accuracy.md"))
    parser.add_argument("--precision", action="append", choices=("fp32", "fp16", "bf16"))
    parser.add_argument("--configs", nargs="+", choices=sorted(CONFIGS), default=list(CONFIGS))
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        sys.stderr.write("validate_estimator: torch is not installed\n")
        return 2
    if not torch.cuda.is_available():
        sys.stderr.write(
            "validate_estimator: CUDA is not available; run this on a machine with an NVIDIA "
            "GPU (nothing was written)\n"
        )
        return 2
    if not 0 <= args.gpu_index < torch.cuda.device_count():
        sys.stderr.write(f"validate_estimator: no GPU {args.gpu_index}\n")
        return 2

    from vitscfg.estimate import devices
    from vitscfg.estimate.data import Lengths
    from vitscfg.estimate.fit import Sample, fit_bilinear
    from vitscfg.estimate.gpu import gpu_prediction
    from vitscfg.estimate.predict import to_device_bytes, trace_points
    from vitscfg.estimate.probe import ProbeWorker
    from vitscfg.estimate.trace import StepConfig, StepPoint

    device = devices.cuda_device(args.gpu_index)
    precisions = args.precision or ["fp32", "fp16"]
    started = time.time()

    # 1. The no-GPU path, every point at once (parallel processes).
    fake: dict[tuple[str, str, int, int], tuple[int, int]] = {}  # -> (device, tensor)
    model: dict[tuple[str, str, int, int], int] = {}  # -> allocator model's reserved
    for name in args.configs:
        config = json.loads(CONFIGS[name].read_text(encoding="utf-8"))
        points, (text_len, frames) = POINTS[name]
        s0 = int(config["train"]["segment_size"])
        far = max(s for _, s in points)
        # The three traces `vitscfg estimate` fits (grid min/max batch at S0, max at S_far)...
        b_lo, b_hi = 1, max(b for b, _ in points)
        shape = [(b_lo, s0), (b_hi, s0), (b_hi, far)]
        jobs = [(p, StepPoint(b, s, text_len, frames)) for p in precisions for b, s in shape]
        # ...plus each point traced directly (tensor bytes vs measured allocated).
        jobs += [(p, StepPoint(b, s, text_len, frames)) for p in precisions for b, s in points]
        cuda = [peak for peak, _ in trace_points(StepConfig.of(config), jobs, "cuda")]
        for p in precisions:
            samples = [
                Sample(pt.batch_size, pt.segment_size, peak)
                for (q, pt), peak in zip(jobs[: 3 * len(precisions)], cuda, strict=False)
                if q == p
            ]
            fit = to_device_bytes(fit_bilinear(samples), "cuda", 0)
            for (q, pt), peak in zip(jobs, cuda, strict=True):
                if q == p and (pt.batch_size, pt.segment_size) in points:
                    key = (name, p, pt.batch_size, pt.segment_size)
                    fake[key] = (fit.predict(pt.batch_size, pt.segment_size), peak)
        direct = [StepPoint(b, s, text_len, frames) for b, s in points]
        for (p, b, s), r in allocator_reserved(config, precisions, direct).items():
            model[(name, p, b, s)] = r
        print(f"[{time.time() - started:5.0f} s] traces of {name} done", flush=True)

    # 2. The GPU path and the measurement, one probe process at a time.
    rows: list[str] = []
    recs: list[str] = []
    errors: list[float] = []
    for name in args.configs:
        config = json.loads(CONFIGS[name].read_text(encoding="utf-8"))
        points, (text_len, frames) = POINTS[name]
        s0 = int(config["train"]["segment_size"])
        far = max(s for _, s in points)
        lengths = Lengths(text_len, frames, "fixed")
        segments = sorted({s0, far})
        for p in precisions:
            step = StepConfig.of(config)
            with ProbeWorker(step, args.gpu_index, text_len, frames) as worker:
                gp = gpu_prediction(
                    step,
                    device,
                    [p],
                    [b for b, _ in points],
                    segments,
                    lengths,
                    0.07,
                    s0,
                    report=lambda r: print(
                        f"[{time.time() - started:5.0f} s] --gpu probe {r.batch_size}x"
                        f"{r.segment_size} {r.precision}: ok={r.ok} "
                        f"{r.device_peak / GiB:.2f} GiB {r.seconds:.0f} s {r.error}",
                        flush=True,
                    ),
                    worker=worker,
                )
                done = {(r.batch_size, r.segment_size): r for r in gp.probes if r.ok}
                probes = {pt: done.get(pt) or worker.probe(*pt, p) for pt in points}
            if gp.recommended is not None:
                rec = gp.recommended
                recs.append(
                    f"- {name} {p}: batch {rec.batch_size} at segment {rec.segment_size}, "
                    f"{rec.peak_bytes / GiB:.2f} GiB ({rec.reason})"
                )
            for b, s in points:
                real = probes[(b, s)]
                if not real.ok:
                    row = f"| {name} | {p} | {b} | {s} | {real.error or 'failed'} |||||||"
                else:
                    gpu_pred = gp.predict(b, s, p)
                    fake_dev, tensor = fake[(name, p, b, s)]
                    e_gpu = (gpu_pred - real.device_peak) / real.device_peak
                    e_fake = (fake_dev - real.device_peak) / real.device_peak
                    e_alloc = (tensor - real.peak_allocated) / real.peak_allocated
                    modelled = model[(name, p, b, s)]
                    e_model = (modelled - real.peak_reserved) / real.peak_reserved
                    errors += [abs(e_gpu), abs(e_fake)]
                    row = (
                        f"| {name} | {p} | {b} | {s} | {real.device_peak / GiB:.2f} "
                        f"| {gpu_pred / GiB:.2f} ({e_gpu:+.1%}){' *' if (b, s) in done else ''} "
                        f"| {fake_dev / GiB:.2f} ({e_fake:+.1%}) "
                        f"| {real.peak_allocated / GiB:.2f} | {tensor / GiB:.2f} ({e_alloc:+.1%}) "
                        f"| {real.peak_reserved / GiB:.2f} "
                        f"| {modelled / GiB:.2f} ({e_model:+.1%}) "
                        f"| {real.non_torch_bytes / GiB:.2f} "
                        f"| {real.step_seconds * 1000:.0f} |"
                    )
                rows.append(row)
                print(f"[{time.time() - started:5.0f} s] {row}", flush=True)
                partial = render(rows, recs, errors, device.name, complete=False)
                Path(args.out).write_text(partial, encoding="utf-8")
    text = render(
        rows,
        recs,
        errors,
        f"{device.name}, {device.total_bytes / GiB:.1f} GiB; "
        f"torch {torch.__version__}; {time.time() - started:.0f} s",
        complete=True,
    )
    Path(args.out).write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    worst = max(errors) if errors else float("nan")
    return 0 if worst <= 0.05 else 1


def render(
    rows: list[str], recs: list[str], errors: list[float], device: str, complete: bool
) -> str:
    worst = max(errors) if errors else float("nan")
    today = datetime.date.today().isoformat()
    return "\n".join(
        [
            "# Estimator accuracy (generated by scripts/validate_estimator.py)",
            "",
            *([] if complete else ["**Partial: the run stopped before the last point.**", ""]),
            f"{today}. Device: {device}. Worst-case lengths per item "
            "(ljs_base: 381 text ids, 1000 frames; tiny: 121, 500); peaks in GiB. "
            "Measured = max_memory_reserved + the probe process's non-PyTorch memory "
            "(CUDA context, cuDNN/cuBLAS). `--gpu fit` = the prediction of `vitscfg estimate "
            "--gpu` from its probes (small stage: batches 2, 4, 8 at the config's segment, "
            "4 and 8 at the farthest; large stage: 16, 32, ... up to the largest batch the "
            "small fit allows on this card, and two large batches at the far segment; see "
            "vitscfg/estimate/gpu.py), * = the point was one of those probes; `no-GPU` = the "
            "fake-tensor prediction with the allowances of vitscfg/estimate/devices.py; "
            "`allocator model` = the reserved bytes of scripts/study/allocator.py "
            "(a study, not the prediction). Goal: |error| <= 5 %.",
            "",
            "| config | precision | batch | segment | measured | --gpu fit | no-GPU (fake) "
            "| measured allocated | fake tensors | measured reserved | allocator model "
            "| non-PyTorch | step ms |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            f"Worst |error| of the two predictions: {worst:.1%}.",
            "",
            "Recommendations of `--gpu` on this card (margin 7 %, confirmed by a real step):",
            "",
            *recs,
            "",
        ]
    )


if __name__ == "__main__":
    raise SystemExit(main())
