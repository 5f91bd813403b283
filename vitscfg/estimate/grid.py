"""Grid cells, fits / tight / OOM, and the recommendation: pure functions, no torch.

Classification against the device capacity C (free memory) with a safety margin m:
``fits``: peak <= C * (1 - m); ``tight``: C * (1 - m) < peak <= C (it may run, until
fragmentation, a cuDNN benchmark or another process takes the rest); ``oom``: peak > C.
Why 7 % by default: a prediction or probe is of one batch shape, and a run that mixes the
loader's bucket shapes reserves more (the allocator keeps blocks cut for each): +5 % in a
real batch-160 run on an H100, +1 to +6 % by the allocator model depending on which bucket
comes first (docs/gpu-validation.md), on top of the prediction's own error (within 5 %
on ljs_base, docs/estimator-accuracy.md). Reserved bytes above the budget are not yet an
OOM: the allocator frees its cache and retries before it fails.

Recommendation: keep the config's segment_size when some batch fits with it (segment_size
changes what the decoder learns from; batch size mostly changes speed), and take the largest
batch that fits there, computed from the fit rather than limited to the grid's columns;
otherwise the largest segment in the grid that lets at least one item fit.

Extrapolation: the fit is checked only up to the largest batch that was traced or probed.
Beyond it the prediction is an extrapolation, and on the unsafe side for the traces (the
peak is convex in the batch size, so it can only bend upwards away from the secant). A
recommendation above the largest measured batch says so (``extrapolated``, in the reason
and in JSON), and the fake-tensor path caps it at ``EXTRAPOLATION_CAP`` times that batch
(the reason names the cap and how to check further: a grid with larger batches). The GPU
path does not cap: it confirms the recommendation with a real step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

Status = Literal["fits", "tight", "oom"]
DEFAULT_MARGIN = 0.07
#: The fake path recommends at most this multiple of the largest traced batch.
EXTRAPOLATION_CAP = 2


@dataclass(frozen=True)
class Cell:
    batch_size: int
    segment_size: int
    precision: str
    peak_bytes: int
    status: Status
    how: str = "fit"  # "traced" / "probed" (measured at this point) or "fit" (filled in)
    #: The traced tensor peak before the device allowances (None: not a traced prediction).
    traced_bytes: int | None = None

    @property
    def fits(self) -> bool:
        return self.status == "fits"


@dataclass(frozen=True)
class Recommendation:
    batch_size: int
    segment_size: int
    precision: str
    peak_bytes: int
    reason: str
    extrapolated: bool = False  # batch_size above the largest traced/probed batch


def classify(peak_bytes: int, capacity_bytes: int, margin: float) -> Status:
    if peak_bytes <= capacity_bytes * (1 - margin):
        return "fits"
    if peak_bytes <= capacity_bytes:
        return "tight"
    return "oom"


def default_batch_sizes(batch_size: int) -> list[int]:
    """Powers of two around the config's batch size (a quarter to four times), plus it."""
    out = {batch_size}
    for k in (-2, -1, 1, 2):
        value = batch_size * 2.0**k
        if value >= 1:
            out.add(int(value))
    return sorted(out)


def default_segment_sizes(segment_size: int, hop_length: int) -> list[int]:
    """Half, the config's, and double segment_size, kept a multiple of hop_length."""
    out = {segment_size}
    for factor in (0.5, 2.0):
        value = int(segment_size * factor) // hop_length * hop_length
        if value >= hop_length:
            out.add(value)
    return sorted(out)


def build_grid(
    batch_sizes: Sequence[int],
    segment_sizes: Sequence[int],
    precisions: Sequence[str],
    predict: Callable[[int, int, str], int],
    capacity_bytes: int,
    margin: float,
    measured: Callable[[int, int, str], str | None] = lambda b, s, p: None,
    traced: Callable[[int, int, str], int | None] = lambda b, s, p: None,
) -> list[Cell]:
    """Every (precision, segment, batch) cell, predicted, classified."""
    cells = []
    for p in precisions:
        for s in segment_sizes:
            for b in batch_sizes:
                peak = predict(b, s, p)
                how = measured(b, s, p) or "fit"
                status = classify(peak, capacity_bytes, margin)
                cells.append(Cell(b, s, p, peak, status, how, traced(b, s, p)))
    return cells


def recommend(
    max_batch: Callable[[int, str], int],
    predict: Callable[[int, int, str], int],
    config_segment: int,
    segment_sizes: Sequence[int],
    precisions: Sequence[str],
    capacity_bytes: int,
    margin: float,
    largest_measured: int | None = None,
    cap: int | None = None,
) -> Recommendation | None:
    """Largest fitting batch (see the module docstring); None when not even one item fits.

    ``max_batch(segment, precision)``: the largest batch whose peak is within the budget.
    ``largest_measured``: the largest batch traced/probed (None: unknown, nothing flagged);
    ``cap``: never recommend more than this batch (None: no cap).
    """
    budget = capacity_bytes * (1 - margin)
    gib = 1 << 30
    why_margin = f"{capacity_bytes / gib:.1f} GiB - {margin:.0%} margin = {budget / gib:.1f} GiB"

    def capped(b: int) -> int:
        return b if cap is None else min(b, cap)

    def extrapolation(b: int, fitted: int) -> tuple[bool, str]:
        if largest_measured is None or b <= largest_measured:
            return False, ""
        note = f"; extrapolated beyond the largest measured batch {largest_measured}"
        if fitted > b:
            note += (
                f", capped at {b} (the fit alone allows {fitted}; "
                f"--batch-sizes up to {fitted} traces that range)"
            )
        return True, note

    best: tuple[int, int, str] | None = None
    for p in precisions:
        b = max_batch(config_segment, p)
        if b >= 1 and (best is None or b > best[0]):
            best = (b, config_segment, p)
    if best is not None:
        fitted, s, p = best
        b = capped(fitted)
        peak = predict(b, s, p)
        nxt = predict(b + 1, s, p)
        extrapolated, note = extrapolation(b, fitted)
        reason = (
            f"batch_size {b} at the config's segment_size {s} ({p}) peaks at "
            f"{peak / gib:.2f} GiB <= {why_margin}; "
            + (
                f"{b + 1} would need {nxt / gib:.2f} GiB"
                if fitted == b
                else f"{b + 1} ({nxt / gib:.2f} GiB) would fit too"
            )
            + note
        )
        return Recommendation(b, s, p, peak, reason, extrapolated)
    for s in sorted(segment_sizes, reverse=True):
        for p in precisions:
            fitted = max_batch(s, p)
            if fitted >= 1:
                b = capped(fitted)
                peak = predict(b, s, p)
                extrapolated, note = extrapolation(b, fitted)
                reason = (
                    f"no batch fits at the config's segment_size {config_segment}; "
                    f"segment_size {s} with batch_size {b} ({p}) peaks at "
                    f"{peak / gib:.2f} GiB <= {why_margin}" + note
                )
                return Recommendation(b, s, p, peak, reason, extrapolated)
    return None


def max_batch_by_search(predict: Callable[[int], int], budget: float, limit: int = 4096) -> int:
    """Largest b in [1, limit] with predict(b) <= budget, for a predict increasing in b
    (used where no closed-form fit exists); 0 when even b=1 does not fit."""
    if predict(1) > budget:
        return 0
    lo, hi = 1, 2
    while hi <= limit and predict(hi) <= budget:
        lo, hi = hi, hi * 2
    hi = min(hi, limit + 1)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if predict(mid) <= budget:
            lo = mid
        else:
            hi = mid
    return lo


def steps_needed(utterances: int, batch_size: int) -> int:
    """Batches per epoch, ignoring the sampler's per-bucket padding (a lower bound)."""
    return math.ceil(utterances / batch_size) if utterances else 0
