"""Every real GPU run checks the estimator: after the first steps, one line with the
measured peak beside `vitscfg estimate`'s prediction for the heaviest batch seen so far.

Why in the trainer: the estimator is validated on a few configs (docs/estimator-accuracy.md),
users run many; a line per run catches a drifting allowance (new torch, new card) where it
matters, and tells the user how much headroom the run really has. The prediction is the
no-GPU one (a meta trace of the same `train_step`) for the batch that raised the allocated
peak the most, at its padded lengths; it runs in a trace process while training goes on,
and is compared with ``max_memory_reserved`` (what the caching allocator holds; the CUDA
context is outside both). Main rank only.

The predictor is handed in (:data:`StartPrediction`; the CLI passes the estimator's): the
estimator imports the trainer's step, so the trainer never imports the estimator.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import torch

from vitscfg.config.schema.train import VitsTrain
from vitscfg.train.step import Batch

CHECK_AFTER = 10  # optimizer steps before the prediction is started
GiB = float(1 << 30)


class PendingPeak(Protocol):
    """A prediction running in the background."""

    def ready(self) -> bool: ...

    def get(self, timeout: float | None = None) -> int: ...

    def close(self) -> None: ...


#: Starts the predicted ``max_memory_reserved`` of one step: (config, train section,
#: precision, batch size, segment size, text ids, spectrogram frames) -> pending bytes.
StartPrediction = Callable[[Mapping[str, Any], VitsTrain, str, int, int, int, int], PendingPeak]


class MemoryCheck:
    def __init__(
        self,
        config: Mapping[str, Any],
        train: VitsTrain,
        precision: str,
        device: torch.device,
        start: StartPrediction | None,
    ) -> None:
        """``start``: the predictor (None: no check, e.g. a rank other than the main one)."""
        self.config, self.train, self.precision = config, train, precision
        self.device = device
        self.start = start
        self.active = start is not None and device.type == "cuda"
        self.heaviest: tuple[int, int, int] | None = None  # batch, text ids, spec frames
        self.allocated = -1
        self.measured = 0
        self.pending: PendingPeak | None = None

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
            assert self.start is not None  # active
            try:
                b, t, f = self.heaviest
                segment = self.train.segment_size
                self.pending = self.start(self.config, self.train, self.precision, b, segment, t, f)
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
