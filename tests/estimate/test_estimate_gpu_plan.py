"""The `--gpu` plan (vitscfg/estimate/gpu.py) against a simulated card, and the probe
worker's failure path; the real probes run on a GPU (scripts/validate_estimator.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vitscfg.estimate.data import Lengths
from vitscfg.estimate.devices import DeviceInfo
from vitscfg.estimate.gpu import SMALL_MAX, gpu_prediction
from vitscfg.estimate.probe import ProbeResult

GiB = 1 << 30
CAPACITY = 80 * GiB


def true_peak(b: int, s: int) -> int:
    """Convex in the batch, like the H100 measurements (ljs_base fp32: an affine fit through
    batches 2-8 is 5 % low at 169): here a quadratic term of ~7 % at 150."""
    return int(2.5 * GiB + b * (s * 40_000 + 90e6) + b * b * 2e5)


class FakeWorker:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int, str]] = []

    def probe(self, b: int, s: int, p: str) -> ProbeResult:
        self.calls.append((b, s, p))
        peak = true_peak(b, s)
        if peak > CAPACITY:
            return ProbeResult(b, s, p, False, oom=True, error="CUDA out of memory")
        return ProbeResult(b, s, p, True, peak_reserved=peak - GiB, non_torch_bytes=GiB)


def plan(worker: FakeWorker, margin: float = 0.07):  # type: ignore[no-untyped-def]
    device = DeviceInfo("sim", CAPACITY, CAPACITY, "cuda", index=0)
    return gpu_prediction(
        {},
        device,
        ["fp32"],
        [4, 8, 16, 32, 64],
        [4096, 8192, 16384],
        Lengths(381, 1000, "fixed"),
        margin,
        8192,
        worker=worker,
    )


def test_recommendation_is_confirmed_within_budget() -> None:
    worker = FakeWorker()
    gp = plan(worker)
    rec = gp.recommended
    assert rec is not None and rec.segment_size == 8192
    budget = CAPACITY * 0.93
    assert true_peak(rec.batch_size, 8192) <= budget
    # Within a few batches of the true largest fitting one.
    best = max(b for b in range(1, 400) if true_peak(b, 8192) <= budget)
    assert best - 0.05 * best <= rec.batch_size <= best
    assert "confirmed by a real step" in rec.reason
    # Small stage first, then the large stage, then (at most) the confirmation.
    assert worker.calls[:4] == [
        (2, 8192, "fp32"),
        (4, 8192, "fp32"),
        (8, 8192, "fp32"),
        (4, 16384, "fp32"),
    ]


def test_large_cells_use_the_large_stage() -> None:
    gp = plan(FakeWorker())
    assert "fp32" in gp.large
    for b in (16, 32, 64, 120):
        for s in (4096, 8192, 16384):
            err = (gp.predict(b, s, "fp32") - true_peak(b, s)) / true_peak(b, s)
            assert abs(err) < 0.03, (b, s, err)
    # The small fit alone extrapolates low at large batches (why the large stage exists).
    small = gp.small["fp32"].predict(120, 8192)
    assert small < true_peak(120, 8192) * 0.97
    assert gp.fit(SMALL_MAX, "fp32") is gp.small["fp32"]


def test_oom_probes_are_recorded_not_fatal() -> None:
    class Tight(FakeWorker):
        def probe(self, b: int, s: int, p: str) -> ProbeResult:
            if b > 100:
                self.calls.append((b, s, p))
                return ProbeResult(b, s, p, False, oom=True, error="CUDA out of memory")
            return super().probe(b, s, p)

    worker = Tight()
    gp = plan(worker)
    assert any("out of memory" in n for n in gp.notes)
    rec = gp.recommended
    assert rec is not None and rec.batch_size <= 100
    # Nothing at or above a batch that ran out; after an OOM, halfway down (bisection).
    assert not [c for c in worker.calls if c[1] == 8192 and c[0] > 128]
    assert rec.batch_size >= 90 and "confirmed by a real step" in rec.reason


def test_probe_worker_reports_a_dead_child(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA (the child must fail to start CUDA)")
    from vitscfg.estimate.probe import run_probes
    from vitscfg.estimate.trace import StepConfig

    config = json.loads(Path("examples/tiny/config.json").read_text(encoding="utf-8"))
    results = run_probes(
        StepConfig.of(config), 0, [(2, 4096), (4, 4096)], "fp32", 50, 100, timeout=120
    )
    assert [r.ok for r in results] == [False, False]
    assert all("probe process died" in r.error for r in results)


def test_pending_prediction_equals_the_synchronous_one() -> None:
    """What the trainer's memory check starts in the background (the CLI hands it
    start_reserved_prediction) is the estimator's traced CUDA prediction of that step."""
    pytest.importorskip("torch")
    from vitscfg.config.typed import trainer_settings
    from vitscfg.estimate import devices
    from vitscfg.estimate.predict import start_reserved_prediction, trace_points
    from vitscfg.estimate.trace import StepConfig, StepPoint

    config = json.loads(Path("examples/tiny/config.json").read_text(encoding="utf-8"))
    train = trainer_settings(config)
    pending = start_reserved_prediction(config, train, "fp32", 2, 4096, 51, 120)
    ((tensors, backend),) = trace_points(
        StepConfig(config, train), [("fp32", StepPoint(2, 4096, 51, 120))], "cuda"
    )
    want = int(tensors * devices.CUDA_RESERVED_PER_TENSOR_BYTE)
    assert pending.get(timeout=300) == want > 0 and backend == "meta"


def test_memory_check_line_is_inactive_off_cuda() -> None:
    torch = pytest.importorskip("torch")
    from vitscfg.config.typed import trainer_settings
    from vitscfg.train.memcheck import MemoryCheck

    train = trainer_settings(json.loads(Path("examples/tiny/config.json").read_text("utf-8")))

    def never(*args: object) -> Any:
        raise AssertionError("no prediction off CUDA")

    check = MemoryCheck({}, train, "fp32", torch.device("cpu"), never)
    assert check.after_step(100, None) is None  # type: ignore[arg-type]
    check.measured, check.heaviest = 10 << 30, (16, 381, 1000)
    line = check.line(int(9.5 * (1 << 30)))
    assert "10.00 GiB" in line and "9.50 GiB" in line and "(-5.0%)" in line
    assert "16 x 381 text ids x 1000 frames" in line


def test_over_budget_confirmation_lowers_to_what_it_measured() -> None:
    """A jump the anchors cannot see (here +2 GiB above batch 150, like an allocator
    segment): the confirming probe measures it and the next try lands next to the true
    limit instead of 10 % below."""

    class Bumpy(FakeWorker):
        def probe(self, b: int, s: int, p: str) -> ProbeResult:
            r = super().probe(b, s, p)
            if r.ok and b > 150:
                return ProbeResult(
                    b, s, p, True, peak_reserved=r.peak_reserved + 2 * GiB, non_torch_bytes=GiB
                )
            return r

    def bumpy_peak(b: int) -> int:
        return true_peak(b, 8192) + (2 * GiB if b > 150 else 0)

    worker = Bumpy()
    gp = plan(worker)
    rec = gp.recommended
    assert rec is not None and "confirmed by a real step" in rec.reason
    budget = CAPACITY * 0.93
    best = max(b for b in range(1, 400) if bumpy_peak(b) <= budget)
    assert bumpy_peak(rec.batch_size) <= budget
    assert rec.batch_size >= best - 3, (rec.batch_size, best, gp.notes)
    assert any("measured above the budget" in n for n in gp.notes)  # the path under test


def test_estimate_command_gpu_branch(monkeypatch: pytest.MonkeyPatch) -> None:
    """`vitscfg estimate --gpu 0` end to end with a simulated card and probe worker: the
    JSON contract, the per-probe progress lines, the measured speed."""
    import io

    from vitscfg.estimate import devices, gpu
    from vitscfg.estimate.run import EstimateOptions, run_estimate

    class Worker(FakeWorker):
        def __init__(self, config: object, index: int, text_len: int, frames: int) -> None:
            super().__init__()
            assert (index, text_len) == (0, 121)

        def probe(self, b: int, s: int, p: str) -> ProbeResult:
            r = super().probe(b, s, p)
            return ProbeResult(**{**r.__dict__, "step_seconds": 0.5, "seconds": 2.0})

        def close(self) -> None:
            pass

    card = DeviceInfo("Simulated 80GB", CAPACITY, CAPACITY, "cuda", index=0)
    monkeypatch.setattr(devices, "cuda_device", lambda index: card)
    monkeypatch.setattr(gpu, "ProbeWorker", Worker)
    out, err = io.StringIO(), io.StringIO()
    opts = EstimateOptions(
        "examples/tiny/config.json", gpu=0, output_format="json", max_text_len=121
    )
    assert run_estimate(opts, out, err) == 0, err.getvalue()
    data = json.loads(out.getvalue())
    assert data["device"]["source"] == "cuda" and data["method"] == "gpu-probe"
    rec = data["recommended"]
    assert rec["peak_bytes"] <= CAPACITY * 0.93 and "confirmed by a real step" in rec["reason"]
    assert {p["precision"] for p in data["points"]} == {"fp32"}
    assert "probe batch 2 segment 4096 fp32:" in err.getvalue()
    text = io.StringIO()
    assert (
        run_estimate(
            EstimateOptions("examples/tiny/config.json", gpu=0, max_text_len=121),
            text,
            io.StringIO(),
        )
        == 0
    )
    assert "Speed (measured" in text.getvalue() and "2.00 steps/s" in text.getvalue()
