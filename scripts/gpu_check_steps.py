"""The real steps of scripts/gpu_check.py: a probe worker for the CPU (``--smoke``) and the
short run at a recommendation (a child process, ``python scripts/gpu_check_steps.py``).

Both build the trainer's own step state (`vitscfg.estimate.trace.steady_parts`, i.e.
`vitscfg.train.state.build_step_state` in the steady state of a loop) and run the step the
trainer runs: a fork's own step where `vitscfg/train/fork_steps.py` has one, else
`vitscfg.train.step.train_step`.

The short run answers "does the recommended batch train on a card of this budget?": a
fresh process caps PyTorch's allocator at the budget minus the CUDA context
(``torch.cuda.set_per_process_memory_fraction``), so a step that needs more raises
out-of-memory exactly as on a smaller card, and runs a few steps whose lengths cycle
through the worst case and shorter items, as a bucketed loader hands them over (mixed
shapes cost the caching allocator a few per cent more than one repeated shape: see
docs/gpu-validation.md). It reports the peak, and the median seconds per step after the
first (steps/s of the trainer's step at that batch).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: Length of each short-run step's items, as a fraction of the worst case (the loader's
#: buckets): the worst case first (the heaviest state early), shorter ones in between.
LENGTH_CYCLE = (1.0, 0.5, 1.0, 0.75, 1.0, 0.6, 1.0, 1.0)


class CpuWorker:
    """``probe(b, s, p) -> ProbeResult`` on the CPU, for ``--smoke``: the same plan code
    (`vitscfg.estimate.gpu.gpu_prediction`) on a real CPU step. The peak is the live tensor
    bytes of that step (`vitscfg.estimate.fake.step_peaks` with real tensors), plus
    ``context_bytes`` standing for the CUDA context a GPU probe would add, so that the two
    predictions are on one scale. Results are cached per point."""

    def __init__(
        self, config: Mapping[str, Any], dialect: str | None, lengths: Any, context_bytes: int
    ) -> None:
        self.config, self.dialect = dict(config), dialect
        self.text_len, self.frames = lengths.text_len, lengths.spec_frames
        self.context_bytes = context_bytes
        self.cache: dict[tuple[int, int, str], Any] = {}

    def probe(self, batch_size: int, segment_size: int, precision: str) -> Any:
        from vitscfg.estimate.fake import step_peaks
        from vitscfg.estimate.probe import ProbeResult
        from vitscfg.estimate.trace import StepConfig, StepPoint

        key = (batch_size, segment_size, precision)
        if key not in self.cache:
            started = time.perf_counter()
            step = StepConfig.of(self.config, self.dialect)
            point = StepPoint(batch_size, segment_size, self.text_len, self.frames)
            (peak,) = step_peaks(step, precision, [point], fake=False)
            self.cache[key] = ProbeResult(
                batch_size,
                segment_size,
                precision,
                True,
                peak_allocated=peak.peak_bytes,
                peak_reserved=peak.peak_bytes,
                non_torch_bytes=self.context_bytes,
                step_seconds=peak.seconds,
                seconds=time.perf_counter() - started,
            )
        return self.cache[key]

    def __enter__(self) -> CpuWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def short_runs(
    config: Mapping[str, Any],
    dialect: str | None,
    points: list[tuple[int, int, str]],
    lengths: tuple[int, int],
    device: str,
    budget_bytes: int,
    context_bytes: int,
    steps: int,
    timeout: float = 300.0,
) -> list[dict[str, Any]]:
    """``steps`` steps at each of ``points`` (batch, segment, precision), one after the
    other in one fresh process capped at ``budget_bytes`` (CUDA; on the CPU, nothing to
    cap, in this process); never raises: a crash or a timeout fails the points left."""
    request = {
        "config": dict(config),
        "dialect": dialect,
        "points": [list(p) for p in points],
        "lengths": list(lengths),
        "device": device,
        "budget_bytes": budget_bytes,
        "context_bytes": context_bytes,
        "steps": steps,
    }
    if device == "cpu":
        return [_guarded(request, i) for i in range(len(points))]
    try:
        done = subprocess.run(
            [sys.executable, str(Path(__file__).resolve())],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
        )
        why = f"exit {done.returncode}: " + (
            " | ".join(done.stderr.strip().splitlines()[-3:]) or "no output"
        )
        lines = [json.loads(ln) for ln in done.stdout.splitlines() if ln.startswith("{")]
    except subprocess.TimeoutExpired:
        why, lines = f"timed out after {timeout:.0f} s", []
    return lines + [_failed(p, why) for p in points[len(lines) :]]


def _failed(point: Any, why: str) -> dict[str, Any]:
    return {
        "ok": False,
        "oom": False,
        "batch_size": point[0],
        "segment_size": point[1],
        "error": why,
    }


def _guarded(request: Mapping[str, Any], index: int) -> dict[str, Any]:
    """One point of ``request``; an exception is its failed result, not the run's end."""
    try:
        return _run(request, index)
    except Exception as exc:
        return _failed(request["points"][index], f"{type(exc).__name__}: {exc}")


def _lengths_at(fraction: float, text_len: int, frames: int, min_frames: int) -> tuple[int, int]:
    return max(1, round(text_len * fraction)), max(min_frames, round(frames * fraction))


def _run(request: Mapping[str, Any], index: int) -> dict[str, Any]:
    """One point: a fresh allocator state, the step state, the steps."""
    import gc

    import torch

    from vitscfg.estimate.trace import StepConfig, StepPoint, make_batch, steady_parts
    from vitscfg.train.fork_steps import fork_step
    from vitscfg.train.step import train_step

    b, s = (int(request["points"][index][0]), int(request["points"][index][1]))
    p = str(request["points"][index][2])
    text_len, frames = (int(x) for x in request["lengths"])
    device = torch.device(request["device"])
    out: dict[str, Any] = {"ok": False, "oom": False, "batch_size": b, "segment_size": s}
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.set_device(device)
        gc.collect()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        total = torch.cuda.get_device_properties(device).total_memory
        cap = int(request["budget_bytes"]) - int(request["context_bytes"])
        torch.cuda.set_per_process_memory_fraction(max(0.01, min(1.0, cap / total)), device)
        out["cap_bytes"] = cap
    step = StepConfig.of(request["config"], request["dialect"]).with_segment(s)
    fork = fork_step(step.dialect)
    min_frames = s // int(step.config["data"]["hop_length"]) + 2
    times: list[float] = []
    parts = batch = None
    try:
        with torch.device(device):
            parts = steady_parts(step, p, device, None, init_scale=1.0)
        for i in range(int(request["steps"])):
            t, f = _lengths_at(LENGTH_CYCLE[i % len(LENGTH_CYCLE)], text_len, frames, min_frames)
            with torch.device(device):
                if fork:
                    batch = fork.make_batch(step.config, b, f, device, text_len=t)
                else:
                    batch = make_batch(parts.step.hp, StepPoint(b, s, t, f)).to(device)
            t0 = time.perf_counter()
            if fork:
                fork.run(step.config, parts, batch)
            else:
                train_step(parts.step, batch)
            if cuda:
                torch.cuda.synchronize(device)
            times.append(time.perf_counter() - t0)
            batch = None
        out["ok"] = True
    except torch.OutOfMemoryError as exc:
        out["oom"] = True
        out["error"] = str(exc).splitlines()[0]
    finally:
        del parts, batch
    out["steps_run"] = len(times)
    if len(times) > 1:
        out["step_seconds"] = statistics.median(times[1:])
    if cuda:
        out["peak_reserved"] = int(torch.cuda.max_memory_reserved(device))
        out["peak_allocated"] = int(torch.cuda.max_memory_allocated(device))
        out["device_peak"] = out["peak_reserved"] + int(request["context_bytes"])
    return out


def main() -> int:
    sys.path.insert(0, str(ROOT))
    request = json.loads(sys.stdin.read())
    for i in range(len(request["points"])):  # one JSON line per point, as soon as it is done
        sys.stdout.write(json.dumps(_guarded(request, i)) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
