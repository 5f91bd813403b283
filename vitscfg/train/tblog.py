"""Console and TensorBoard output of the trainer (rank 0 only).

Named ``tblog`` rather than ``logging`` so that it never shadows the standard library.

Why it looks like this:
- Scalars are read from the device only every ``log_interval`` steps (one host sync per
  log line, not per step: a read of a CUDA tensor waits for the GPU to finish).
- Plots need matplotlib, which is optional: without it, or when a plot fails (the
  reference died on Matplotlib 3.10's removed ``tostring_rgb``), images are skipped with
  one warning and training goes on. Nothing in this module may raise into the loop
  except a programming error in the caller's arguments.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sized
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from rich.console import Console

from vitscfg.config.schema.train import VitscfgTrain
from vitscfg.train.evaluate import EvalResult
from vitscfg.train.run_state import RunState

if TYPE_CHECKING:
    from rich.table import Table


def memory_text(device: torch.device) -> tuple[str, float]:
    """("max CUDA allocated 1.2 GiB" or "RSS 800 MiB", the value in MiB) for the log."""
    if device.type == "cuda":
        mib = torch.cuda.max_memory_allocated(device) / 2**20
        return f"CUDA max alloc {mib / 1024:.2f} GiB", mib
    try:
        import psutil
    except ImportError:
        return "RSS n/a (pip install psutil)", float("nan")
    mib = psutil.Process(os.getpid()).memory_info().rss / 2**20
    return f"RSS {mib:.0f} MiB", mib


#: Anchor colours of a perceptually ordered dark-blue -> green -> yellow map (viridis's
#: endpoints and quartiles), interpolated to 256 entries for the matplotlib-free images.
_ANCHORS = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))


def plain_image(array: torch.Tensor, *, origin: str = "lower") -> Any:
    """A (H, W) tensor as an RGB image (numpy HWC uint8) without matplotlib: min-max
    normalised, coloured through :data:`_ANCHORS`; no axes, no colour bar."""
    import numpy as np

    a = array.detach().float().cpu().numpy()
    lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
    norm = np.nan_to_num((a - lo) / (hi - lo) if hi > lo else np.zeros_like(a))
    x = np.linspace(0.0, 1.0, len(_ANCHORS))
    lut = np.stack(
        [np.interp(np.linspace(0.0, 1.0, 256), x, [c[k] for c in _ANCHORS]) for k in range(3)],
        axis=-1,
    ).astype(np.uint8)
    rgb = lut[(norm * 255).round().astype(np.int64)]
    return (rgb[::-1] if origin == "lower" else rgb).copy()


class Plotter:
    """Renders mel spectrograms and alignments to HWC uint8 arrays, or None.

    With matplotlib: axes and a colour bar. Without it (it is not a dependency): plain
    coloured images (:func:`plain_image`), said once. A plot that fails is reported once
    and the later calls return None at no cost: a plot must never stop training."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.disabled = False
        self.plain = False

    def _warn(self, why: str) -> None:
        if not self.disabled:
            self.console.print(f"[yellow]warning:[/] TensorBoard images disabled: {why}")
        self.disabled = True

    def image(self, array: torch.Tensor, *, origin: str = "lower") -> Any:
        """A (H, W) tensor as an RGB image (numpy HWC uint8), None when plotting is off."""
        if self.disabled:
            return None
        if not self.plain:
            try:
                import matplotlib

                matplotlib.use("Agg")
                import matplotlib.pyplot as plt
                import numpy as np
            except ImportError:
                self.plain = True
                self.console.print(
                    "TensorBoard images without axes or colour bars: matplotlib is not "
                    "installed (pip install 'vitscfg[plot]' for those)",
                    markup=False,  # else rich takes "[plot]" for a style tag and drops it
                )
        try:
            if self.plain:
                return plain_image(array, origin=origin)
            fig, ax = plt.subplots(figsize=(10, 2.5))
            im = ax.imshow(array.detach().float().cpu().numpy(), aspect="auto", origin=origin)
            fig.colorbar(im, ax=ax)
            fig.tight_layout()
            fig.canvas.draw()
            # buffer_rgba exists in every supported Matplotlib (tostring_rgb does not)
            rgba = np.asarray(fig.canvas.buffer_rgba())
            plt.close(fig)
            return rgba[..., :3].copy()
        except Exception as err:  # noqa: BLE001 - a plot must never stop training
            self._warn(f"{type(err).__name__}: {err}")
            return None


#: Share of the wall time spent waiting for the DataLoader above which the log says so once
#: (an H100 run of ljs_base at batch 160 with 4 workers waited 30 %: 354 of 1180 ms/step).
DATA_BOUND = 0.15


class TrainLog:
    """Two SummaryWriters (``<run_dir>`` for training, ``<run_dir>/eval`` for validation,
    the reference layout) plus the console. Created on the main rank only."""

    def __init__(
        self, run_dir: Path, console: Console, sampling_rate: int, num_workers: int = 0
    ) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.console = console
        self.sampling_rate = sampling_rate
        # Any: tensorboard's writer is untyped.
        self.writer: Any = SummaryWriter(str(run_dir))  # type: ignore[no-untyped-call]
        self.eval_writer: Any = SummaryWriter(str(run_dir / "eval"))  # type: ignore[no-untyped-call]
        self.plotter = Plotter(console)
        self._last_time = time.perf_counter()
        self._last_step = 0
        self.data_wait_s = 0.0  # accumulated by the loop between two log lines
        self.num_workers = num_workers  # the loader's, for the data-bound hint
        self._warned_data = False

    def reset_clock(self, step: int) -> None:
        self._last_time = time.perf_counter()
        self._last_step = step
        self.data_wait_s = 0.0

    def train_scalars(
        self,
        step: int,
        epoch: int,
        losses: Mapping[str, float],
        lr: float,
        grad_norm_g: float,
        grad_norm_d: float,
        device: torch.device,
        skipped: int,
    ) -> float:
        """Log one line + scalars; returns steps/s since the previous call."""
        now = time.perf_counter()
        steps = max(step - self._last_step, 1)
        elapsed = max(now - self._last_time, 1e-9)
        rate = steps / elapsed
        wait_ms = 1000.0 * self.data_wait_s / steps
        mem, mem_mib = memory_text(device)
        w = self.writer
        for key, value in losses.items():
            w.add_scalar(f"loss/{key}", value, step)
        w.add_scalar("learning_rate", lr, step)
        w.add_scalar("grad_norm_g", grad_norm_g, step)
        w.add_scalar("grad_norm_d", grad_norm_d, step)
        w.add_scalar("perf/steps_per_s", rate, step)
        w.add_scalar("perf/data_wait_ms", wait_ms, step)
        w.add_scalar("perf/memory_mib", mem_mib, step)
        shown = "  ".join(
            f"{k} {losses[k]:.3f}" for k in ("d/total", "g/total", "g/mel", "g/kl", "g/dur")
        )
        extra = f"  [red]{skipped} skipped[/]" if skipped else ""
        self.console.print(
            f"step {step:>6} epoch {epoch:>4}  {shown}  lr {lr:.3g}  "
            f"|g| {grad_norm_g:.3g} |d| {grad_norm_d:.3g}  {rate:.2f} steps/s  "
            f"data {wait_ms:.0f} ms/step  {mem}{extra}"
        )
        share = self.data_wait_s / elapsed
        if share > DATA_BOUND and not self._warned_data:
            self._warned_data = True
            cores = os.cpu_count() or 1
            self.console.print(
                f"[yellow]data loading took {share:.0%} of the time since the last log line: "
                f"the GPU waits for batches; raise train.num_workers (now {self.num_workers}, "
                f"this machine has {cores} cores)[/]"
            )
        self.reset_clock(step)
        return rate

    def eval_results(self, step: int, result: EvalResult, first: bool) -> None:
        """Validation metrics, audio (AUDIO tab) and images; ground truth at the first eval."""
        w = self.eval_writer
        for key, value in result.metrics.items():
            w.add_scalar(f"val/{key}", value, step)
        for sample in result.samples:
            tag = f"{sample.index}"
            w.add_audio(f"gen/audio_{tag}", sample.audio, step, self.sampling_rate)
            image = self.plotter.image(sample.mel)
            if image is not None:
                w.add_image(f"gen/mel_{tag}", image, step, dataformats="HWC")
            image = self.plotter.image(sample.alignment)
            if image is not None:
                w.add_image(f"gen/attn_{tag}", image, step, dataformats="HWC")
            if first:
                w.add_audio(f"gt/audio_{tag}", sample.gt_audio, step, self.sampling_rate)
                image = self.plotter.image(sample.gt_mel)
                if image is not None:
                    w.add_image(f"gt/mel_{tag}", image, step, dataformats="HWC")
        shown = "  ".join(f"{k} {v:.4f}" for k, v in result.metrics.items())
        self.console.print(
            f"[bold]eval[/] step {step}: {shown}  ({result.utterances} utterances, "
            f"{result.seconds:.1f} s)"
        )
        w.flush()

    def close(self) -> None:
        self.writer.close()
        self.eval_writer.close()


def _count(module: torch.nn.Module) -> str:
    return f"{sum(p.numel() for p in module.parameters()) / 1e6:.2f} M"


def startup_table(
    t: VitscfgTrain,
    *,
    title: str,
    run_dir: Path,
    device: torch.device,
    world_size: int,
    precision: str,
    sets: tuple[Sized, str, Sized],
    steps: tuple[int, int, bool],
    run: RunState,
    nets: tuple[torch.nn.Module, torch.nn.Module],
) -> Table:
    """What the run is about to do, in one table (printed once, on the main rank).

    ``sets``: the training set, where it comes from, the validation set; ``steps``: steps
    per epoch, total steps, whether ``--max-steps`` set the total."""
    from rich.table import Table

    table = Table(title=f"vitscfg train {title}", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    name = str(device)
    if device.type == "cuda":
        name += f" ({torch.cuda.get_device_name(device)})"
    per_epoch, total, capped = steps
    rows = [
        ("run dir", str(run_dir)),
        ("device", f"{name}, torch {torch.__version__}, {world_size} process(es)"),
        ("precision", precision),
        ("training set", f"{len(sets[0])} utterances ({sets[1]})"),
        ("validation set", f"{len(sets[2])} utterances"),
        (
            "batch",
            f"{t.batch_size} x {t.grad_accum_steps} accumulation x {world_size} "
            f"process(es), segment {t.segment_size} samples",
        ),
        ("steps per epoch", str(per_epoch)),
        ("epochs", str(t.epochs)),
        ("total steps", f"{total}" + (" (--max-steps)" if capped else "")),
        ("start", f"step {run.step}, epoch {run.epoch}"),
        ("parameters", f"G {_count(nets[0])}, D {_count(nets[1])}"),
        ("memory", memory_text(device)[0]),
        ("log / eval", f"every {t.log_interval} / {t.eval_interval} steps"),
    ]
    for key, value in rows:
        table.add_row(key, value)
    return table


class StepProgress:
    """A rich progress bar (epoch, step, steps/s, ETA, last losses); off when the console
    is not a terminal (CI logs get the log lines only)."""

    def __init__(self, console: Console, total: int, start: int, enabled: bool) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]train[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[losses]}"),
            console=console,
            disable=not (enabled and console.is_terminal),
            transient=True,
        )
        self.task = self.progress.add_task(
            "train", total=total, completed=start, rate="", losses=""
        )

    def __enter__(self) -> StepProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def update(self, step: int, rate: float | None, losses: Mapping[str, float] | None) -> None:
        fields: dict[str, Any] = {}
        if rate is not None:
            fields["rate"] = f"{rate:.2f} steps/s"
        if losses is not None:
            fields["losses"] = (
                f"mel {losses.get('g/mel', 0.0):.2f} kl {losses.get('g/kl', 0.0):.2f}"
            )
        self.progress.update(self.task, completed=step, **fields)
