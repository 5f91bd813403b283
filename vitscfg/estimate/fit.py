"""Fill a batch_size x segment_size grid from a few measured or traced points.

Why a model and not a trace per cell: a trace of ljs_base costs ~2-4 s on two cores
and a GPU probe a few seconds plus a process start, while a grid has 10-20 cells. Peak
memory is affine in the batch size at fixed lengths (traced ljs_base steps: residuals
<= 0.15 % over B = 1..64) and the per-item slope is affine in segment_size (the decoder and the
discriminators work on the segment only), so

    peak(B, S) = c0 + B * (a * S + b)

with c0 the model state (weights, gradients, AdamW moments) plus fixed buffers. Three
points fit it exactly; more are checked (:attr:`BilinearFit.max_rel_residual`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    batch_size: int
    segment_size: int
    peak_bytes: int


@dataclass(frozen=True)
class BilinearFit:
    c0: float  # bytes independent of the batch
    a: float  # bytes per waveform sample of segment per item
    b: float  # bytes per item independent of the segment (lengths, text)
    max_rel_residual: float  # over the fitted samples

    def predict(self, batch_size: int, segment_size: int) -> int:
        return int(round(self.c0 + batch_size * (self.a * segment_size + self.b)))

    def slope(self, segment_size: int) -> float:
        return self.a * segment_size + self.b

    def max_batch(self, segment_size: int, budget_bytes: float) -> int:
        """Largest batch whose predicted peak is at most ``budget_bytes`` (0 if none)."""
        slope = self.slope(segment_size)
        if slope <= 0:
            return 0
        return max(0, math.floor((budget_bytes - self.c0) / slope))


def _solve3(m: list[list[float]], v: list[float]) -> list[float]:
    """3x3 linear solve (Gaussian elimination with partial pivoting); no numpy needed."""
    a = [row[:] + [rhs] for row, rhs in zip(m, v, strict=True)]
    for col in range(3):
        pivot = max(range(col, 3), key=lambda r: abs(a[r][col]))
        if abs(a[pivot][col]) < 1e-12:
            raise ValueError("singular system")
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(3):
            if r != col:
                f = a[r][col] / a[col][col]
                a[r] = [x - f * y for x, y in zip(a[r], a[col], strict=True)]
    return [a[i][3] / a[i][i] for i in range(3)]


def fit_bilinear(samples: Sequence[Sample]) -> BilinearFit:
    """Least squares for (c0, a, b) in peak = c0 + a*B*S + b*B.

    With a single segment size the a/b split is undetermined: the slope goes to ``b`` (a=0),
    which is exact for that segment and flat for others. Needs two distinct batch sizes.
    """
    if len({s.batch_size for s in samples}) < 2:
        raise ValueError("need at least two batch sizes to fit the per-item slope")
    one_segment = len({s.segment_size for s in samples}) < 2
    rows = [
        (1.0, 0.0 if one_segment else float(s.batch_size * s.segment_size), float(s.batch_size))
        for s in samples
    ]
    ys = [float(s.peak_bytes) for s in samples]
    if one_segment:
        # 2-parameter least squares (c0, b).
        n = len(rows)
        sx = sum(r[2] for r in rows)
        sxx = sum(r[2] ** 2 for r in rows)
        sy = sum(ys)
        sxy = sum(r[2] * y for r, y in zip(rows, ys, strict=True))
        b = (n * sxy - sx * sy) / (n * sxx - sx**2)
        c0, a = (sy - b * sx) / n, 0.0
    else:
        ata = [[sum(r[i] * r[j] for r in rows) for j in range(3)] for i in range(3)]
        aty = [sum(r[i] * y for r, y in zip(rows, ys, strict=True)) for i in range(3)]
        c0, a, b = _solve3(ata, aty)
    fit = BilinearFit(c0, a, b, 0.0)
    worst = max(
        abs(fit.predict(s.batch_size, s.segment_size) - s.peak_bytes) / max(1, s.peak_bytes)
        for s in samples
    )
    return BilinearFit(c0, a, b, worst)
