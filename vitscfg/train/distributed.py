"""Process setup for one or many workers, launched the torchrun way.

    # one process (CPU or one GPU): no process group at all
    vitscfg train config.json
    # one machine, 4 GPUs (or 2 CPU workers with gloo)
    torchrun --nproc_per_node 4 -m vitscfg train config.json
    # two machines: the same on both, with --nnodes 2 --node_rank {0,1} --master_addr HOST

Why it differs from the reference (jaywalnut310/vits train.py):
- torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) replaces
  ``mp.spawn`` and the hard-coded MASTER_PORT '80000' (not a valid TCP port).
- ``cuda.set_device(LOCAL_RANK)``, never the global rank: on the second machine the global
  rank is larger than the GPU count.
- No process group when WORLD_SIZE is unset or 1, so a single GPU or a CPU run never needs
  NCCL, a free port or libuv. gloo on CPU and on Windows, nccl on CUDA.
- TCPStore's libuv backend is switched off when this torch build lacks it (Windows wheels
  since 2.4 raise "use_libuv was requested but PyTorch was build without libuv support").
- A rendezvous that never completes (a rank that did not start, a blocked port) ends with
  a message naming the address, the rank and what to check, after ``timeout_s``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as torch_dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

DEFAULT_TIMEOUT_S = 1800.0  # torch's own default for a collective; a rendezvous gets the same


class DistributedSetupError(RuntimeError):
    """The process group could not be formed; the message says which setting to check."""


@dataclass
class Dist:
    """Where this process sits. ``is_main`` (global rank 0) does the logging, evaluation
    and checkpoint writing; the others wait at a barrier (no rank runs ahead into an
    all-reduce while rank 0 is busy)."""

    rank: int
    local_rank: int
    world_size: int
    device: torch.device
    is_main: bool
    # Why the device differs from what was asked (e.g. use_gpu on a CPU-only torch build),
    # for the trainer to print once; empty when it does not.
    note: str = ""

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise DistributedSetupError(
            f"environment variable {name}={raw!r} is not an integer (set by torchrun)"
        ) from None


def _cuda_note() -> str:
    """Say whether this torch could use a GPU at all, not just that none was found."""
    built = torch.version.cuda
    if built is None:
        return f"torch {torch.__version__} is a CPU-only build (no CUDA compiled in)"
    return f"torch {torch.__version__} has CUDA {built} compiled in but sees no usable GPU"


def libuv_available() -> bool:
    """Whether TCPStore can use libuv here: probe a throw-away server on an ephemeral port
    (a few milliseconds; there is no public flag for it)."""
    # Imported here: the module is absent from torch builds without torch.distributed.
    from torch._C._distributed_c10d import TCPStore

    try:
        store = TCPStore("127.0.0.1", 0, 1, True, use_libuv=True, wait_for_workers=False)
    except RuntimeError as err:  # DistStoreError subclasses RuntimeError
        if "libuv" in str(err):
            return False
        raise
    available = bool(getattr(store, "libuvBackend", True))
    del store
    return available


def _backend(device: torch.device) -> str:
    if device.type == "cuda" and sys.platform != "win32" and torch_dist.is_nccl_available():
        return "nccl"
    return "gloo"


def _share_cores() -> None:
    """CPU ranks share the machine: torchrun sets OMP_NUM_THREADS=1 for torch, but numba
    (the CPU alignment search) still starts a thread per core in every rank, and N ranks x
    all cores made steps up to 10x slower on a loaded 2-core box. Match numba to torch,
    unless the user chose NUMBA_NUM_THREADS."""
    if "NUMBA_NUM_THREADS" in os.environ:
        return
    try:
        import numba
    except ImportError:
        return
    limit = int(getattr(numba.config, "NUMBA_NUM_THREADS", 1))
    numba.set_num_threads(max(1, min(limit, torch.get_num_threads())))


def setup(use_gpu: bool, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> Dist:
    """Read torchrun's environment, pick the device and, for more than one process, join
    the process group. Call once at start-up; ``cleanup`` at the end."""
    world_size = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local_rank = _env_int("LOCAL_RANK", 0)
    if world_size < 1 or not 0 <= rank < world_size:
        raise DistributedSetupError(
            f"RANK={rank} is outside [0, WORLD_SIZE={world_size}); launch with torchrun"
        )

    note = ""
    if use_gpu and torch.cuda.is_available():
        count = torch.cuda.device_count()
        if local_rank >= count:
            raise DistributedSetupError(
                f"LOCAL_RANK={local_rank} but this machine has {count} visible GPU(s): "
                f"use --nproc_per_node {count} or fewer (or check CUDA_VISIBLE_DEVICES)"
            )
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)  # the local rank, never the global one
    else:
        if use_gpu:
            note = f"train.use_gpu is true but {_cuda_note()}: training on the CPU"
        device = torch.device("cpu")

    dist = Dist(rank, local_rank, world_size, device, rank == 0, note)
    if world_size == 1:
        return dist
    if device.type == "cpu":
        _share_cores()
    if not torch_dist.is_available():
        raise DistributedSetupError(
            f"WORLD_SIZE={world_size} but torch {torch.__version__} was built without "
            "torch.distributed; run one process"
        )
    if "MASTER_ADDR" not in os.environ or "MASTER_PORT" not in os.environ:
        raise DistributedSetupError(
            f"WORLD_SIZE={world_size} but MASTER_ADDR/MASTER_PORT are not set: launch with "
            "torchrun (it sets them), e.g. torchrun --nproc_per_node 2 -m vitscfg train CONFIG"
        )
    if "USE_LIBUV" not in os.environ and not libuv_available():
        os.environ["USE_LIBUV"] = "0"  # read by the env:// rendezvous

    backend = _backend(device)
    where = f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}"
    try:
        torch_dist.init_process_group(
            backend=backend,
            init_method="env://",
            rank=rank,
            world_size=world_size,
            timeout=timedelta(seconds=timeout_s),
            device_id=device if device.type == "cuda" else None,
        )
    except (RuntimeError, ValueError) as err:  # DistStoreError / DistNetworkError included
        raise DistributedSetupError(
            f"rank {rank}/{world_size} could not join the {backend} process group at "
            f"{where} within {timeout_s:.0f} s ({type(err).__name__}: {err}). Check that "
            "every rank was started, that the port is free and reachable from all nodes, "
            "and that MASTER_ADDR names the node of rank 0."
        ) from err
    return dist


def wrap(module: nn.Module, dist: Dist, *, find_unused: bool = False) -> nn.Module:
    """DDP for more than one process (gradients all-reduced in backward), else the module
    unchanged, so the single-process path has no wrapper, no hooks, no cost.

    ``find_unused``: the module has parameters its forward never reaches (VITS2's
    ``pre_conv`` flow keeps a transformer it never calls; ``dur_disc_1`` norms it never
    applies); DDP then marks them ready itself instead of waiting for them forever."""
    if dist.world_size <= 1:
        return module
    if dist.device.type == "cuda":
        return DistributedDataParallel(
            module,
            device_ids=[dist.device.index],
            output_device=dist.device.index,
            find_unused_parameters=find_unused,
        )
    return DistributedDataParallel(module, find_unused_parameters=find_unused)


def unwrap(module: nn.Module) -> nn.Module:
    """The bare module under DDP: its state_dict has no "module." prefix and its own
    methods (``infer``) are reachable."""
    return module.module if isinstance(module, DistributedDataParallel) else module


def barrier(dist: Dist) -> None:
    """Everyone waits here (around rank-0-only work: eval, checkpoints)."""
    if dist.world_size > 1:
        if dist.device.type == "cuda":
            torch_dist.barrier(device_ids=[dist.device.index])
        else:
            torch_dist.barrier()


def cleanup(dist: Dist) -> None:
    """Leave the process group (silences torch's "destroy_process_group() was not called")."""
    if dist.world_size > 1 and torch_dist.is_initialized():
        torch_dist.destroy_process_group()


def reduce_mean(t: torch.Tensor, dist: Dist) -> torch.Tensor:
    """The mean over ranks of a tensor, for logging only (a collective: every rank must call
    it at the same point). Returns a new tensor; the input is untouched."""
    if dist.world_size <= 1:
        return t
    out = t.detach().clone()
    torch_dist.all_reduce(out, op=torch_dist.ReduceOp.SUM)
    return out / dist.world_size


def any_rank(flag: bool, dist: Dist) -> bool:
    """True on every rank when it is true on any (a collective: every rank must call it at
    the same point). Why: a Ctrl-C or SIGTERM reaches ranks at different moments; a rank
    that stops alone waits in a barrier while the others wait in the next all-reduce."""
    if dist.world_size <= 1:
        return flag
    t = torch.tensor([1 if flag else 0], dtype=torch.int32, device=dist.device)
    torch_dist.all_reduce(t, op=torch_dist.ReduceOp.MAX)
    return bool(t.item())
