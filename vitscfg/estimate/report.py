"""Rendering of an estimate: rich table (text), one JSON object (CI), a terminal bar plot,
a PNG (matplotlib, optional). No computation here.

The JSON keys ``device`` / ``points`` / ``recommended`` and their fields are a contract
(other tools parse them); new information goes into new keys, never into renamed ones.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from vitscfg.estimate.devices import DeviceInfo
from vitscfg.estimate.grid import Cell, Recommendation
from vitscfg.train.length_units import LengthUnits

GiB = 1 << 30
_STYLE = {"fits": "green", "tight": "yellow", "oom": "red"}


@dataclass
class Speed:
    steps_per_s: float
    batches_per_epoch: int  # 0: unknown (no data)
    epochs: int

    @property
    def epoch_seconds(self) -> float | None:
        return self.batches_per_epoch / self.steps_per_s if self.batches_per_epoch else None

    @property
    def total_seconds(self) -> float | None:
        e = self.epoch_seconds
        return e * self.epochs if e is not None else None


@dataclass
class Estimate:
    config_path: str
    device: DeviceInfo
    method: str  # what ran: "gpu-probe", or the trace's tensors: "meta", "fake", "fake+meta"
    cells: list[Cell]
    recommended: Recommendation | None
    margin: float
    text_len: int
    spec_frames: int
    lengths_source: str
    speed: Speed | None = None
    notes: list[str] = field(default_factory=list)
    #: "exact": the fork's own networks and training step ran; "proxy": a stand-in that
    #: lacks ``model_gaps`` (vitscfg/model/support.py).
    model_level: str = "exact"
    model_gaps: str = ""
    #: Why the grid's precision is not the config's (a fork whose trainer picks it: RVC).
    precision_reason: str = ""
    #: What the worst-case lengths count for this fork (vitscfg/train/fork_steps.py).
    units: LengthUnits = field(default_factory=LengthUnits)


def to_json(est: Estimate) -> str:
    d = est.device
    rec = est.recommended
    obj: dict[str, Any] = {
        "device": {
            "name": d.name,
            "total_bytes": d.total_bytes,
            "free_bytes": d.free_bytes,
            # Contract: "cuda" (queried from a GPU) or "assumed" (--vram, the default card, or
            # host RAM for use_gpu: false, which "kind" tells apart).
            "source": "cuda" if d.source == "cuda" else "assumed",
            "kind": d.kind,
        },
        "points": [
            {
                "batch_size": c.batch_size,
                "segment_size": c.segment_size,
                "precision": c.precision,
                "peak_bytes": c.peak_bytes,
                "fits": c.fits,
                "status": c.status,
                # The traced tensor peak before the device allowances (null: probed).
                "traced_bytes": c.traced_bytes,
            }
            for c in est.cells
        ],
        "recommended": None
        if rec is None
        else {
            "batch_size": rec.batch_size,
            "segment_size": rec.segment_size,
            "precision": rec.precision,
            "peak_bytes": rec.peak_bytes,
            "reason": rec.reason,
            "extrapolated": rec.extrapolated,
        },
        "method": est.method,
        "model": {"level": est.model_level, "gaps": est.model_gaps or None},
        "margin": est.margin,
        "worst_case": {
            "text_len": est.text_len,
            "spec_frames": est.spec_frames,
            "source": est.lengths_source,
            # What the two lengths count for this fork (text_unit null: no text).
            "text_unit": est.units.text,
            "frame_unit": est.units.frames,
        },
        # Why the points' precision is not the config's (null: it is the config's).
        "precision_reason": est.precision_reason or None,
        "speed": None
        if est.speed is None
        else {
            "steps_per_s": est.speed.steps_per_s,
            "epoch_seconds": est.speed.epoch_seconds,
            "total_seconds": est.speed.total_seconds,
        },
        "warnings": [*d.warnings, *est.notes],
    }
    return json.dumps(obj, indent=2) + "\n"


def _gib(n: float) -> str:
    return f"{n / GiB:.2f}"


def _duration(seconds: float) -> str:
    h, rem = divmod(int(seconds), 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


def to_text(est: Estimate, color: bool = False, width: int = 100) -> str:
    from rich.console import Console
    from rich.table import Table

    buf = io.StringIO()
    con = Console(file=buf, force_terminal=color, no_color=not color, width=width)
    d = est.device
    what = {"cuda": "measured", "assumed": "assumed", "ram": "host RAM"}[d.source]
    con.print(
        f"[bold]{est.config_path}[/] on {d.name} ({what}: {_gib(d.total_bytes)} GiB total, "
        f"{_gib(d.free_bytes)} GiB free)"
    )
    if est.method != "gpu-probe":
        kind = "host RAM" if d.kind == "cpu" else "a GPU"
        tensors = {"meta": "meta tensors", "fake": "fake tensors"}.get(est.method, est.method)
        con.print(
            f"[yellow]Prediction without {kind} measurement[/]: trace of the trainer's own "
            f"step on {tensors}"
            + (" (with CUDA's autocast policy)" if d.kind == "cuda" else "")
            + " plus allowances"
            + (" for the CUDA context, workspaces and allocator" if d.kind == "cuda" else "")
            + (" (run with --gpu on the training machine to measure)" if d.kind == "cuda" else "")
        )
    else:
        con.print("Measured: real training steps on the GPU (probes), filled in by a fit")
    if est.model_level == "exact":
        con.print("Model: exact (the config's own networks and training step)")
    else:
        con.print("[yellow]Model: proxy[/] (a stand-in for the fork's model; see the warning)")
    lengths = [f"{est.spec_frames} {est.units.frames}"]
    if est.units.text is not None:
        lengths.insert(0, f"{est.text_len} {est.units.text}")
    con.print(f"Worst case per item: {', '.join(lengths)} ({est.lengths_source})")
    if est.precision_reason:
        precision = "/".join(dict.fromkeys(c.precision for c in est.cells))
        con.print(f"Precision: {precision} ({est.precision_reason})")
    for w in (*d.warnings, *est.notes):
        con.print(f"[yellow]warning:[/] {w}")
    for p in dict.fromkeys(c.precision for c in est.cells):
        cells = [c for c in est.cells if c.precision == p]
        batches = sorted({c.batch_size for c in cells})
        table = Table(title=f"predicted peak (GiB), {p}, margin {est.margin:.0%}")
        table.add_column("segment \\ batch", justify="right")
        for b in batches:
            table.add_column(str(b), justify="right")
        for s in sorted({c.segment_size for c in cells}):
            row = {c.batch_size: c for c in cells if c.segment_size == s}
            table.add_row(
                str(s),
                *(
                    f"[{_STYLE[row[b].status]}]{_gib(row[b].peak_bytes)} {row[b].status}[/]"
                    for b in batches
                ),
            )
        con.print(table)
    rec = est.recommended
    if rec is None:
        con.print("[red]Nothing fits[/]: not even batch_size 1 at the smallest segment_size")
    else:
        con.print(
            f"[bold green]Recommended:[/] batch_size {rec.batch_size}, segment_size "
            f"{rec.segment_size}, {rec.precision} — {rec.reason}"
        )
    if est.speed is not None:
        sp = est.speed
        line = f"Speed (measured at the recommendation, worst-case lengths): {sp.steps_per_s:.2f} steps/s"
        if sp.epoch_seconds is not None and sp.total_seconds is not None:
            line += (
                f", {_duration(sp.epoch_seconds)} per epoch ({sp.batches_per_epoch} batches), "
                f"{_duration(sp.total_seconds)} for {sp.epochs} epochs (an upper bound: real "
                "batches are shorter)"
            )
        con.print(line)
    elif est.method != "gpu-probe":
        con.print("Speed: not predicted without a GPU (run with --gpu)")
    return buf.getvalue()


def bar_plot(cells: Sequence[Cell], capacity: int, margin: float, width: int = 40) -> str:
    """Terminal plot: one bar per cell, '|' at the budget (capacity minus margin)."""
    top = max([capacity, *(c.peak_bytes for c in cells)])
    budget_col = int(width * capacity * (1 - margin) / top)
    lines = []
    for c in cells:
        n = max(1, int(width * c.peak_bytes / top))
        bar = "".join("|" if i == budget_col else ("#" if i < n else " ") for i in range(width + 1))
        lines.append(
            f"{c.precision} s={c.segment_size:>6} b={c.batch_size:>4} {bar} {_gib(c.peak_bytes)} GiB"
        )
    return "\n".join(lines) + "\n"


def write_png(path: str, cells: Sequence[Cell], capacity: int, margin: float) -> str | None:
    """PNG of peak vs batch size per segment; returns an error message when it cannot."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return (
            "--plot PNG needs matplotlib (pip install 'vitscfg[plot]'); use --plot - for a "
            "terminal plot"
        )
    fig, ax = plt.subplots(figsize=(7, 4))
    for p in dict.fromkeys(c.precision for c in cells):
        for s in sorted({c.segment_size for c in cells if c.precision == p}):
            pts = sorted(
                (c.batch_size, c.peak_bytes / GiB)
                for c in cells
                if c.precision == p and c.segment_size == s
            )
            ax.plot([x for x, _ in pts], [y for _, y in pts], marker="o", label=f"{p} seg {s}")
    ax.axhline(capacity / GiB, color="red", label="capacity")
    ax.axhline(capacity * (1 - margin) / GiB, color="orange", linestyle="--", label="budget")
    ax.set_xlabel("batch_size")
    ax.set_ylabel("predicted peak (GiB)")
    ax.legend()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    from vitscfg.atomic import atomic_write_bytes

    try:
        atomic_write_bytes(path, buffer.getvalue())
    except OSError as exc:
        return f"--plot {path}: cannot write ({exc.strerror or exc})"
    return None
