"""What every way of predicting a step's memory offers the `estimate` command.

Two implementations: the trace of the trainer's step without a GPU
(`vitscfg.estimate.predict.TracedPrediction`, on meta or fake tensors) and real steps on
the GPU (`vitscfg.estimate.gpu.GpuPrediction`). The command only asks these questions, so
it does not know which one answered (run.py).
"""

from __future__ import annotations

from typing import Protocol

from vitscfg.estimate.grid import Recommendation


class Prediction(Protocol):
    #: What really ran: "meta", "fake" (or "fake+meta"), "gpu-probe"; the JSON's ``method``.
    method: str
    #: Caveats for the report (failed probes, fits that are not affine, allowances used).
    notes: list[str]

    def predict(self, batch_size: int, segment_size: int, precision: str) -> int:
        """Device bytes a step at this point needs (the card or the host's RAM)."""
        ...

    def max_batch(self, segment_size: int, precision: str) -> int:
        """The largest batch within the budget (capacity minus margin) at this point."""
        ...

    def measured(self, batch_size: int, segment_size: int, precision: str) -> str | None:
        """How a grid cell is known: "traced" or "probed" where it ran, else None."""
        ...

    def traced_bytes(self, batch_size: int, segment_size: int, precision: str) -> int | None:
        """The traced tensor peak at this point, before the device allowances (CUDA
        context, allocator factor, host process); None where nothing was traced (probes)."""
        ...

    def recommend(self) -> Recommendation | None:
        """The batch and segment size to train with; None when nothing fits."""
        ...

    @property
    def step_seconds(self) -> float | None:
        """Seconds per step measured at the recommendation (None: not measured)."""
        ...
