"""`vitscfg estimate`: options in, exit code out (printing included, no sys.exit).

Exit codes (as every vitscfg command): 0 an estimate was produced; 1 findings: the config
fails `check`, the training data is unusable (empty filelist, nothing kept), or not even one
item fits; 2 usage or environment errors: unreadable config, bad option value, `--gpu`
without CUDA, a GPU index that does not exist, a --vram that is neither a size nor a card.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from vitscfg.estimate.devices import DeviceError, DeviceInfo
from vitscfg.estimate.grid import (
    DEFAULT_MARGIN,
    EXTRAPOLATION_CAP,
    build_grid,
    default_batch_sizes,
    default_segment_sizes,
    recommend,
)


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
    processes: int | None = None  # parallel fake traces (default: CPU count)


def _err(stream: TextIO, message: str) -> None:
    stream.write(f"vitscfg estimate: {message}\n")


def run_estimate(
    opts: EstimateOptions, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    if not 0 <= opts.margin < 0.9:
        _err(err, f"--margin {opts.margin}: must be in [0, 0.9)")
        return 2
    if any(b < 1 for b in opts.batch_sizes) or any(s < 1 for s in opts.segment_sizes):
        _err(err, "--batch-sizes and --segment-sizes must be positive integers")
        return 2
    if opts.output_format not in ("text", "json"):
        _err(err, f"--format {opts.output_format!r}: choose text or json")
        return 2

    from vitscfg.config.load import UnreadableInput, load
    from vitscfg.lint.report import REPORTERS
    from vitscfg.lint.run import CheckOptions, check_paths

    try:
        result = check_paths([opts.config], CheckOptions(check_data=not opts.no_data))
        doc = load(opts.config)
    except UnreadableInput as exc:
        _err(err, str(exc))
        return 2
    if result.errors or result.warnings:
        err.write(REPORTERS["text"](result, color=False).rstrip("\n") + "\n")
    if result.errors:
        _err(err, "the config fails `vitscfg check`; fix the errors above first")
        return 1
    config: Mapping[str, Any] = doc.data
    dialect = result.files[0].dialect
    from vitscfg.model.support import model_support

    support = model_support(config, dialect)
    if support.level == "none":
        _err(err, f"cannot estimate this config: {support.reason}")
        return 1
    train = config.get("train") or {}

    # Device.
    from vitscfg.estimate import devices

    try:
        device = _device(opts, bool(train.get("use_gpu", True)))
    except DeviceError as exc:
        _err(err, str(exc))
        return 2

    # Worst-case lengths.
    from vitscfg.estimate.data import DataProblem, data_lengths, limit_lengths, override

    try:
        lengths = (
            limit_lengths(config, dialect)
            if opts.no_data
            else data_lengths(config, opts.config, dialect)
        )
    except DataProblem as exc:
        _err(err, str(exc))
        return 1
    lengths = override(lengths, opts.max_text_len, opts.max_spec_frames)

    from vitscfg.estimate.fake import config_precisions

    precisions = config_precisions(config)
    hop = int((config.get("data") or {}).get("hop_length", 256))
    b0 = int(train.get("batch_size", 16))
    s0 = int(train.get("segment_size", 8192))
    batches = sorted(set(opts.batch_sizes)) or default_batch_sizes(b0)
    segments = sorted(set(opts.segment_sizes)) or default_segment_sizes(s0, hop)
    capacity = device.capacity_bytes

    from vitscfg.estimate.report import Estimate, Speed, bar_plot, to_json, to_text, write_png

    notes = list(lengths.notes)
    if support.level == "proxy":
        notes.append(f"{support.reason}; the fork's own model needs more memory than this")
    speed: Speed | None = None
    if opts.gpu is not None:
        from vitscfg.estimate.gpu import gpu_prediction

        def report(r: Any) -> None:
            what = (
                f"{r.device_peak / 2**30:.2f} GiB, {r.step_seconds:.2f} s/step"
                if r.ok
                else "out of memory"
                if r.oom
                else f"failed: {r.error}"
            )
            err.write(
                f"probe batch {r.batch_size} segment {r.segment_size} {r.precision}: "
                f"{what} ({r.seconds:.0f} s)\n"
            )
            err.flush()

        err.write(f"measuring the training step on {device.name} (one probe process per plan)\n")
        gp = gpu_prediction(
            config,
            device,
            precisions,
            batches,
            segments,
            lengths,
            opts.margin,
            s0,
            report=report,
        )
        predict, max_batch, measured, rec = gp.predict, gp.max_batch, gp.measured, gp.recommended
        notes.extend(gp.notes)
        if gp.step_seconds and rec is not None:
            from vitscfg.estimate.grid import steps_needed

            speed = Speed(
                1.0 / gp.step_seconds,
                steps_needed(lengths.utterances, rec.batch_size),
                int(train.get("epochs", 1)),
            )
        method = "gpu-probe"
    else:
        from vitscfg.estimate.predict import fake_prediction

        kind = device.kind
        try:
            fp = fake_prediction(
                config,
                precisions,
                batches,
                segments,
                lengths.text_len,
                lengths.spec_frames,
                kind,
                opts.processes,
            )
        except Exception as exc:  # raised in a trace process: a message, not its traceback
            _err(
                err,
                f"the traced training step failed ({type(exc).__name__}: {exc}). The config "
                "passes `check`, so vitscfg's model could not run it: please report this "
                "with the config",
            )
            return 1

        def predict(b: int, s: int, p: str) -> int:
            return fp.predict(b, s, p)

        def max_batch(s: int, p: str) -> int:
            return fp.fits[p].fit.max_batch(s, capacity * (1 - opts.margin))

        traced = {(x.batch_size, x.segment_size, p) for p, f in fp.fits.items() for x in f.samples}

        def measured(b: int, s: int, p: str) -> str | None:
            return "traced" if (b, s, p) in traced else None

        largest = max(b for b, _, _ in traced)
        rec = recommend(
            max_batch,
            predict,
            s0,
            segments,
            precisions,
            capacity,
            opts.margin,
            largest_measured=largest,
            cap=EXTRAPOLATION_CAP * largest,
        )
        method = "fake-tensor"
        if device.kind == "cpu":
            notes.append(
                f"RAM path: includes {devices.HOST_PROCESS_BYTES >> 20} MiB for this process "
                f"and {devices.WORKER_BYTES >> 20} MiB per DataLoader worker "
                f"(num_workers={int(train.get('num_workers', 0) or 0)})"
            )
    cells = build_grid(batches, segments, precisions, predict, capacity, opts.margin, measured)
    est = Estimate(
        opts.config,
        device,
        method,
        cells,
        rec,
        opts.margin,
        lengths.text_len,
        lengths.spec_frames,
        lengths.source,
        speed,
        notes,
    )
    out.write(to_json(est) if opts.output_format == "json" else to_text(est))
    if opts.plot == "-":
        (err if opts.output_format == "json" else out).write(bar_plot(cells, capacity, opts.margin))
    elif opts.plot:
        problem = write_png(opts.plot, cells, capacity, opts.margin)
        if problem:
            _err(err, problem)
            return 2
    if opts.write and rec is not None:
        return _write(opts.config, doc.text, rec.batch_size, rec.segment_size, out, err, opts)
    return 0 if rec is not None else 1


def _device(opts: EstimateOptions, use_gpu: bool) -> DeviceInfo:
    from vitscfg.estimate import devices

    if opts.vram is not None:
        return devices.assumed_device(opts.vram)
    if opts.gpu is not None:
        return devices.cuda_device(opts.gpu)
    if not use_gpu:
        return devices.ram_device()
    try:
        import torch

        if torch.cuda.is_available():
            return devices.cuda_device(0)  # capacity of the real card; prediction still fake
    except Exception:  # a broken driver must not stop a prediction that needs no GPU
        pass
    dev = devices.assumed_device("24GiB")
    return DeviceInfo(
        "assumed 24 GiB GPU (no CUDA here; --vram SIZE|CARD to choose)",
        dev.total_bytes,
        dev.free_bytes,
        "assumed",
    )


def _set_number(text: str, key: str, value: int) -> str | None:
    """Replace the one ``"key": N`` (JSON) or ``key: N`` (YAML) in the text, keeping the
    rest byte for byte; None when the key is absent or ambiguous."""
    pattern = re.compile(rf'((?:"{key}"|(?<![\w"]){key})\s*:\s*)(-?\d+)')
    found = pattern.findall(text)
    if len(found) != 1:
        return None
    return pattern.sub(lambda m: f"{m.group(1)}{value}", text)


def _write(
    path: str, text: str, batch: int, segment: int, out: TextIO, err: TextIO, opts: EstimateOptions
) -> int:
    from vitscfg.atomic import atomic_write_text
    from vitscfg.lint.fix import unified_diff

    new: str | None = text
    for key, value in (("batch_size", batch), ("segment_size", segment)):
        new = _set_number(new, key, value) if new is not None else None
    if new is None:
        _err(
            err,
            "--write: train.batch_size / train.segment_size not found exactly once; not written",
        )
        return 1
    if new == text:
        (err if opts.output_format == "json" else out).write(
            "--write: the config already uses the recommendation\n"
        )
        return 0
    (err if opts.output_format == "json" else out).write(unified_diff(path, text, new))
    atomic_write_text(path, new)
    (err if opts.output_format == "json" else out).write(f"wrote {path}\n")
    return 0
