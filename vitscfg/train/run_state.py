"""Where a training run stands: the counters the loop advances, a checkpoint records and a
resume restores.

Why a dataclass of its own: the trainer owns these values, and the helpers around it
(resume.py, tblog.py) read or produce them as one value instead of reaching into the
trainer's attributes; every field has its value from the start, before any set-up ran.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RunState:
    """The run's position and bookkeeping (a fresh run: step 0 of epoch 1)."""

    step: int = 0  # optimiser steps, resume included
    epoch: int = 1
    best_val_mel: float | None = None  # best validation mel L1 so far (best.json)
    last_saved: int = -1  # step of the newest checkpoint written or resumed
    resume_batches: int = 0  # batches of the resumed epoch done before the checkpoint
    batches_done: int = 0  # batches consumed in the current epoch (sampler position)
    skipped_total: int = 0  # non-finite steps skipped in this process
    new_best: bool = False  # the last evaluation beat best_val_mel: mark its checkpoint
