"""Process setup without a launcher, and real 2-process DDP on CPU (gloo) via torchrun.

The DDP test is the check that matters: ``train_step`` freezes D's parameters during the
generator pass (``step._frozen``). Under DDP no gradient hook of D fires in that backward,
so the reducer never starts a reduction it would wait for, and the next iteration's
forward does not raise "Expected to have finished reduction in the prior iteration";
identical parameters on both ranks after steps on different data prove the all-reduce.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from vitscfg.train import distributed  # noqa: E402

pytestmark = pytest.mark.torch

REPO = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("_ddp_worker.py")
TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "USE_LIBUV")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _torchrun(*args: str) -> list[str]:
    """Two local ranks through torchrun (the documented launcher) on a free port."""
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(_free_port()),
        *args,
    ]


def _child_env() -> dict[str, str]:
    """One thread per rank (two ranks share two cores); numba's parallel MAS oversubscribes
    a loaded machine badly (10x slower steps) when each rank starts a thread per core."""
    env = {k: v for k, v in os.environ.items() if k not in TORCHRUN_ENV}
    env.update(OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1", PYTHONPATH=str(REPO))
    return env


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in TORCHRUN_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_single_process_needs_no_process_group(clean_env: pytest.MonkeyPatch) -> None:
    dist = distributed.setup(use_gpu=False)
    assert (dist.rank, dist.local_rank, dist.world_size, dist.is_main) == (0, 0, 1, True)
    assert dist.device == torch.device("cpu")
    assert not torch.distributed.is_initialized()
    module = torch.nn.Linear(2, 2)
    assert distributed.wrap(module, dist) is module
    assert distributed.unwrap(module) is module
    t = torch.tensor([1.0, 3.0])
    assert distributed.reduce_mean(t, dist) is t
    distributed.barrier(dist)
    distributed.cleanup(dist)


def test_use_gpu_without_cuda_falls_back_with_a_note(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setattr(torch.cuda, "is_available", lambda: False)
    dist = distributed.setup(use_gpu=True)
    assert dist.device.type == "cpu"
    assert "use_gpu" in dist.note and torch.__version__ in dist.note


def test_world_size_without_master_is_a_clear_error(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("WORLD_SIZE", "2")
    clean_env.setenv("RANK", "1")
    with pytest.raises(distributed.DistributedSetupError, match="MASTER_ADDR.*torchrun"):
        distributed.setup(use_gpu=False)


def test_bad_rank_is_a_clear_error(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("WORLD_SIZE", "2")
    clean_env.setenv("RANK", "2")
    with pytest.raises(distributed.DistributedSetupError, match="RANK=2"):
        distributed.setup(use_gpu=False)
    clean_env.setenv("RANK", "one")
    with pytest.raises(distributed.DistributedSetupError, match="not an integer"):
        distributed.setup(use_gpu=False)


def test_rendezvous_timeout_names_the_address(clean_env: pytest.MonkeyPatch) -> None:
    """Rank 1 of 2 with no rank 0 anywhere: a bounded wait, then a message saying where."""
    port = _free_port()
    clean_env.setenv("WORLD_SIZE", "2")
    clean_env.setenv("RANK", "1")
    clean_env.setenv("MASTER_ADDR", "127.0.0.1")
    clean_env.setenv("MASTER_PORT", str(port))
    with pytest.raises(distributed.DistributedSetupError, match=f"127.0.0.1:{port}"):
        distributed.setup(use_gpu=False, timeout_s=2)
    assert not torch.distributed.is_initialized()


def test_libuv_probe_answers() -> None:
    assert isinstance(distributed.libuv_available(), bool)


def test_unwrap_strips_ddp_prefix(tmp_path: Path) -> None:
    """A one-process gloo group is enough to build a real DDP wrapper."""
    store = torch.distributed.FileStore(str(tmp_path / "store"), 1)
    torch.distributed.init_process_group("gloo", store=store, rank=0, world_size=1)
    try:
        dist = distributed.Dist(0, 0, 2, torch.device("cpu"), True)  # pretend: force wrap
        module = torch.nn.Linear(2, 2)
        wrapped = distributed.wrap(module, dist)
        assert isinstance(wrapped, torch.nn.parallel.DistributedDataParallel)
        assert all(k.startswith("module.") for k in wrapped.state_dict())
        assert distributed.unwrap(wrapped) is module
        assert set(distributed.unwrap(wrapped).state_dict()) == {"weight", "bias"}
    finally:
        torch.distributed.destroy_process_group()


def _run_worker(tmp_path: Path, *args: str) -> list[dict[str, Any]]:
    cmd = _torchrun(str(WORKER), str(tmp_path), *args)
    proc = subprocess.run(
        cmd, cwd=REPO, env=_child_env(), capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]


@pytest.mark.slow
def test_ddp_two_cpu_ranks_keep_identical_parameters(tmp_path: Path) -> None:
    ranks = _run_worker(tmp_path, "2")
    assert [r["world_size"] for r in ranks] == [2, 2]
    # Different seeds per rank, yet the same start: DDP broadcast rank 0's weights.
    assert ranks[0]["before"] == ranks[1]["before"]
    # Different data per rank (different losses), yet the same weights after: the
    # gradients were averaged, for G and for D.
    assert ranks[0]["losses"] != ranks[1]["losses"]
    assert ranks[0]["after"] == ranks[1]["after"]
    assert ranks[0]["after"] != ranks[0]["before"]
    mean = (ranks[0]["losses"][-1] + ranks[1]["losses"][-1]) / 2
    assert ranks[0]["mean_loss"] == pytest.approx(mean, rel=1e-5)


@pytest.mark.slow
def test_ddp_nan_on_one_rank_is_skipped_by_all(tmp_path: Path) -> None:
    """Rank 1's second batch is NaN: both ranks skip step 2 (guard decision all-reduced),
    then keep training in lockstep with identical weights, and nobody hangs."""
    ranks = _run_worker(tmp_path, "3", "1")
    assert ranks[0]["skipped"] == ranks[1]["skipped"] == [False, True, False]
    assert ranks[0]["after"] == ranks[1]["after"]
    assert ranks[0]["after"] != ranks[0]["before"]


@pytest.mark.slow
def test_torchrun_vitscfg_train_two_cpu_ranks(tmp_path: Path) -> None:
    """The documented multi-process command, end to end: 2 gloo ranks, 2 steps, one pair
    written by rank 0 that resumes as step 2 with the 2-rank sampler state."""
    config = REPO / "examples" / "tiny" / "config.json"
    run_dir = tmp_path / "run"
    cmd = _torchrun(
        "-m", "vitscfg", "train", str(config), "--max-steps", "2", "--run-dir", str(run_dir)
    )
    proc = subprocess.run(
        cmd, cwd=REPO, env=_child_env(), capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    from vitscfg.train import checkpoint as ckpt

    point, messages = ckpt.find_resumable(run_dir)
    assert messages == []
    assert point is not None and point.step == 2
    assert point.state is not None
    assert not any(k.startswith("module.") for k in point.g["model"])


@pytest.mark.slow
def test_sigterm_on_one_rank_stops_both_at_the_same_step(tmp_path: Path) -> None:
    """A signal that reaches one rank only (a scheduler killing one task, Ctrl-C racing the
    step) stops every rank after the same step: a checkpoint at that step, nobody hangs."""
    import time

    psutil = pytest.importorskip("psutil")
    config = REPO / "examples" / "tiny" / "config.json"
    run_dir = tmp_path / "run"
    cmd = _torchrun(
        "-m", "vitscfg", "train", str(config), "--max-steps", "10000", "--run-dir", str(run_dir)
    )
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=_child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 240
        while not (run_dir / "G_0.pth").exists():  # step 0's pair: both ranks are training
            assert proc.poll() is None and time.monotonic() < deadline, "no step-0 checkpoint"
            time.sleep(0.5)
        time.sleep(3)
        ranks = [
            p
            for p in psutil.Process(proc.pid).children(recursive=True)
            if "vitscfg" in " ".join(p.cmdline()) and p.environ().get("RANK") == "1"
        ]
        assert len(ranks) == 1
        ranks[0].terminate()  # SIGTERM to rank 1 only
        out, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            for child in psutil.Process(proc.pid).children(recursive=True):
                child.kill()
            proc.kill()
    stops = [line for line in out.splitlines() if "stopped at step" in line]
    assert len(stops) == 2, out[-3000:]
    steps = {line.split("stopped at step")[1].split(";")[0].strip() for line in stops}
    assert len(steps) == 1, stops  # the same step on both ranks
    from vitscfg.train import checkpoint as ckpt

    point, messages = ckpt.find_resumable(run_dir)
    assert messages == [] and point is not None
    assert str(point.step) == steps.pop() and point.step > 0


def test_cpu_ranks_match_numba_threads_to_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    numba = pytest.importorskip("numba")
    monkeypatch.delenv("NUMBA_NUM_THREADS", raising=False)
    before_numba, before_torch = numba.get_num_threads(), torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        distributed._share_cores()
        assert numba.get_num_threads() == 1
        monkeypatch.setenv("NUMBA_NUM_THREADS", "2")  # the user's choice wins
        numba.set_num_threads(before_numba)
        distributed._share_cores()
        assert numba.get_num_threads() == before_numba
    finally:
        numba.set_num_threads(before_numba)
        torch.set_num_threads(before_torch)
