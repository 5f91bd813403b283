"""The no-GPU prediction, recomputed on this machine, against the H100's recorded peaks.

Why: scripts/validate_estimator.py needs a GPU; when the no-GPU path changes (an allowance,
the autocast emulation) this replays its column of docs/estimator-accuracy.md without one:
`vitscfg estimate`'s own fit (predict.traced_prediction: three traces per precision, grid
batch min/max at the config's segment, max batch at the farthest segment, the same device
allowances), evaluated at the measured points of tests/fixtures/h100_reserved.json (device
peak = max_memory_reserved + the probe's non-PyTorch memory, 0.76 GiB on that card; tiny:
the device peaks of the run before).

    .venv/bin/python -m scripts.study.replay_no_gpu      # ~20 s on 2 cores

Goal as in the report: |error| <= 5 %.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = {
    "ljs_base": ROOT / "examples" / "ljs_base.json",
    "tiny": ROOT / "examples/tiny/config.json",
}
NON_PYTORCH_GIB = 0.76  # the probes' CUDA context + handles on the H100 (gpu-validation.md)
GiB = float(1 << 30)


def measured_points() -> list[dict[str, Any]]:
    fixture = json.loads((ROOT / "tests/fixtures/h100_reserved.json").read_text("utf-8"))
    rows = [{**r, "device": r["reserved"] + NON_PYTORCH_GIB} for r in fixture["points"]]
    return rows + list(fixture["tiny_device_totals"]["points"])


def main() -> int:
    from vitscfg.estimate.devices import DeviceInfo
    from vitscfg.estimate.predict import traced_prediction
    from vitscfg.estimate.trace import StepConfig

    rows = measured_points()
    worst = 0.0
    print("config    prec  batch segment | measured GiB | no-GPU GiB (error)")
    for name, path in CONFIGS.items():
        config = json.loads(path.read_text("utf-8"))
        group = [r for r in rows if r["config"] == name]
        s0 = int(config["train"]["segment_size"])
        # The grid the report's column was fitted over: batch 1..max at S0 and the far S.
        batches = [1, max(r["batch_size"] for r in group)]
        segments = [s0, max(r["segment_size"] for r in group)]
        precisions = sorted({r["precision"] for r in group})
        text_len, frames = group[0]["text_len"], group[0]["spec_frames"]
        card = DeviceInfo("H100", 80 << 30, 80 << 30, "assumed")  # the size plays no part
        fp = traced_prediction(
            StepConfig.of(config), precisions, batches, segments, text_len, frames, card, 0.0
        )
        for r in group:
            predicted = fp.predict(r["batch_size"], r["segment_size"], r["precision"]) / GiB
            error = predicted / r["device"] - 1
            worst = max(worst, abs(error))
            print(
                f"{name:9s} {r['precision']:5s} {r['batch_size']:5d} {r['segment_size']:7d} |"
                f" {r['device']:12.2f} | {predicted:6.2f} ({error:+.1%})",
                flush=True,
            )
    print(f"worst |error|: {worst:.1%} (goal 5 %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
