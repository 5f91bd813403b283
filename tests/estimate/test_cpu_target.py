"""The no-GPU (``use_gpu: false``) prediction against what a real CPU step allocates.

Ground truth here is every allocation of the CPU allocator, kernels' own temporaries
included (oneDNN's reordered weights, im2col columns), which the storage tracker cannot
see: torch.profiler's memory events, recorded from *before* the step's state exists. A
profile started once the model is built sees allocations but not the frees of blocks
allocated before it (the previous step's gradients, released by ``zero_grad``, and the
weight-norm weights each forward recomputes: 0.59 GiB at ljs_base), so its running total
drifts up by that much; that is how a "real CPU step 17-24 % above the trace" was once
measured (docs/estimator-cpu.md).

Bar: the estimator's trace for a CPU target within 5 % of the real allocator peak at
ljs_base size (measured: the trace is 0.6-1.1 % below; the gap is the temporaries).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.slow]

import torch  # noqa: E402

from tests.estimate._traces import meta_step_peaks  # noqa: E402
from vitscfg.estimate.children import fork_available  # noqa: E402
from vitscfg.estimate.meta import target_options  # noqa: E402
from vitscfg.estimate.trace import StepConfig, StepPoint, trace_step_peaks  # noqa: E402

LJS = Path(__file__).resolve().parents[2] / "examples" / "ljs_base.json"
# ljs_base's model and segment, one item of 200 frames: the model state (1.5 GiB) and
# the convolutions whose temporaries matter are full size; short lengths keep it ~30 s.
POINT = StepPoint(1, 8192, 80, 200)


def allocator_peak(config: dict[str, Any], point: StepPoint) -> tuple[int, int]:
    """(peak of the CPU allocator's live bytes, the storage tracker's peak) of one real
    `train_step` in this process, the state built inside the profile."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        (peak,) = trace_step_peaks(
            StepConfig.of(config),
            "fp32",
            [point],
            contextlib.nullcontext,
            torch.device("cpu"),
            backend="real",
        )
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    events.sort(key=lambda e: e.start_ns())  # stable: same-ns events keep their order
    live = top = 0
    for e in events:
        live += e.nbytes()
        top = max(top, live)
    return top, peak.peak_bytes


@pytest.mark.skipif(not fork_available(), reason="meta traces run in a forked child")
def test_cpu_prediction_within_5_percent_of_the_real_allocator_peak() -> None:
    config = json.loads(LJS.read_text(encoding="utf-8"))
    (traced,) = meta_step_peaks(config, "fp32", [POINT], **target_options("cpu"))
    real, tracked = allocator_peak(config, POINT)
    # The tracker on real tensors is the trace's own bookkeeping: the same bytes.
    assert tracked == traced.peak_bytes
    # Kernels allocate temporaries beyond their outputs, so the allocator peaks higher...
    assert real > tracked
    # ...but by little: the no-GPU prediction holds within the bar.
    assert abs(traced.peak_bytes - real) / real <= 0.05, (traced.peak_bytes, real)
