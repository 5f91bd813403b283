"""`vitscfg estimate`: options in, exit code out (printing included, no sys.exit).

A coordinator: open the checked config (`vitscfg.opening`), choose the device
(devices.py), find the worst-case lengths (data.py), ask a
:class:`~vitscfg.estimate.prediction.Prediction` (predict.py without a GPU, gpu.py with
one) for the grid and the recommendation, render (report.py), and with ``--write`` edit the
config (write.py).

Exit codes (as every vitscfg command): 0 an estimate was produced; 1 findings: the config
fails `check`, the training data is unusable (empty filelist, nothing kept), or not even one
item fits; 2 usage or environment errors: unreadable config, bad option value, `--gpu`
without CUDA, a GPU index that does not exist, a --vram that is neither a size nor a card.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from vitscfg.estimate.devices import DeviceError, DeviceInfo
from vitscfg.estimate.grid import DEFAULT_MARGIN, Recommendation

if TYPE_CHECKING:
    from vitscfg.estimate.data import Lengths
    from vitscfg.estimate.prediction import Prediction
    from vitscfg.estimate.report import Estimate, Speed
    from vitscfg.estimate.trace import StepConfig
    from vitscfg.opening import OpenedConfig


@dataclass(frozen=True)
class EstimateOptions:
    config: str
    gpu: int | None = None  # --gpu [INDEX]: measure on this CUDA device
    vram: str | None = None
    batch_sizes: tuple[int, ...] = ()
    segment_sizes: tuple[int, ...] = ()
    margin: float = DEFAULT_MARGIN
    output_format: str = "text"
    plot: str | None = None  # "-" terminal plot, else a PNG path
    write: bool = False
    no_data: bool = False
    max_text_len: int | None = None
    max_spec_frames: int | None = None
    processes: int | None = None  # parallel trace processes (default: CPU count)
    precision: str | None = None  # --precision: trace in this precision, whatever picks it


class Stop(Exception):
    """End the command: ``message`` (if any) on stderr, ``exit_code`` returned."""

    def __init__(self, exit_code: int, message: str = "") -> None:
        super().__init__(message)
        self.exit_code, self.message = exit_code, message


def run_estimate(
    opts: EstimateOptions, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    from vitscfg.config.typed import uses_gpu
    from vitscfg.estimate.data import DataProblem
    from vitscfg.estimate.devices import choose_device
    from vitscfg.estimate.grid import build_grid
    from vitscfg.estimate.report import Estimate
    from vitscfg.train.fork_steps import length_units

    out, err = out or sys.stdout, err or sys.stderr
    try:
        _check_options(opts)
        opened = _open(opts, err)
        step, plan = _plan(opened, opts)
        device = choose_device(opts.vram, opts.gpu, uses_gpu(opened.train))
        plan, precision_reason = _fork_precision(opened, plan, device)
        plan, precision_reason = _forced_precision(opts.precision, plan, precision_reason)
        lengths = _lengths(opened, opts)
        prediction = _predict(opts, step, plan, device, lengths, err)
    except Stop as stop:
        if stop.message:
            err.write(f"vitscfg estimate: {stop.message}\n")
        return stop.exit_code
    except DeviceError as exc:
        err.write(f"vitscfg estimate: {exc}\n")
        return 2
    except DataProblem as exc:
        err.write(f"vitscfg estimate: {exc}\n")
        return 1
    rec = prediction.recommend()
    batches, segments, precisions = plan
    capacity = device.capacity_bytes
    cells = build_grid(
        batches,
        segments,
        precisions,
        prediction.predict,
        capacity,
        opts.margin,
        prediction.measured,
        prediction.traced_bytes,
    )
    notes = [*lengths.notes, *_support_notes(opened), *prediction.notes]
    est = Estimate(
        opts.config,
        device,
        prediction.method,
        cells,
        rec,
        opts.margin,
        lengths.text_len,
        lengths.spec_frames,
        lengths.source,
        _speed(prediction.step_seconds, lengths, rec, opened),
        notes,
        *_model_level(opened),
        precision_reason,
        length_units(opened.dialect),
    )
    code = _render(opts, est, out, err)
    if code or rec is None:
        return code or 1
    if opts.write:
        from vitscfg.estimate.write import write_recommendation

        stream = err if opts.output_format == "json" else out
        return write_recommendation(
            opts.config, rec.batch_size, rec.segment_size, stream, check_data=not opts.no_data
        )
    return 0


def _check_options(opts: EstimateOptions) -> None:
    if not 0 <= opts.margin < 0.9:
        raise Stop(2, f"--margin {opts.margin}: must be in [0, 0.9)")
    if any(b < 1 for b in opts.batch_sizes) or any(s < 1 for s in opts.segment_sizes):
        raise Stop(2, "--batch-sizes and --segment-sizes must be positive integers")
    if opts.output_format not in ("text", "json"):
        raise Stop(2, f"--format {opts.output_format!r}: choose text or json")
    if opts.precision is not None:
        from vitscfg.train.step import PRECISIONS  # what the trainer (so the trace) knows

        if opts.precision not in PRECISIONS:
            choices = ", ".join(PRECISIONS)
            raise Stop(2, f"--precision {opts.precision!r}: choose one of {choices}")


def _open(opts: EstimateOptions, err: TextIO) -> OpenedConfig:
    """The checked config; its findings on ``err`` (Stop when it cannot be estimated)."""
    from vitscfg.lint.report import REPORTERS
    from vitscfg.opening import Refused, open_config

    try:
        opened = open_config(opts.config, check_data=not opts.no_data)
    except Refused as exc:
        if exc.check is not None and (exc.check.errors or exc.check.warnings):
            err.write(REPORTERS["text"](exc.check, color=False).rstrip("\n") + "\n")
        why = {
            "check": "the config fails `vitscfg check`; fix the errors above first",
            "support": f"cannot estimate this config: {exc.message}",
        }
        raise Stop(exc.exit_code, why.get(exc.stage, exc.message)) from None
    if opened.check.warnings:
        err.write(REPORTERS["text"](opened.check, color=False).rstrip("\n") + "\n")
    return opened


Plan = tuple[list[int], list[int], list[str]]  # batches, segments, precisions of the grid


def _plan(opened: OpenedConfig, opts: EstimateOptions) -> tuple[StepConfig, Plan]:
    from vitscfg.config.typed import precisions
    from vitscfg.estimate.grid import default_batch_sizes, default_segment_sizes
    from vitscfg.estimate.trace import StepConfig

    step = StepConfig(opened.data, opened.train, opened.dialect)
    hop = int(opened.data["data"]["hop_length"])  # `check` requires it
    t = opened.train
    batches = sorted(set(opts.batch_sizes)) or default_batch_sizes(t.batch_size)
    segments = sorted(set(opts.segment_sizes)) or default_segment_sizes(t.segment_size, hop)
    return step, (batches, segments, precisions(t))


def _fork_precision(opened: OpenedConfig, plan: Plan, device: DeviceInfo) -> tuple[Plan, str]:
    """The plan in the precision the fork's trainer picks for ``device`` (RVC's train.py
    reads the GPU, not its config), and why; the plan unchanged ("") for the others."""
    from vitscfg.train.fork_steps import TargetDevice, fork_step

    fork = fork_step(opened.dialect)
    if fork is None or fork.precision is None:
        return plan, ""
    capability = None
    if device.source == "cuda" and device.index is not None:
        import torch

        capability = torch.cuda.get_device_capability(device.index)
    target = TargetDevice(device.kind == "cuda", device.name, device.total_bytes, capability)
    precision, why = fork.precision(target)
    batches, segments, _ = plan
    return (batches, segments, [precision]), why


def _forced_precision(forced: str | None, plan: Plan, reason: str) -> tuple[Plan, str]:
    """The plan in ``--precision``'s precision when given (a what-if: RVC picks fp16 from
    the GPU, a user with a Pascal card or fp16 trouble trains in fp32), saying what it
    replaced; else the plan and ``reason`` unchanged."""
    if forced is None:
        return plan, reason
    batches, segments, precisions = plan
    would = "/".join(precisions)
    why = f"--precision {forced}; without it {would}" + (f", as {reason}" if reason else "")
    return (batches, segments, [forced]), why


def _lengths(opened: OpenedConfig, opts: EstimateOptions) -> Lengths:
    from vitscfg.estimate.data import cap_frames, data_lengths, limit_lengths, override
    from vitscfg.train.fork_steps import fork_step

    lengths = (
        limit_lengths(opened.data, opened.dialect)
        if opts.no_data
        else data_lengths(opened.data, opts.config, opened.dialect)
    )
    # A fork's step reads its own frames (so-vits-svc, RVC: content-feature frames), which
    # its loader cuts at its own limit.
    fork = fork_step(opened.dialect)
    lengths = cap_frames(lengths, fork.max_frames if fork else None)
    return override(lengths, opts.max_text_len, opts.max_spec_frames)


def _predict(
    opts: EstimateOptions,
    step: StepConfig,
    plan: Plan,
    device: DeviceInfo,
    lengths: Lengths,
    err: TextIO,
) -> Prediction:
    batches, segments, precisions = plan
    if opts.gpu is not None:
        from vitscfg.estimate.gpu import gpu_prediction, probe_progress

        err.write(f"measuring the training step on {device.name} (one probe process per plan)\n")
        s0 = step.train.segment_size
        return gpu_prediction(
            step,
            device,
            precisions,
            batches,
            segments,
            lengths,
            opts.margin,
            s0,
            report=probe_progress(err),
        )
    from vitscfg.estimate import predict
    from vitscfg.estimate.trace import ModelBuildError

    try:
        return predict.traced_prediction(
            step,
            precisions,
            batches,
            segments,
            lengths.text_len,
            lengths.spec_frames,
            device,
            opts.margin,
            opts.processes,
        )
    except ModelBuildError as exc:
        raise Stop(
            1,
            f"{opts.config}: vitscfg cannot build this config's model: {exc}. Fix that value "
            "in the config (`vitscfg check` does not catch it yet)",
        ) from None
    except Exception as exc:  # raised in a trace process: a message, not its traceback
        raise Stop(
            1,
            f"the traced training step failed ({type(exc).__name__}: {exc}). The config "
            "passes `check`, so vitscfg's model could not run it: please report this "
            "with the config",
        ) from None


def _model_level(opened: OpenedConfig) -> tuple[str, str]:
    """(level, what the traced model lacks): "exact" when the fork's own networks and step
    ran (vitscfg/model/support.py), else "proxy" and its gaps."""
    support = opened.support
    if support is None or support.level != "proxy":
        return "exact", ""
    return "proxy", support.reason


def _support_notes(opened: OpenedConfig) -> list[str]:
    support = opened.support
    if support is None or support.level != "proxy":
        return []
    return [f"{support.reason}; the fork's own model needs more memory than this"]


def _speed(
    step_seconds: float | None, lengths: Lengths, rec: Recommendation | None, opened: OpenedConfig
) -> Speed | None:
    from vitscfg.estimate.grid import steps_needed
    from vitscfg.estimate.report import Speed

    if not step_seconds or rec is None:
        return None
    batches = steps_needed(lengths.utterances, rec.batch_size)
    return Speed(1.0 / step_seconds, batches, opened.train.epochs)


def _render(opts: EstimateOptions, est: Estimate, out: TextIO, err: TextIO) -> int:
    from vitscfg.estimate.report import bar_plot, to_json, to_text, write_png

    out.write(to_json(est) if opts.output_format == "json" else to_text(est))
    capacity = est.device.capacity_bytes
    if opts.plot == "-":
        (err if opts.output_format == "json" else out).write(
            bar_plot(est.cells, capacity, opts.margin)
        )
    elif opts.plot:
        problem = write_png(opts.plot, est.cells, capacity, opts.margin)
        if problem:
            err.write(f"vitscfg estimate: {problem}\n")
            return 2
    return 0
