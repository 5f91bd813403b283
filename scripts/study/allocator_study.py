"""What the CUDA caching allocator adds to a traced step, without a GPU (allocator.py).

Two studies, both CPU-only (meta traces, with CPU autocast emulated for fp16/bf16):

* ``points``: the allocator model's reserved bytes against what an H100 measured
  (tests/fixtures/h100_reserved.json), beside the estimator's prediction (traced tensor
  peak x ``devices.CUDA_RESERVED_PER_TENSOR_BYTE``).
* ``mixed``: reserved bytes when a run mixes bucket shapes, against one shape repeated (a
  probe). Training cycles through the loader's buckets and the allocator keeps the blocks
  of each; the order decides how much more it reserves.

    python3 -m scripts.study.allocator_study points [--precision fp16]
    python3 -m scripts.study.allocator_study mixed examples/ljs_base.json --batch 160 \
        --shape P=381x1000 --shape A=381x994 --shape S=95x250 --order P,P,P --order A,S,A,A,S \
        --order S,A,A,S,A

Findings are in docs/gpu-validation.md ("The caching allocator, modelled").
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
GiB = float(1 << 30)
CONFIGS = {"ljs_base": ROOT / "examples" / "ljs_base.json"}


def _trace(config: dict[str, Any], precision: str, points: list[Any]) -> list[Any]:
    from scripts.study.allocation_trace import allocated_steps

    # A meta trace in a child process, as the CUDA target holds the tensors.
    return allocated_steps(config, precision, points, "cuda")


def study_points(precisions: list[str]) -> None:
    from vitscfg.estimate import devices
    from vitscfg.estimate.trace import StepPoint

    fixture = json.loads((ROOT / "tests/fixtures/h100_reserved.json").read_text("utf-8"))
    print(f"measured: {fixture['source']}")
    print("config    prec  batch segment | measured | tensors x factor | allocator model")
    for precision in precisions:
        rows = [p for p in fixture["points"] if p["precision"] == precision]
        by_config: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_config.setdefault(row["config"], []).append(row)
        for name, group in by_config.items():
            config = json.loads(CONFIGS[name].read_text("utf-8"))
            points = [
                StepPoint(r["batch_size"], r["segment_size"], r["text_len"], r["spec_frames"])
                for r in group
            ]
            for row, traced in zip(group, _trace(config, precision, points), strict=True):
                measured = row["reserved"]
                tensors = devices.cuda_tensor_bytes(traced.peak_bytes, traced.autocast)
                factor = tensors * devices.CUDA_RESERVED_PER_TENSOR_BYTE / GiB
                model = traced.reserved_bytes / GiB
                print(
                    f"{name:9s} {precision:5s} {row['batch_size']:5d} {row['segment_size']:7d} |"
                    f" {measured:8.2f} | {factor:6.2f} ({factor / measured - 1:+6.1%})  |"
                    f" {model:6.2f} ({model / measured - 1:+6.1%})",
                    flush=True,
                )


def study_mixed(
    config_path: Path,
    precision: str,
    batch: int,
    segment: int,
    shapes: dict[str, tuple[int, int]],
    orders: list[list[str]],
) -> None:
    from scripts.study.allocator import replay_steps
    from vitscfg.estimate.trace import StepPoint

    config = json.loads(config_path.read_text("utf-8"))
    names = list(shapes)
    points = [StepPoint(batch, segment, *shapes[n]) for n in names]
    traces = {n: t for n, t in zip(names, _trace(config, precision, points), strict=True)}
    for n in names:
        t = traces[n]
        print(
            f"shape {n} = {shapes[n][0]} ids x {shapes[n][1]} frames: tensor peak "
            f"{t.peak_bytes / GiB:.2f} GiB, reserved alone {t.reserved_bytes / GiB:.2f} GiB"
        )
    for order in orders:
        model = replay_steps([traces[n].trace for n in order])
        print(
            f"order {','.join(order)}: reserved {model.peak_reserved / GiB:.2f} GiB, "
            f"allocated peak {model.peak_allocated / GiB:.2f} GiB, {model.segments} segments"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="study", required=True)
    pts = sub.add_parser("points")
    pts.add_argument("--precision", action="append", choices=["fp32", "fp16"])
    mix = sub.add_parser("mixed")
    mix.add_argument("config", type=Path)
    mix.add_argument("--precision", default="fp32", choices=["fp32", "fp16", "bf16"])
    mix.add_argument("--batch", type=int, required=True)
    mix.add_argument("--segment", type=int, default=8192)
    mix.add_argument("--shape", action="append", required=True, help="NAME=TEXTxFRAMES")
    mix.add_argument("--order", action="append", required=True, help="NAME,NAME,...")
    args = parser.parse_args()
    if args.study == "points":
        study_points(args.precision or ["fp32"])
        return 0
    shapes = {}
    for spec in args.shape:
        name, _, dims = spec.partition("=")
        text, _, frames = dims.partition("x")
        shapes[name] = (int(text), int(frames))
    orders = [o.split(",") for o in args.order]
    unknown = {n for o in orders for n in o} - set(shapes)
    if unknown:
        parser.error(f"--order names unknown shapes: {', '.join(sorted(unknown))}")
    study_mixed(args.config, args.precision, args.batch, args.segment, shapes, orders)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
