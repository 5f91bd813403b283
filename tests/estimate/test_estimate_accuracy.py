"""The traced predictions (meta and fake) against the real CPU peak of the same `train_step`.

Ground truth: the same StorageTracker on real CPU tensors (torch keeps no CPU allocator
statistics). It counts op outputs, not kernels' own temporaries; test_cpu_target.py
compares the trace with every allocation of a real ljs_base step (1.1 % apart).
Bar: within 2 % at three grid points of examples/tiny (in practice: identical bytes). The
meta trace (the fast path) must also give exactly the fake trace's bytes (the old path) in
fp32, and exactly the real CPU autocast step's bytes in fp16/bf16.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.slow]

from tests.estimate._traces import in_child, meta_step_peaks, step_peaks  # noqa: E402
from vitscfg.estimate.children import fork_available, trace_pool  # noqa: E402
from vitscfg.estimate.fit import Sample, fit_bilinear  # noqa: E402
from vitscfg.estimate.trace import StepPoint  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "examples" / "tiny" / "config.json"
LJS = ROOT / "examples" / "ljs_base.json"
# Short lengths keep the real CPU steps fast; the model is the tiny example's.
POINTS = [
    StepPoint(1, 1024, 31, 96),
    StepPoint(2, 1024, 31, 96),
    StepPoint(2, 2048, 31, 96),
]

needs_fork = pytest.mark.skipif(not fork_available(), reason="meta traces run in a forked child")


@pytest.fixture(scope="module")
def config() -> dict:
    return json.loads(TINY.read_text(encoding="utf-8"))


@needs_fork
def test_meta_equals_fake_equals_real_cpu_peak(config: dict) -> None:
    # The real and the fake run in forked children, at once, one thread each (two cores;
    # OpenMP threads of two processes spinning on two loaded cores cost minutes).
    with trace_pool(2) as pool:
        real_job = in_child(pool, config, "fp32", POINTS, fake=False)
        fake_job = in_child(pool, config, "fp32", POINTS, fake=True)
        meta = meta_step_peaks(config, "fp32", POINTS)
        real, fake = real_job.get(), fake_job.get()
    for m, f, r in zip(meta, fake, real, strict=True):
        assert r.peak_bytes > r.start_bytes > 0
        assert abs(m.peak_bytes - r.peak_bytes) / r.peak_bytes <= 0.02, (m, r)
        assert m.peak_bytes == f.peak_bytes == r.peak_bytes, (m, f, r)
        assert m.start_bytes == f.start_bytes == r.start_bytes  # same model state and batch


@needs_fork
def test_meta_with_cuda_emulation_equals_fake(config: dict) -> None:
    """512-B rounding and AdamW's foreach path (the CUDA kind) on meta as on fake."""
    point = [StepPoint(2, 1024, 31, 96)]
    meta = meta_step_peaks(config, "fp32", point, round_to=512, foreach=True)
    fake = step_peaks(config, "fp32", point, fake=True, round_to=512, foreach=True)
    assert meta[0].peak_bytes == fake[0].peak_bytes


@needs_fork
def test_meta_leaves_this_process_untouched(config: dict) -> None:
    """The Meta-kernel swap happens in the forked child only."""
    import torch
    import torch._meta_registrations as registrations

    clear_cache = torch.clear_autocast_cache
    meta_step_peaks(config, "fp32", POINTS[:1])
    meta_step_peaks(config, "bf16", POINTS[:1])
    assert "aten/mul.Tensor/Meta" in registrations._meta_lib_dont_use_me_use_register_meta._op_impls
    assert torch.autocast is torch.amp.autocast_mode.autocast
    assert torch.clear_autocast_cache is clear_cache
    # No autocast for meta tensors here: the emulation lived in the child.
    x = torch.empty(2, 3, 5, device="meta")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.nn.functional.conv1d(x, torch.empty(4, 3, 1, device="meta")).dtype == (
            torch.float32
        )


@needs_fork
@pytest.mark.parametrize(
    ("precision", "points"), [("fp16", [POINTS[0], POINTS[2]]), ("bf16", [POINTS[1]])]
)
def test_meta_autocast_equals_the_real_cpu_autocast_step(
    config: dict, precision: str, points: list[StepPoint]
) -> None:
    """fp16/bf16 on meta (meta_autocast.py) against the real CPU step under autocast: the
    same bytes, the weight cast cache and the casts' order included."""
    with trace_pool(1) as pool:
        real_job = in_child(pool, config, precision, points, fake=False)
        meta = meta_step_peaks(config, precision, points)
        real = real_job.get()
    for m, r in zip(meta, real, strict=True):
        assert r.peak_bytes > r.start_bytes > 0
        # Exact: so not the fake fall-back, which is off by FakeTensor's layer_norm stats.
        assert (m.peak_bytes, m.start_bytes) == (r.peak_bytes, r.start_bytes), (m, r)
        assert m.autocast == "cpu"


@needs_fork
def test_fake_autocast_trace_stays_within_a_tenth_of_a_percent(config: dict) -> None:
    """The fake trace (the autocast path where meta cannot be patched): FakeTensor's
    reference for native_layer_norm keeps fp16 statistics where the CPU kernel makes fp32
    ones, a few kB per layer."""
    point = [POINTS[0]]
    meta = meta_step_peaks(config, "fp16", point)[0]
    fake = step_peaks(config, "fp16", point, fake=True)[0]
    assert fake.start_bytes == meta.start_bytes
    assert 0 < meta.peak_bytes - fake.peak_bytes <= 0.001 * meta.peak_bytes


@needs_fork
def test_spawned_trace_processes_give_the_same_bytes(
    config: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a fork server (Windows) the trace processes are spawned; still the meta
    trace (the fake one would differ by FakeTensor's layer_norm statistics)."""
    import vitscfg.estimate.children as children

    point = [POINTS[0]]
    forked = meta_step_peaks(config, "fp16", point)[0]
    monkeypatch.setattr(children.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    assert not fork_available()
    spawned = meta_step_peaks(config, "fp16", point)[0]
    assert (spawned.peak_bytes, spawned.start_bytes) == (forked.peak_bytes, forked.start_bytes)


def test_meta_refuses_what_it_cannot_emulate() -> None:
    from vitscfg.estimate.meta import MetaUnsupported, meta_step_peaks_here, meta_supported
    from vitscfg.estimate.trace import StepConfig

    assert all(meta_supported(p) for p in ("fp32", "fp16", "bf16"))
    with pytest.raises(MetaUnsupported):
        meta_step_peaks_here(StepConfig.of(json.loads(TINY.read_text())), "fp8", POINTS)


@needs_fork
def test_peak_is_affine_in_batch_size(config: dict) -> None:
    points = [StepPoint(b, 1024, 31, 96) for b in (1, 2, 3, 5)]
    peaks = meta_step_peaks(config, "fp32", points)
    fit = fit_bilinear(
        [Sample(p.batch_size, 1024, x.peak_bytes) for p, x in zip(points, peaks, strict=True)]
    )
    assert fit.b > 0
    assert fit.max_rel_residual < 0.005


@needs_fork
def test_three_traces_fill_the_ljs_base_grid() -> None:
    """The estimator's 3-trace bilinear fit (B 4/64 at 8192, B 64 at 16384) against direct
    traces elsewhere in the default grid, at the worst-case lengths of ljs_base."""
    cfg = json.loads(LJS.read_text(encoding="utf-8"))
    t, f = 381, 1000
    fitted = [StepPoint(4, 8192, t, f), StepPoint(64, 8192, t, f), StepPoint(64, 16384, t, f)]
    checks = [StepPoint(16, 8192, t, f), StepPoint(8, 4096, t, f), StepPoint(32, 16384, t, f)]
    peaks = meta_step_peaks(cfg, "fp32", fitted + checks)
    fit = fit_bilinear(
        [
            Sample(p.batch_size, p.segment_size, x.peak_bytes)
            for p, x in zip(fitted, peaks[:3], strict=True)
        ]
    )
    for p, x in zip(checks, peaks[3:], strict=True):
        predicted = fit.predict(p.batch_size, p.segment_size)
        # Convex in B: the secant is on the safe side; off by at most 1 %.
        assert 0 <= predicted - x.peak_bytes <= 0.01 * x.peak_bytes, (p, predicted, x)


@needs_fork
def test_meta_trace_after_parallel_cpu_work_does_not_hang() -> None:
    """A parent that ran parallel CPU kernels (a trainer starting its memory check) used to
    deadlock the forked trace in OpenMP; the child now runs with one thread."""
    import subprocess
    import sys

    script = (
        "import json, torch\n"
        "from vitscfg.estimate.trace import StepPoint\n"
        "from tests.estimate._traces import meta_step_peaks\n"
        "x = torch.randn(1000, 1000); (x @ x).sum(); torch.exp(torch.randn(4_000_000)).sum()\n"
        f"cfg = json.loads(open({str(LJS)!r}).read())\n"
        "print(meta_step_peaks(cfg, 'fp32', [StepPoint(1, 8192, 40, 100)])[0].peak_bytes)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.strip()) > 0
