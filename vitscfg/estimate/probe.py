"""`--gpu`: measure the trainer's real step on the GPU, one subprocess per probe point.

Why a subprocess per probe: an OOM or a fragmented cache from one probe must not poison
the next (estimator.md 5.2), and the CUDA context of each probe is measured from a clean
process. A probe builds the real models/optimisers (`vitscfg.estimate.fake.build_state`,
which calls the trainer's `build_models`/`make_optimizers`), runs `train_step` until both
optimisers have state (GradScaler forced to step: init_scale 1, and re-run while a step was
skipped, estimator.md 2.3), resets the peak counters, runs two more steps and reports
peak allocated / reserved, the non-PyTorch memory (context, cuDNN/cuBLAS handles: NVML's
per-process usage minus reserved, or mem_get_info before/after) and the step time.

Run as ``python -m vitscfg.estimate.probe '<json request>'``; prints one JSON line.
Untested here (the development machine has no GPU): scripts/validate_estimator.py is the
check to run on a GPU box.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any


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

    @property
    def device_peak(self) -> int:
        """What the card must hold: reserved peak plus the process's non-PyTorch memory."""
        return self.peak_reserved + self.non_torch_bytes


def run_probe(
    config: Mapping[str, Any],
    index: int,
    batch_size: int,
    segment_size: int,
    precision: str,
    text_len: int,
    spec_frames: int,
    timeout: float = 300.0,
) -> ProbeResult:
    """One probe in a fresh Python process; never raises for OOM or a crash."""
    request = {
        "config": config,
        "index": index,
        "batch_size": batch_size,
        "segment_size": segment_size,
        "precision": precision,
        "text_len": text_len,
        "spec_frames": spec_frames,
    }
    base = ProbeResult(batch_size, segment_size, precision, False)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "vitscfg.estimate.probe", json.dumps(request)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "PYTORCH_NVML_BASED_CUDA_CHECK": "1"},
        )
    except subprocess.TimeoutExpired:
        return _replace(base, error=f"probe timed out after {timeout:.0f} s")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return _replace(base, error=f"probe exited {proc.returncode}: {' | '.join(tail)}")
    return ProbeResult(**json.loads(lines[-1]))


def _replace(r: ProbeResult, **kw: Any) -> ProbeResult:
    return ProbeResult(**{**asdict(r), **kw})


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


def _probe_main(request: Mapping[str, Any]) -> dict[str, Any]:
    import torch

    from vitscfg.estimate.fake import StepPoint, build_state, make_batch, with_segment
    from vitscfg.train.step import train_step

    index = int(request["index"])
    b, s, p = int(request["batch_size"]), int(request["segment_size"]), str(request["precision"])
    out: dict[str, Any] = {"batch_size": b, "segment_size": s, "precision": p, "ok": False}
    device = torch.device("cuda", index)
    torch.cuda.set_device(device)
    torch.backends.cudnn.benchmark = True  # as the trainer (and the reference) do
    free_before, _ = torch.cuda.mem_get_info(device)
    try:
        with torch.device(device):
            state = build_state(with_segment(request["config"], s), p, foreach=None)
            # Forced stepping: a small initial scale so fp16 does not skip the first steps.
            state.scaler = torch.amp.GradScaler(  # type: ignore[attr-defined]
                "cuda", init_scale=1.0, enabled=p == "fp16"
            )
            point = StepPoint(b, s, int(request["text_len"]), int(request["spec_frames"]))
            batch = make_batch(state.hp, point).to(device)
        for _ in range(4):  # warm-up (cudnn benchmark) until a step was not skipped
            train_step(state, batch)
            torch.cuda.synchronize()
            if p != "fp16" or state.scaler.get_scale() >= 1.0:
                break
        torch.cuda.reset_peak_memory_stats(device)
        times = []
        for _ in range(2):
            t0 = time.perf_counter()
            train_step(state, batch)
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
            out["non_torch_bytes"] = max(0, free_before - free_after - reserved_now)
        out["step_seconds"] = sorted(times)[len(times) // 2]
        out["ok"] = True
    except torch.OutOfMemoryError as exc:
        out["oom"] = True
        out["error"] = str(exc).splitlines()[0]
    return out


def main(argv: list[str]) -> int:
    request = json.loads(argv[0])
    try:
        result = _probe_main(request)
    except Exception as exc:  # reported, never a traceback in the parent's output
        result = {
            "batch_size": int(request["batch_size"]),
            "segment_size": int(request["segment_size"]),
            "precision": str(request["precision"]),
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}",
        }
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
