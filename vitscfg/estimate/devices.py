"""Which device the estimate is for: a real CUDA GPU (torch + NVML), a card assumed from a
built-in table or a size (``--vram``), or the host's RAM (``use_gpu: false``).

Also holds the allowances a fake-tensor trace cannot see (CUDA context, workspaces,
allocator rounding/fragmentation, host process and DataLoader workers). Each constant says
where its figure comes from; the CUDA ones were measured by `scripts/validate_estimator.py`
on a GPU box (docs/estimator-accuracy.md, docs/gpu-validation.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

GiB = 1 << 30
MiB = 1 << 20

Source = Literal["cuda", "assumed", "ram"]

#: Built-in cards for ``--vram NAME`` (marketing memory size; the usable total reported by
#: the driver is a little lower, which :data:`ASSUMED_USABLE` accounts for).
CARDS: dict[str, int] = {
    "T4": 16 * GiB,
    "RTX 3060": 12 * GiB,
    "RTX 3080": 10 * GiB,
    "RTX 3090": 24 * GiB,
    "RTX 4060 Ti": 16 * GiB,
    "RTX 4070": 12 * GiB,
    "RTX 4080": 16 * GiB,
    "RTX 4090": 24 * GiB,
    "A10": 24 * GiB,
    "A10G": 24 * GiB,
    "L4": 24 * GiB,
    "L40S": 48 * GiB,
    "A100-40GB": 40 * GiB,
    "A100-80GB": 80 * GiB,
    "H100": 80 * GiB,
    "V100-16GB": 16 * GiB,
    "V100-32GB": 32 * GiB,
}

#: Fraction of the nominal size the driver reports as total (e.g. a "24 GB" RTX 4090 shows
#: 23.99 GiB in nvidia-smi, an A100-40GB 39.4 GiB; ECC and reserved driver memory): 0.98
#: keeps assumed cards on the safe side.
ASSUMED_USABLE = 0.98

#: CUDA context + loaded kernels + cuBLAS/cuDNN handles of a torch process, invisible to
#: the caching allocator. Measured by scripts/validate_estimator.py on an H100 80GB (torch
#: 2.11, CUDA 13.0, driver 580): 0.75-0.76 GiB at every probe (NVML per-process usage minus
#: reserved). Older stacks with lazy CUDA module loading report 300-500 MiB: the H100
#: figure is kept as the safe side.
CUDA_CONTEXT_BYTES = 770 * MiB
#: Reserved bytes per traced tensor byte, for a trace with CUDA's autocast policy (meta
#: traces, meta_autocast.py): the caching allocator keeps freed blocks, rounds to 2 MiB / 20
#: MiB segments and splits them; workspaces it serves (cuBLAS) are inside the ratio. H100
#: run of docs/estimator-accuracy.md, ljs_base at batch 6-48: 1.088-1.110 in fp32,
#: 1.042-1.137 in fp16; one ratio for every precision (fitted on fp32, it predicts the fp16
#: points within 4.4 %, docs/gpu-validation.md).
CUDA_RESERVED_PER_TENSOR_BYTE = 1.09
#: A trace with CPU autocast's policy (the fake trace, where the meta emulation is not
#: available) holds fewer tensor bytes than CUDA autocast: CUDA runs exp, softmax,
#: layer_norm, sums, ... in fp32 (autocast_mode.h), the CPU in the input's precision. H100
#: max_memory_allocated / CPU-policy trace, ljs_base fp16: 1.072-1.098.
CUDA_OVER_CPU_AUTOCAST = 1.08


def cuda_tensor_bytes(peak_bytes: int, autocast: str) -> int:
    """A traced tensor peak as CUDA would hold it; ``autocast``: the policy the trace
    applied ("none" in fp32, "cuda", or "cpu" for the fake fall-back)."""
    return round(peak_bytes * CUDA_OVER_CPU_AUTOCAST) if autocast == "cpu" else peak_bytes


#: RSS of a Python process with torch and vitscfg's model imported, measured on the dev box
#: (torch 2.9.1: 508 MiB RSS, 264 MiB unique), for the CPU (RAM) path.
HOST_PROCESS_BYTES = 512 * MiB
#: Unique memory of one forked DataLoader worker (copy-on-write pages touched by refcounts,
#: its own batch being collated): an allowance per worker for the RAM path.
WORKER_BYTES = 300 * MiB


@dataclass(frozen=True)
class DeviceInfo:
    """The device the grid is sized for."""

    name: str
    total_bytes: int
    free_bytes: int
    source: Source  # "cuda": measured; "assumed": --vram or no GPU; "ram": CPU training
    kind: Literal["cuda", "cpu"] = "cuda"
    index: int | None = None
    warnings: tuple[str, ...] = ()
    other_processes: tuple[str, ...] = field(default=())

    @property
    def capacity_bytes(self) -> int:
        """What a training run can use: free memory (other processes count against it)."""
        return self.free_bytes


class DeviceError(Exception):
    """The requested device does not exist or cannot be queried (exit code 2)."""


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(I?B?)\s*$", re.IGNORECASE)


def parse_size(text: str) -> int | None:
    """'24GiB', '24 GB', '24G', '16000MiB', '8e9'? -> bytes (GB and GiB both mean 2**30 for
    GPUs, as vendors label them); None when it is not a size."""
    m = _SIZE.match(text)
    if not m:
        return None
    value = float(m.group(1))
    unit = m.group(2).upper()
    power = {"": 0, "K": 1, "M": 2, "G": 3, "T": 4}[unit]
    if unit == "" and not m.group(3):
        power = 0  # plain bytes
    return int(value * (1 << (10 * power)))


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower().replace("nvidia", "").replace("geforce", ""))


def assumed_device(vram: str) -> DeviceInfo:
    """``--vram``: a size or a card of :data:`CARDS` (case, spaces and dashes ignored)."""
    size = parse_size(vram)
    if size is not None:
        if size < 256 * MiB:
            raise DeviceError(f"--vram {vram}: {size} bytes is too small for a GPU")
        name = f"assumed {vram.strip()}"
    else:
        wanted = _norm(vram)
        matches = [c for c in CARDS if _norm(c) == wanted]
        if not matches:
            matches = [c for c in CARDS if _norm(c).startswith(wanted)]
        if len(matches) != 1:
            known = ", ".join(CARDS)
            raise DeviceError(
                f"--vram {vram!r}: not a size (e.g. 24GiB) nor a known card ({known})"
            )
        name, size = matches[0], CARDS[matches[0]]
    usable = int(size * ASSUMED_USABLE)
    return DeviceInfo(name, usable, usable, "assumed")


def ram_device() -> DeviceInfo:
    """Host memory for CPU training: total, and what is available now."""
    import psutil

    vm = psutil.virtual_memory()
    warnings: tuple[str, ...] = ()
    if vm.available < vm.total * 0.5:
        used = (vm.total - vm.available) / GiB
        warnings = (f"{used:.1f} GiB of RAM is already in use by other processes",)
    return DeviceInfo("host RAM", int(vm.total), int(vm.available), "ram", "cpu", None, warnings)


def cuda_device(index: int) -> DeviceInfo:
    """A real GPU: name and memory from torch (honours CUDA_VISIBLE_DEVICES), other processes
    from NVML (matched by UUID, since NVML ignores CUDA_VISIBLE_DEVICES)."""
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - the [train] extra is required
        raise DeviceError("--gpu needs torch (pip install 'vitscfg[train]')") from exc
    if not torch.cuda.is_available():
        raise DeviceError(
            "--gpu: CUDA is not available (no GPU, no driver, or a CPU-only torch); "
            "run without --gpu for a prediction without a GPU, or with --vram SIZE|CARD"
        )
    count = torch.cuda.device_count()
    if not 0 <= index < count:
        raise DeviceError(
            f"--gpu {index}: no such GPU; this machine has {count} (indices 0..{count - 1})"
        )
    props = torch.cuda.get_device_properties(index)
    free, total = torch.cuda.mem_get_info(index)
    procs, warnings = _nvml_processes(str(getattr(props, "uuid", "")))
    if free < total * 0.95:
        warnings.append(
            f"only {free / GiB:.1f} of {total / GiB:.1f} GiB are free: other processes (or this "
            "one) use the GPU; the recommendation is sized for the free memory"
        )
    return DeviceInfo(
        torch.cuda.get_device_name(index),
        int(total),
        int(free),
        "cuda",
        "cuda",
        index,
        tuple(warnings),
        tuple(procs),
    )


def _nvml_processes(uuid: str) -> tuple[list[str], list[str]]:
    """Compute processes on the GPU with this UUID, as 'pid N: X MiB' (best effort)."""
    try:
        import pynvml
    except ImportError:
        return [], ["nvidia-ml-py is not installed: other processes on the GPU are not listed"]
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return [], [f"NVML unavailable ({exc}): other processes on the GPU are not listed"]
    try:
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            found = pynvml.nvmlDeviceGetUUID(handle)
            found = found.decode() if isinstance(found, bytes) else found
            if uuid and found.lstrip("GPU-") != uuid.lstrip("GPU-"):
                continue
            procs = pynvml.nvmlDeviceGetComputeRunningProcesses(handle)
            return [f"pid {p.pid}: {(p.usedGpuMemory or 0) / MiB:.0f} MiB" for p in procs], []
        return [], []
    except pynvml.NVMLError as exc:
        return [], [f"NVML query failed ({exc})"]
    finally:
        pynvml.nvmlShutdown()


def choose_device(vram: str | None, gpu: int | None, use_gpu: bool) -> DeviceInfo:
    """The device an estimate is for: ``--vram`` (a what-if card), ``--gpu`` (a real one),
    the host's RAM for CPU training, else GPU 0 when CUDA is here (its capacity; the
    prediction is still the traced one), else an assumed 24 GiB card (the common training
    GPU). Raises DeviceError."""
    if vram is not None:
        return assumed_device(vram)
    if gpu is not None:
        return cuda_device(gpu)
    if not use_gpu:
        return ram_device()
    try:
        import torch

        if torch.cuda.is_available():
            return cuda_device(0)
    except Exception:  # a broken driver must not stop a prediction that needs no GPU
        pass
    dev = assumed_device("24GiB")
    return DeviceInfo(
        "assumed 24 GiB GPU (no CUDA here; --vram SIZE|CARD to choose)",
        dev.total_bytes,
        dev.free_bytes,
        "assumed",
    )


def cpu_overhead_bytes(num_workers: int) -> int:
    """Host process + DataLoader workers, for the RAM path."""
    return HOST_PROCESS_BYTES + max(0, num_workers) * WORKER_BYTES
