"""`--gpu`: measure the trainer's real step on the GPU, in fresh subprocesses.

Why subprocesses: an OOM or a crash in a probe must not take the estimator down, and the
CUDA context of the probe is measured from a clean process. One process runs a list of
points (one precision) in order, each from a *fresh allocator state*: the
previous point's models, optimisers and batch are dropped, the cache is emptied
(``torch.cuda.empty_cache``) and the peak counters reset before the next point builds its
own. That pays the torch import and CUDA start-up (~10 s) once instead of once per point.
A point builds the trainer's step state with the trainer's own builder
(`vitscfg.train.state.build_step_state`, through `vitscfg.estimate.trace.steady_parts`),
runs `train_step` until both optimisers have state (GradScaler forced to step: init_scale
1, and re-run while a step was skipped), resets the peak counters, runs two more steps and reports peak allocated
/ reserved, the non-PyTorch memory (context, cuDNN/cuBLAS handles: NVML's per-process usage
minus reserved, or mem_get_info before/after) and the step time. cuDNN runs with the
trainer's setting (``torch.backends.cudnn.benchmark`` left off, see vitscfg/train/loop.py).

The child (``python -m vitscfg.estimate.probe``) reads a setup line, then one request line
per point, and answers each with one JSON line: the parent (:class:`ProbeWorker`) keeps it
up across the estimator's stages, so a process that dies (a hard CUDA error) loses only the
point it was on and the next point starts a new one.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vitscfg.estimate.trace import StepConfig


@dataclass(frozen=True)
class ProbeResult:
    batch_size: int
    segment_size: int
    precision: str
    ok: bool
    oom: bool = False
    error: str = ""
    peak_allocated: int = 0
    peak_reserved: int = 0
    non_torch_bytes: int = 0  # CUDA context + library handles of the probe process
    step_seconds: float = 0.0  # median of the measured steps
    seconds: float = 0.0  # wall time of the point (model build, warm-up, measured steps)

    @property
    def device_peak(self) -> int:
        """What the card must hold: reserved peak plus the process's non-PyTorch memory."""
        return self.peak_reserved + self.non_torch_bytes


class ProbeWorker:
    """A probe process that stays up between points (torch import and CUDA start-up paid
    once): ``probe(b, s, p)`` sends one request line and waits for its result line. A
    crash or a timeout costs that point (a failed result); the next point starts a new
    process."""

    def __init__(
        self,
        step: StepConfig,
        index: int,
        text_len: int,
        spec_frames: int,
        timeout: float = 300.0,
    ) -> None:
        self.setup = {
            "config": dict(step.config),
            "dialect": step.dialect,
            "index": index,
            "text_len": text_len,
            "spec_frames": spec_frames,
        }
        self.timeout = timeout
        self.proc: subprocess.Popen[str] | None = None
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stderr: list[str] = []

    def __enter__(self) -> ProbeWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "vitscfg.estimate.probe"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTORCH_NVML_BASED_CUDA_CHECK": "1"},
        )
        self.lines = queue.Queue()
        self.stderr = []
        threading.Thread(target=_pump, args=(proc.stdout, self.lines), daemon=True).start()
        threading.Thread(target=_pump, args=(proc.stderr, self.stderr), daemon=True).start()
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(self.setup) + "\n")
        proc.stdin.flush()
        return proc

    def probe(self, batch_size: int, segment_size: int, precision: str) -> ProbeResult:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = self._start()
        assert self.proc.stdin is not None
        request = {"batch_size": batch_size, "segment_size": segment_size, "precision": precision}
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            while True:
                line = self.lines.get(timeout=self.timeout)
                if line is None:
                    raise EOFError
                if line.startswith("{"):
                    return ProbeResult(**json.loads(line))
        except (queue.Empty, EOFError, BrokenPipeError, OSError) as exc:
            timed_out = isinstance(exc, queue.Empty)
            self.close()
            tail = " | ".join(ln.strip() for ln in self.stderr[-3:])
            why = (
                f"probe timed out after {self.timeout:.0f} s"
                if timed_out
                else f"probe process died: {tail or 'no message'}"
            )
            return ProbeResult(batch_size, segment_size, precision, False, error=why)

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _pump(stream: Any, sink: Any) -> None:
    for line in stream:
        (sink.put if isinstance(sink, queue.Queue) else sink.append)(line)
    if isinstance(sink, queue.Queue):
        sink.put(None)


def run_probes(
    step: StepConfig,
    index: int,
    points: Sequence[tuple[int, int]],
    precision: str,
    text_len: int,
    spec_frames: int,
    timeout: float = 300.0,
) -> list[ProbeResult]:
    """Probe each (batch_size, segment_size) in order in one worker; never raises."""
    with ProbeWorker(step, index, text_len, spec_frames, timeout) as worker:
        return [worker.probe(b, s, precision) for b, s in points]


def _nvml_process_bytes(index: int) -> int | None:
    """This process's memory on the GPU according to NVML (includes the context)."""
    try:
        import pynvml
        import torch

        pynvml.nvmlInit()
        try:
            uuid = str(torch.cuda.get_device_properties(index).uuid)
            for i in range(pynvml.nvmlDeviceGetCount()):
                h = pynvml.nvmlDeviceGetHandleByIndex(i)
                u = pynvml.nvmlDeviceGetUUID(h)
                u = u.decode() if isinstance(u, bytes) else u
                if u.removeprefix("GPU-") != uuid.removeprefix("GPU-"):
                    continue
                for p in pynvml.nvmlDeviceGetComputeRunningProcesses(h):
                    if p.pid == os.getpid() and p.usedGpuMemory:
                        return int(p.usedGpuMemory)
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # NVML missing or restricted (containers): fall back to mem_get_info
        return None
    return None


def _probe_point(
    torch: Any, step: StepConfig, request: Mapping[str, Any], b: int, s: int, p: str, index: int
) -> dict[str, Any]:
    from vitscfg.estimate.trace import StepPoint, make_batch, steady_parts
    from vitscfg.train.fork_steps import fork_step
    from vitscfg.train.step import train_step

    out: dict[str, Any] = {"batch_size": b, "segment_size": s, "precision": p, "ok": False}
    device = torch.device("cuda", index)
    started = time.perf_counter()
    gc.collect()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(device)
    free_before, _ = torch.cuda.mem_get_info(device)
    reserved_before = int(torch.cuda.memory_reserved(device))
    parts = state = batch = None
    try:
        with torch.device(device):
            # Forced stepping: a small initial scale so fp16 does not skip the first steps.
            segment_step = step.with_segment(s)
            parts = steady_parts(segment_step, p, device, None, init_scale=1.0)
            state = parts.step
            point = StepPoint(b, s, int(request["text_len"]), int(request["spec_frames"]))
            fork = fork_step(step.dialect)  # a fork's own step (RVC) on its own batch
            if fork:
                batch = fork.make_batch(
                    segment_step.config, b, point.spec_frames, device, text_len=point.text_len
                )
            else:
                batch = make_batch(state.hp, point).to(device)

        def run_step(parts: Any, state: Any, batch: Any) -> Any:
            if fork:
                return fork.run(segment_step.config, parts, batch)
            return train_step(state, batch)

        for _ in range(4):  # warm-up until a step was not skipped (fp16)
            run_step(parts, state, batch)
            torch.cuda.synchronize()
            if p != "fp16" or state.scaler.get_scale() >= 1.0:
                break
        torch.cuda.reset_peak_memory_stats(device)
        times = []
        for _ in range(2):
            t0 = time.perf_counter()
            run_step(parts, state, batch)
            torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
        out["peak_allocated"] = int(torch.cuda.max_memory_allocated(device))
        out["peak_reserved"] = int(torch.cuda.max_memory_reserved(device))
        reserved_now = int(torch.cuda.memory_reserved(device))
        nvml = _nvml_process_bytes(index)
        if nvml is not None:
            out["non_torch_bytes"] = max(0, nvml - reserved_now)
        else:
            free_after, _ = torch.cuda.mem_get_info(device)
            out["non_torch_bytes"] = max(
                0, free_before - free_after - (reserved_now - reserved_before)
            )
        out["step_seconds"] = sorted(times)[len(times) // 2]
        out["ok"] = True
    except torch.OutOfMemoryError as exc:
        out["oom"] = True
        out["error"] = str(exc).splitlines()[0]
    finally:
        del parts, state, batch
    out["seconds"] = time.perf_counter() - started
    return out


def main() -> int:
    """Serve: a setup line (config, index, lengths), then one request line per point."""
    setup = json.loads(sys.stdin.readline())
    import torch

    from vitscfg.estimate.trace import StepConfig

    step = StepConfig.of(setup["config"], setup.get("dialect"))

    index = int(setup["index"])
    torch.cuda.set_device(index)
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        b, s, p = int(req["batch_size"]), int(req["segment_size"]), str(req["precision"])
        try:
            result = _probe_point(torch, step, setup, b, s, p, index)
        except Exception as exc:  # reported, never a traceback in the parent's output
            result = {
                "batch_size": b,
                "segment_size": s,
                "precision": p,
                "ok": False,
                "error": f"{type(exc).__name__}: {exc}",
            }
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
