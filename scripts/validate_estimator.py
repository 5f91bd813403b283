"""Check `vitscfg estimate` against reality on a GPU box; writes docs/estimator-accuracy.md.

For ljs_base-sized and tiny configs, at a small grid of (batch_size, segment_size) points at
worst-case lengths, it compares:

* measured: the real peak of the trainer's step on the GPU (`vitscfg.estimate.probe`, one
  subprocess per point: max_memory_reserved + the process's non-PyTorch memory, and
  max_memory_allocated);
* GPU path: the `--gpu` fit (probes at small batches, then the fit at the point);
* no-GPU path: the fake-tensor prediction (`predict_peak_bytes(..., "cuda")` + context),
  with its tensor-only part against max_memory_allocated (calibrates the allowances in
  vitscfg/estimate/devices.py).

Goal: <= 5 % error. Run:

    .venv/bin/python scripts/validate_estimator.py [--gpu-index 0] [--out docs/estimator-accuracy.md]

Refuses (exit 2) without CUDA: the development machine of the estimator had no GPU, so this
report has not been produced yet.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {
    "ljs_base": ROOT / "examples" / "ljs_base.json",
    "tiny": ROOT / "examples/tiny/config.json",
}
POINTS = {  # (batch_size, segment_size) at worst-case lengths (text ids, spec frames)
    "ljs_base": ([(4, 8192), (16, 8192), (8, 16384)], (381, 1000)),
    "tiny": ([(4, 4096), (16, 4096), (8, 8192)], (121, 500)),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpu-index", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "docs" / "estimator-accuracy.md"))
    parser.add_argument("--precision", action="append", choices=("fp32", "fp16", "bf16"))
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
    from vitscfg.estimate.predict import predict_peak_bytes
    from vitscfg.estimate.probe import run_probe

    device = devices.cuda_device(args.gpu_index)
    precisions = args.precision or ["fp32", "fp16"]
    rows: list[str] = []
    errors: list[float] = []
    started = time.time()
    for name, path in CONFIGS.items():
        config = json.loads(path.read_text(encoding="utf-8"))
        points, (text_len, frames) = POINTS[name]
        lengths = Lengths(text_len, frames, "fixed")
        for precision in precisions:
            small = [
                run_probe(config, args.gpu_index, b, points[0][1], precision, text_len, frames)
                for b in (2, 4, 8)
            ]
            far = run_probe(config, args.gpu_index, 4, points[-1][1], precision, text_len, frames)
            ok = [r for r in (*small, far) if r.ok]
            fit = fit_bilinear([Sample(r.batch_size, r.segment_size, r.device_peak) for r in ok])
            for b, s in points:
                real = run_probe(config, args.gpu_index, b, s, precision, text_len, frames)
                if not real.ok:
                    rows.append(
                        f"| {name} | {precision} | {b} | {s} | {real.error or 'failed'} |||||"
                    )
                    continue
                gpu_pred = fit.predict(b, s)
                reserved_pred = predict_peak_bytes(
                    config, b, s, precision, "cuda", text_len=lengths.text_len, spec_frames=frames
                )
                fake_device = reserved_pred + devices.CUDA_CONTEXT_BYTES
                tensor = predict_peak_bytes(
                    config, b, s, precision, "cpu", text_len=text_len, spec_frames=frames
                )
                e_gpu = (gpu_pred - real.device_peak) / real.device_peak
                e_fake = (fake_device - real.device_peak) / real.device_peak
                e_alloc = (tensor - real.peak_allocated) / real.peak_allocated
                errors += [abs(e_gpu), abs(e_fake)]
                gib = 1 << 30
                rows.append(
                    f"| {name} | {precision} | {b} | {s} | {real.device_peak / gib:.2f} "
                    f"| {gpu_pred / gib:.2f} ({e_gpu:+.1%}) | {fake_device / gib:.2f} ({e_fake:+.1%}) "
                    f"| {real.peak_allocated / gib:.2f} | {tensor / gib:.2f} ({e_alloc:+.1%}) "
                    f"| {real.non_torch_bytes / gib:.2f} |"
                )
    worst = max(errors) if errors else float("nan")
    text = "\n".join(
        [
            "# Estimator accuracy (generated by scripts/validate_estimator.py)",
            "",
            f"Device: {device.name}, {device.total_bytes / (1 << 30):.1f} GiB; torch "
            f"{torch.__version__}; {time.time() - started:.0f} s. Worst-case lengths per item; "
            "peaks in GiB. Measured = max_memory_reserved + the probe process's non-PyTorch "
            "memory. Goal: |error| <= 5 %.",
            "",
            "| config | precision | batch | segment | measured | --gpu fit | no-GPU (fake) "
            "| measured allocated | fake tensors | non-PyTorch |",
            "|---|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            f"Worst |error| of the two predictions: {worst:.1%}.",
            "",
        ]
    )
    Path(args.out).write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    return 0 if worst <= 0.05 else 1


if __name__ == "__main__":
    raise SystemExit(main())
