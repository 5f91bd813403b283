"""Benchmark: vitscfg's build-free MAS against the Cython kernel of ``monotonic-alignment-search``.

Why: replacing the reference's Cython extension is only acceptable if it is not slower, so this
script times both on identical inputs, asserts identical paths, and prints the ratio
(ours / theirs; < 1 means ours is faster).

Run:  python bench/mas.py [--repeats N] [--quick]

CPU: our dispatcher (numba when installed, else numpy) plus the individual implementations, vs
the package's ``maximum_path_cython`` (which takes the glow-tts layout (B, T_text, T_spec); it is
given pre-transposed contiguous copies outside the timed region so no layout work is charged to
it). CUDA (when available): our torch path on the device vs the Cython path fed the same CUDA
tensors, i.e. including its device→host→device copies, as in a training step.

``monotonic-alignment-search`` is an optional comparison target, not a dependency: when it is
missing the script says how to install it and exits 0.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vitscfg.model import mas  # noqa: E402

# (batch, text tokens, spectrogram frames): the VITS range, text ≈ 1/4–1/5 of the frames.
GRID: list[tuple[int, int, int]] = [
    (16, 50, 200),
    (16, 100, 400),
    (32, 100, 500),
    (32, 150, 800),
    (64, 200, 1000),
]
QUICK_GRID: list[tuple[int, int, int]] = [(16, 50, 200), (32, 100, 500)]

Fn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def make_inputs(
    batch: int, t_text: int, t_spec: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Ragged batch like a bucketed VITS batch: lengths in [1/2, 1] of the padded sizes."""
    gen = torch.Generator().manual_seed(seed)
    text_len = torch.randint(t_text // 2, t_text + 1, (batch,), generator=gen)
    spec_len = torch.randint(t_spec // 2, t_spec + 1, (batch,), generator=gen)
    text_len[0], spec_len[0] = t_text, t_spec  # the longest item defines the padding
    spec_len = torch.maximum(spec_len, text_len)
    frames = torch.arange(t_spec)[None, :, None]
    tokens = torch.arange(t_text)[None, None, :]
    mask = ((frames < spec_len[:, None, None]) & (tokens < text_len[:, None, None])).float()
    neg_cent = torch.randn(batch, t_spec, t_text, generator=gen) * 10.0 - 100.0
    return neg_cent * mask, mask


def time_interleaved(
    fns: dict[str, Callable[[], object]], repeats: int, sync: Callable[[], None]
) -> dict[str, tuple[float, float]]:
    """(best, median) wall time in ms per function, after one warm-up run each.

    Why interleaved: the machine may be shared, so the functions take turns within each repeat
    and background load hits all of them alike; the best-of time is the least disturbed one.
    """
    for fn in fns.values():
        fn()
    sync()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            sync()
            times[name].append((time.perf_counter() - start) * 1e3)
    return {name: (min(t), statistics.median(t)) for name, t in times.items()}


def no_sync() -> None:
    """CPU work is synchronous."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per point")
    parser.add_argument("--quick", action="store_true", help="two small grid points only")
    args = parser.parse_args()

    try:
        import monotonic_alignment_search as mas_pkg
    except ImportError:
        print(
            "bench/mas.py: the comparison target is not installed; install it with\n"
            "  pip install monotonic-alignment-search\n"
            "(Cython wheels for Linux/macOS/Windows) and run again. Nothing to compare: exiting."
        )
        return 0

    def theirs(value_t: torch.Tensor, mask_t: torch.Tensor) -> torch.Tensor:
        return mas_pkg.maximum_path_cython(value_t, mask_t)

    grid = QUICK_GRID if args.quick else GRID
    cpu_impls: dict[str, Fn] = {"ours": mas.maximum_path}
    if mas.numba_available():
        cpu_impls["numba"] = mas.maximum_path_numba
    cpu_impls["numpy"] = mas.maximum_path_numpy
    cpu_impls["torch-cpu"] = mas.maximum_path_torch

    backend = "numba" if mas.numba_available() else "numpy"
    threads = "-"
    if mas.numba_available():
        import numba

        threads = str(numba.get_num_threads())
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
        f"python {platform.python_version()}, torch {torch.__version__}; "
        f"ours on CPU = {backend} (threads {threads}); torch threads {torch.get_num_threads()}"
    )
    print("times: best-of-N ms (interleaved runs); ratio = ours / cython (< 1: ours faster)\n")

    header = f"{'B':>3} {'text':>5} {'frames':>6} | " + " | ".join(
        f"{name:>9}" for name in ["cython", *cpu_impls]
    )
    print("CPU\n" + header + " | ratio(ours)")
    for batch, t_text, t_spec in grid:
        neg_cent, mask = make_inputs(batch, t_text, t_spec)
        value_t = neg_cent.transpose(1, 2).contiguous()
        mask_t = mask.transpose(1, 2).contiguous()
        reference = theirs(value_t, mask_t).transpose(1, 2)
        for name, fn in cpu_impls.items():
            if not torch.equal(fn(neg_cent, mask), reference):
                raise AssertionError(f"{name} differs from Cython at {batch}x{t_text}x{t_spec}")
        calls: dict[str, Callable[[], object]] = {
            "cython": functools.partial(theirs, value_t, mask_t)
        }
        for name, fn in cpu_impls.items():
            calls[name] = functools.partial(fn, neg_cent, mask)
        res = time_interleaved(calls, args.repeats, no_sync)
        cells = " | ".join(f"{res[name][0]:9.1f}" for name in ["cython", *cpu_impls])
        ratio = res["ours"][0] / res["cython"][0]
        ratio_med = res["ours"][1] / res["cython"][1]
        print(
            f"{batch:>3} {t_text:>5} {t_spec:>6} | {cells} | {ratio:.2f} (median {ratio_med:.2f})"
        )

    if torch.cuda.is_available():
        print(f"\nCUDA ({torch.cuda.get_device_name()}): inputs on the GPU for both")
        print(
            f"{'B':>3} {'text':>5} {'frames':>6} | {'cython+copies':>13} | {'ours-gpu':>8} | ratio"
        )
        for batch, t_text, t_spec in grid:
            neg_cent, mask = make_inputs(batch, t_text, t_spec)
            neg_gpu, mask_gpu = neg_cent.cuda(), mask.cuda()
            value_t = neg_gpu.transpose(1, 2).contiguous()
            mask_t = mask_gpu.transpose(1, 2).contiguous()
            reference = theirs(value_t, mask_t).transpose(1, 2)
            if not torch.equal(mas.maximum_path(neg_gpu, mask_gpu), reference):
                raise AssertionError(f"CUDA path differs from Cython at {batch}x{t_text}x{t_spec}")
            res = time_interleaved(
                {
                    "cython": functools.partial(theirs, value_t, mask_t),
                    "ours": functools.partial(mas.maximum_path, neg_gpu, mask_gpu),
                },
                args.repeats,
                torch.cuda.synchronize,
            )
            t_theirs, t_ours = res["cython"][0], res["ours"][0]
            print(
                f"{batch:>3} {t_text:>5} {t_spec:>6} | {t_theirs:13.1f} | {t_ours:8.1f} | "
                f"{t_ours / t_theirs:.2f}"
            )
    else:
        print("\nCUDA: not available, GPU comparison skipped")
    print("\nall paths identical to the Cython reference")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
