"""The two other commands `vitscfg init` runs, called through their public entry points
only (``check_paths`` and ``run_estimate``), so a refactoring behind them changes
nothing here and a rename is a one-line fix."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CheckOutcome:
    errors: int
    warnings: int
    report: str  # the text reporter's output, "" when clean


def check_project(config: Path) -> CheckOutcome:
    """`vitscfg check CONFIG` with the data rules, as the trainer runs it."""
    from vitscfg.lint.report import REPORTERS
    from vitscfg.lint.run import CheckOptions, check_paths

    result = check_paths([str(config)], CheckOptions())
    text = REPORTERS["text"](result, color=False) if result.errors or result.warnings else ""
    return CheckOutcome(result.errors, result.warnings, text)


@dataclass(frozen=True)
class Sizing:
    batch_size: int | None  # None: the estimator recommended nothing
    device: str
    message: str  # what the estimator said when it gave no recommendation


def recommend_batch(
    config: Path, *, vram: str | None, gpu: int | None, segment_size: int
) -> Sizing:
    """`vitscfg estimate CONFIG --format json` with the filelists' real worst-case
    lengths; returns its recommended batch_size for ``segment_size``."""
    out, err = io.StringIO(), io.StringIO()
    try:
        from vitscfg.estimate.run import EstimateOptions, run_estimate

        code = run_estimate(
            EstimateOptions(
                str(config),
                gpu=gpu,
                vram=vram,
                segment_sizes=(segment_size,),
                output_format="json",
            ),
            out=out,
            err=err,
        )
    except Exception as exc:  # the estimator failing must not cost the user the project
        return Sizing(None, "?", f"the estimator failed ({type(exc).__name__}: {exc})")
    try:
        obj = json.loads(out.getvalue()) if out.getvalue().strip() else {}
    except ValueError:
        obj = {}
    device = str((obj.get("device") or {}).get("name", "?"))
    rec = obj.get("recommended")
    if code == 0 and isinstance(rec, dict) and isinstance(rec.get("batch_size"), int):
        return Sizing(int(rec["batch_size"]), device, "")
    message = err.getvalue().strip().splitlines()
    return Sizing(None, device, message[-1] if message else f"estimate exited {code}")
