"""Every real GPU run checks the estimator: after the first steps, one line with the
measured peak beside `vitscfg estimate`'s prediction for the heaviest batch seen so far.

Why in the trainer: the estimator is validated on a few configs (docs/estimator-accuracy.md),
users run many; a line per run catches a drifting allowance (new torch, new card) where it
matters, and tells the user how much headroom the run really has. The prediction is the
no-GPU one (`vitscfg.estimate.predict`, a meta trace of the same `train_step`) for the
batch that raised the allocated peak the most, at its padded lengths; it runs in a trace
child process while training goes on, and is compared with ``max_memory_reserved`` (what
the caching allocator holds; the CUDA context is outside both). Main rank only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from vitscfg.train.step import Batch

CHECK_AFTER = 10  # optimizer steps before the prediction is started
GiB = float(1 << 30)


class MemoryCheck:
    def __init__(
        self,
        config: Mapping[str, Any],
        precision: str,
        segment_size: int,
        device: torch.device,
        enabled: bool,
    ) -> None:
        self.config, self.precision, self.segment_size = config, precision, segment_size
        self.device = device
        self.active = enabled and device.type == "cuda"
        self.heaviest: tuple[int, int, int] | None = None  # batch, text ids, spec frames
        self.allocated = -1
        self.measured = 0
        self.pending: Any = None

    def after_step(self, step: int, batch: Batch) -> str | None:
        """Call after each optimizer step; returns the line to print once, else None."""
        if not self.active:
            return None
        if self.pending is None:
            peak = int(torch.cuda.max_memory_allocated(self.device))
            if peak > self.allocated:  # this batch raised the peak: the heaviest so far
                self.allocated = peak
                self.heaviest = (batch.text.size(0), batch.text.size(1), batch.spec.size(2))
            if step < CHECK_AFTER or self.heaviest is None:
                return None
            self.measured = int(torch.cuda.max_memory_reserved(self.device))
            try:
                from vitscfg.estimate.predict import PendingPrediction

                b, t, f = self.heaviest
                self.pending = PendingPrediction(
                    self.config, b, self.segment_size, self.precision, "cuda", t, f
                )
            except Exception as exc:  # the check must never stop a training run
                self.active = False
                return f"memory check: the estimator could not start ({type(exc).__name__}: {exc})"
            return None
        if not self.pending.ready():
            return None
        self.active = False
        try:
            predicted = self.pending.get(timeout=1.0)
        except Exception as exc:
            return f"memory check: the estimator failed ({type(exc).__name__}: {exc})"
        return self.line(predicted)

    def line(self, predicted: int) -> str:
        b, t, f = self.heaviest or (0, 0, 0)
        err = (predicted - self.measured) / max(self.measured, 1)
        return (
            f"memory check: measured peak {self.measured / GiB:.2f} GiB reserved over the first "
            f"{CHECK_AFTER} steps; `vitscfg estimate` predicts {predicted / GiB:.2f} GiB "
            f"({err:+.1%}) for the heaviest batch ({b} x {t} text ids x {f} frames, "
            f"{self.precision})"
        )

    def close(self) -> None:
        if self.pending is not None:
            self.pending.close()
            self.pending = None
        self.active = False
