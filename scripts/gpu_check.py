"""One GPU check of the estimator and the trainer's step, for every exact fork config.

    python3 scripts/gpu_check.py                   # on a machine with one GPU (~7 min)
    python3 scripts/gpu_check.py --smoke           # the same code on the CPU, tiny shapes

For each case (ljs_base in fp32, fp16 and bf16; the tiny example; one shared config per
fork whose networks and step vitscfg has exactly, found through `vitscfg.model.support`
and `vitscfg/train/fork_steps.py`, so a fork joins once it is exact) it compares, at two
(batch, segment) points at the worst-case lengths of `vitscfg estimate --no-data`:

* measured: the trainer's real step on the GPU (`vitscfg.estimate.probe`: the step state of
  `vitscfg.train.state.build_step_state`, the fork's own step; max_memory_reserved plus the
  process's non-PyTorch memory, and max_memory_allocated);
* `--gpu`: `vitscfg.estimate.gpu.gpu_prediction` (its probe plan on this card);
* no-GPU: `vitscfg.estimate.predict.traced_prediction` (the meta/fake trace and the
  allowances of vitscfg/estimate/devices.py), and its traced tensor bytes against the
  measured allocated bytes.

Both are :class:`vitscfg.estimate.prediction.Prediction` objects sized for one budget
(``--capacity``: 24 GiB by default, the card most users size for; ``card``: this card's
free memory). Then, for each method's recommendation, a short run (a few steps, lengths
cycling like a bucketed loader's) in a process whose allocator is capped at the budget:
out of memory there means the recommendation would not train on such a card. Its steps/s
is the trainer's step at that batch. Last, `bench/peer_reference.py` at fp16 batch 32 when
the reference VITS checkout is there (``--reference``).

Writes ``--out`` (docs/estimator-accuracy.md) and ``--json`` after every case, atomically;
``--budget-s`` (default 420) bounds the wall time: cases and runs that would start after
it are skipped, and the page says which. ``--smoke`` runs every path on the CPU (the
examples/tiny and examples/tiny_vits2 configs at tiny lengths, the probe replaced by a real
CPU step with the context allowance added) and writes to a temporary folder unless told.
Exit: 0 done (skips included), 1 a step failed or ran out of memory at a recommendation,
2 no CUDA without --smoke.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from gpu_check_cases import Plan, all_cases, plan_case  # noqa: E402
from gpu_check_report import GiB, render  # noqa: E402
from gpu_check_steps import CpuWorker, short_runs  # noqa: E402

PEER_SECONDS = 60.0  # bench/peer_reference.py at fp16 batch 32 (two model builds, 16 steps)
SECONDS_GUESS = 45.0  # a case's GPU part before one has been timed (H100, 24 GiB budget)


def device_info(capacity: str, smoke: bool, index: int) -> Any:
    """The budget both predictions are sized for, as a DeviceInfo of this card."""
    from vitscfg.estimate.devices import DeviceInfo, cuda_device, parse_size

    if smoke:
        return DeviceInfo("CPU (smoke)", 0, 0, "assumed", "cuda", index)
    card = cuda_device(index)
    if capacity == "card":
        return card
    size = parse_size(capacity)
    if size is None:
        raise SystemExit(f"gpu_check: --capacity {capacity!r}: a size such as 24GiB, or card")
    return DeviceInfo(card.name, size, min(size, card.free_bytes), "assumed", "cuda", index)


def traced(plan: Plan, device: Any, margin: float, processes: int) -> Any:
    from vitscfg.estimate.predict import traced_prediction

    lengths = plan.lengths
    return traced_prediction(
        plan.step,
        [plan.case.precision],
        plan.batches,
        plan.segments,
        lengths.text_len,
        lengths.spec_frames,
        device,
        margin,
        processes,
    )


def smoke_device(worker: CpuWorker, plan: Plan, margin: float) -> Any:
    """A budget that keeps the CPU plan small: the largest fitting batch ~8 at S0 (the
    small stage's last probe: no large stage)."""
    from vitscfg.estimate.devices import DeviceInfo

    s0, p = plan.step.train.segment_size, plan.case.precision
    lo, hi = worker.probe(4, s0, p).device_peak, worker.probe(8, s0, p).device_peak
    capacity = int((hi + (hi - lo) / 8) / (1 - margin))
    return DeviceInfo("CPU (smoke)", capacity, capacity, "assumed", "cuda", 0)


def check_case(
    plan: Plan, device: Any, args: argparse.Namespace, say: Callable[[str], None], pool: Any
) -> dict[str, Any]:
    """The GPU part of one case (the no-GPU prediction is computing in ``pool``)."""
    from vitscfg.estimate.devices import CUDA_CONTEXT_BYTES
    from vitscfg.estimate.gpu import gpu_prediction, report_probe
    from vitscfg.estimate.probe import ProbeWorker

    case, lengths, s0 = plan.case, plan.lengths, plan.step.train.segment_size
    config, dialect = plan.step.config, plan.step.dialect
    worker: Any
    if args.smoke:
        worker = CpuWorker(config, dialect, lengths, CUDA_CONTEXT_BYTES)
        device = smoke_device(worker, plan, args.margin)
    else:
        worker = ProbeWorker(plan.step, args.gpu_index, lengths.text_len, lengths.spec_frames)
    with worker:
        gp = gpu_prediction(
            plan.step,
            device,
            [case.precision],
            plan.batches,
            plan.segments,
            lengths,
            args.margin,
            s0,
            report=lambda r: report_probe(sys.stdout, r),
            worker=worker,
        )
        done = {(r.batch_size, r.segment_size): r for r in gp.probes if r.ok}
        real = {pt: done.get(pt) or worker.probe(*pt, case.precision) for pt in plan.points}
    # The traces do not depend on the budget (the smoke's is known only now).
    tp = replace(pool.result(), capacity=device.capacity_bytes)
    out: dict[str, Any] = {
        "case": case.name,
        "config": str(case.path.relative_to(ROOT)),
        "dialect": dialect,
        "precision": case.precision,
        "capacity_bytes": device.capacity_bytes,
        "lengths": [lengths.text_len, lengths.spec_frames],
        "method_no_gpu": tp.method,
        "points": [],
        "notes": [*gp.notes, *tp.notes],
    }
    for b, s in plan.points:
        r = real[(b, s)]
        row: dict[str, Any] = {"batch_size": b, "segment_size": s, "ok": r.ok, "oom": r.oom}
        if r.ok:
            row |= {
                "measured": r.device_peak,
                "allocated": r.peak_allocated,
                "reserved": r.peak_reserved,
                "non_torch": r.non_torch_bytes,
                "gpu_pred": gp.predict(b, s, case.precision),
                "gpu_probed": (b, s) in done,
                "no_gpu_pred": tp.predict(b, s, case.precision),
                "traced_bytes": tp.traced_bytes(b, s, case.precision),
                "step_seconds": r.step_seconds,
            }
        else:
            row["error"] = r.error
        out["points"].append(row)
    both = (("--gpu", gp.recommend()), ("no-GPU", tp.recommend()))
    out["runs"] = [{"method": m, "ok": False, "error": "nothing fits"} for m, r in both if not r]
    recs = [(m, r) for m, r in both if r is not None]
    if recs and time.monotonic() > args.deadline:
        out["runs"] += [{"method": m, "skipped": "time budget"} for m, _ in recs]
        recs = []
    runs = (
        short_runs(
            config,
            dialect,
            [(r.batch_size, r.segment_size, r.precision) for _, r in recs],
            (lengths.text_len, lengths.spec_frames),
            "cpu" if args.smoke else f"cuda:{args.gpu_index}",
            device.capacity_bytes,
            CUDA_CONTEXT_BYTES,
            args.steps,
        )
        if recs
        else []
    )
    for (method, rec), run in zip(recs, runs, strict=True):
        run |= {"method": method, "predicted": rec.peak_bytes, "precision": rec.precision}
        out["runs"].append(run)
        say(
            f"  short run ({method}) batch {rec.batch_size} segment {rec.segment_size}: "
            + ("ok" if run.get("ok") else "OUT OF MEMORY" if run.get("oom") else "failed")
            + (f", {run['device_peak'] / GiB:.2f} GiB" if "device_peak" in run else "")
            + (f", {1 / run['step_seconds']:.2f} steps/s" if run.get("step_seconds") else "")
            + (f" ({run['error']})" if run.get("error") else "")
        )
    return out


def peer(args: argparse.Namespace, say: Callable[[str], None]) -> dict[str, Any]:
    """bench/peer_reference.py: our step vs the reference code's, same weights and batch."""
    import subprocess

    if time.monotonic() + (0 if args.smoke else PEER_SECONDS) > args.deadline:
        return {"skipped": "time budget"}
    cmd = [sys.executable, str(ROOT / "bench/peer_reference.py"), "--reference", args.reference]
    cmd += ["--json"] + (
        ["--device", "cpu", "--batch", "1", "--steps", "2", "--frames", "40", "--text-len", "16"]
        if args.smoke
        else ["--device", f"cuda:{args.gpu_index}", "--precision", "fp16", "--batch", "32"]
    )
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"error": "peer_reference.py timed out after 300 s"}
    for line in done.stdout.splitlines():
        say(f"  {line}")
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        return {"error": f"exit {done.returncode}: {done.stderr.strip()[-300:]}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def write_outputs(args: argparse.Namespace, report: dict[str, Any]) -> None:
    from vitscfg.atomic import atomic_write_text

    atomic_write_text(args.json, json.dumps(report, indent=1) + "\n")
    atomic_write_text(args.out, render(report))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="CPU, tiny shapes (tests)")
    parser.add_argument("--out", help="the report (default docs/estimator-accuracy.md)")
    parser.add_argument("--json", help="the JSON (default $OUT/gpu_check.json)")
    parser.add_argument("--budget-s", type=float, default=420.0)
    parser.add_argument("--capacity", default="24GiB", help="a size, or 'card'")
    parser.add_argument("--margin", type=float, default=0.07)
    parser.add_argument("--steps", type=int, default=5, help="steps of each short run")
    parser.add_argument("--cases", nargs="*", help="only cases whose label contains one")
    parser.add_argument("--gpu-index", type=int, default=0)
    parser.add_argument("--reference", default=str(ROOT / ".gpu_deps" / "vits"))
    parser.add_argument("--resume", help="a gpu_check.json: keep its cases, run the others")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="gpu_check_")) if args.smoke else None
    default_out = folder or Path(os.environ.get("OUT") or ROOT / "bench" / "out")
    args.out = args.out or str(
        default_out / "estimator-accuracy.md" if folder else ROOT / "docs/estimator-accuracy.md"
    )
    args.json = args.json or str(default_out / "gpu_check.json")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    if args.smoke:
        args.steps = min(args.steps, 2)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    args.deadline = started + args.budget_s
    import torch

    if args.smoke:  # the CPU steps share two cores with the trace processes
        torch.set_num_threads(1)
    if not args.smoke and not torch.cuda.is_available():
        sys.stderr.write("gpu_check: CUDA is not available (use --smoke on a CPU)\n")
        return 2

    def say(line: str) -> None:
        print(f"[{time.monotonic() - started:5.0f} s] {line}", flush=True)

    cases = [
        c for c in all_cases(args.smoke) if not args.cases or any(k in c.name for k in args.cases)
    ]
    device = device_info(args.capacity, args.smoke, args.gpu_index)
    plans = [plan_case(c, args.smoke) for c in cases]
    cpus = os.cpu_count() or 1
    threads = max(1, min(len(plans), cpus // 3))
    report: dict[str, Any] = {
        "device": device.name,
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d"),
        "smoke": args.smoke,
        "capacity_bytes": device.capacity_bytes,
        "margin": args.margin,
        "budget_s": args.budget_s,
        "cases": [],
        "skipped": [],
    }
    if args.resume:  # a second call finishes what the first one's time budget skipped
        before = json.loads(Path(args.resume).read_text(encoding="utf-8"))
        report["cases"] = [c for c in before["cases"] if "error" not in c]
        done = {(c["case"], c["precision"]) for c in report["cases"]}
        plans = [p for p in plans if (p.case.name, p.case.precision) not in done]
        if "ratio" in before.get("peer", {}):
            report["peer"] = before["peer"]
    say(f"{len(plans)} cases on {device.name}; no-GPU traces start ({threads} at a time)")
    failed = False
    with ThreadPoolExecutor(threads) as traces:
        pending = [traces.submit(traced, p, device, args.margin, min(3, cpus)) for p in plans]
        spent: list[float] = []
        for plan, pool in zip(plans, pending, strict=True):
            guess = max(spent) if spent else (0.0 if args.smoke else SECONDS_GUESS)
            label = f"{plan.case.name} {plan.case.precision}"
            if time.monotonic() + guess > args.deadline:
                report["skipped"].append(f"{label}: time budget ({args.budget_s:.0f} s)")
                say(f"skipped {label}: over the time budget")
                pool.cancel()
                continue
            t0 = time.monotonic()
            say(f"{label}: {plan.case.path.relative_to(ROOT)}")
            try:
                result = check_case(plan, device, args, say, pool)
            except Exception as exc:  # one case's failure is a row, not the end of the run
                result = {"case": plan.case.name, "precision": plan.case.precision}
                result["error"] = f"{type(exc).__name__}: {exc}"
                say(f"  failed: {result['error']}")
            spent.append(time.monotonic() - t0)
            result["seconds"] = spent[-1]
            report["cases"].append(result)
            failed |= "error" in result or any(
                not r.get("ok") and "skipped" not in r for r in result.get("runs", [])
            )
            report["elapsed_s"] = time.monotonic() - started
            write_outputs(args, report)
    report["peer"] = report.get("peer") or peer(args, say)
    report["elapsed_s"] = time.monotonic() - started
    report["complete"] = True
    write_outputs(args, report)
    say(f"wrote {args.out} and {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
