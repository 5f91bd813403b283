"""The one way trace processes start: :func:`trace_pool`.

Why child processes: the meta backend re-registers Meta kernels and (with autocast)
dispatch rules process-wide and irreversibly (meta.py), so every trace runs in a process
that exits after it (``maxtasksperchild=1``), the estimator's grid as the trainer's memory
check. The pool's children come from a fork server (torch already imported: no start-up
cost), or are spawned where there is none (Windows).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.pool
from typing import Any

import torch


def fork_available() -> bool:
    """Whether trace processes start from a fork server (POSIX) rather than by spawning a
    fresh interpreter (Windows: a few seconds more per trace process, for torch's import)."""
    return "forkserver" in multiprocessing.get_all_start_methods()


def trace_context() -> Any:
    """The multiprocessing context for trace processes: forkserver, not fork; spawn where
    there is no fork server (Windows).

    Why: forking a process that has already run parallel CPU kernels can deadlock the
    child inside OpenMP (libgomp is not fork-safe; seen here even with one thread in the
    child, when a test suite had trained before). The fork server is a fresh process that
    has only imported torch and the step, so its children start from a clean OpenMP state
    and still skip torch's import cost. A spawned child pays that import, and is still
    ~5x faster than the in-process fake trace for fp16/bf16, which the meta trace's
    process-wide changes would otherwise force.
    """
    if not fork_available():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(
        [
            "torch",
            "torch._dynamo",
            "vitscfg.model",
            "vitscfg.model.mel",
            "vitscfg.train.step",
            "vitscfg.train.state",
            "vitscfg.estimate.trace",
            "vitscfg.estimate.meta",
        ]
    )
    return context


def child_init() -> None:
    """First thing in every trace process: one intra-op thread.

    Why: a parent that has already run parallel CPU kernels (a trainer, a test that ran a
    real step) leaves OpenMP in a state that deadlocks the child's first parallel region
    (libgomp is not fork-safe; seen here: the ljs_base mel filterbank, 41k elements, above
    ATen's grain size). With one thread ATen never opens a parallel region. The trace does
    no real compute, and the traces run one process per core anyway.
    """
    torch.set_num_threads(1)


def trace_pool(processes: int) -> multiprocessing.pool.Pool:
    """A pool of ``processes`` trace processes, each used for one task and then replaced
    (its global changes die with it). Use it as a context manager, or ``terminate()`` it."""
    pool: multiprocessing.pool.Pool = trace_context().Pool(
        processes, initializer=child_init, maxtasksperchild=1
    )
    return pool
