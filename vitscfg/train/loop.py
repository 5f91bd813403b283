"""The bundled trainer, a recipe class: ``Trainer(...).setup(); .train(); .cleanup()``.

    vitscfg train examples/tiny/config.json --run-dir runs/tiny --max-steps 200
    torchrun --nproc_per_node 4 -m vitscfg train config.json          # several GPUs

What each ``train`` field does here (the French guide's promises, kept):

- ``epochs``: passes over the training set (the bucket sampler's batches); the run ends
  after the last one, or earlier at ``--max-steps`` (a global step count, resume included).
- ``eval_interval``: every N optimiser steps, and once at step 0 (baseline metrics and the
  ground-truth audio; G_0/D_0 also give a NaN rollback a target): validation metrics over the WHOLE
  validation set (evaluate.py), audio of 4 fixed validation utterances in TensorBoard's AUDIO tab
  (+ mel/alignment images when matplotlib is installed), then ``G_<step>.pth`` + ``D_<step>.pth``.
  The newest ``keep_ckpts`` pairs are kept, plus the best by validation mel L1 (best.json).
- ``log_interval``: every N steps, losses, learning rate, gradient norms, steps/s, data
  wait and memory go to the console and to TensorBoard (``<run_dir>``).
- ``batch_size`` / ``segment_size``: as the reference (utterances per step per process;
  decoder/discriminator window in samples); ``grad_accum_steps`` multiplies the batch.
- ``use_gpu``: true requires CUDA, else stops at once (naming a CPU-only torch build);
  false trains on the CPU. ``fp16_run``: float16 autocast + GradScaler; ``bf16_run``:
  bfloat16 autocast (CPU too), no scaler. STFTs and losses stay float32 (step.py).
- ``learning_rate``, ``betas``, ``eps``: both AdamW optimisers; ``lr_decay``: ExponentialLR
  stepped once per epoch (the reference). ``c_mel``, ``c_kl``: loss weights.
- ``seed``: python, numpy and torch generators and the sampler's shuffle.
- ``num_workers``: DataLoader processes (persistent, pinned memory on CUDA).
- ``nan_rollback_steps``: a non-finite loss skips the update and names the utterances;
  after N in a row the weights go back to the newest checkpoint; if it happens again
  before a new checkpoint is written, the run stops with the likely causes.

Resuming (exact, edited hyper-parameters applied): resume.py. Ctrl-C, SIGTERM: signals.py.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console

from vitscfg.atomic import atomic_write_text
from vitscfg.config.schema.train import VitscfgTrain
from vitscfg.model.synthesizer import SynthesizerTrn
from vitscfg.train import TrainError, distributed
from vitscfg.train import checkpoint as ckpt
from vitscfg.train.evaluate import SAMPLES, evaluate, to_step_batch
from vitscfg.train.loader import make_data
from vitscfg.train.memcheck import MemoryCheck, StartPrediction
from vitscfg.train.resume import (
    NanGuard,
    Trainables,
    hyper_of,
    is_out_of_memory,
    load_pair,
    out_of_memory,
    start_point,
)
from vitscfg.train.run_state import RunState
from vitscfg.train.signals import StopSignals
from vitscfg.train.state import build_step_state
from vitscfg.train.step import Batch, StepResult, train_step
from vitscfg.train.tblog import StepProgress, TrainLog, startup_table


@dataclass(frozen=True)
class TrainOptions:
    run_dir: Path
    config_path: Path
    max_steps: int | None = None
    resume: bool = True
    init_from: Path | None = None
    init_d: Path | None = None
    resample: bool = False
    dialect: str | None = None  # as `check` detected it: which networks the fork trains
    memory_check: StartPrediction | None = None  # the estimator's predictor (memcheck.py)


def config_digest(config: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


class Trainer:
    """One training run; see the module docstring for what each config field does."""

    find_unused = False  # DDP: a fork whose step leaves parameters unused sets it (VITS2)

    def __init__(
        self,
        config: Mapping[str, Any],
        train: VitscfgTrain,
        options: TrainOptions,
        console: Console,
    ) -> None:
        self.config, self.t, self.opt, self.console = config, train, options, console
        self.run_dir = options.run_dir
        self.run = RunState()  # step, epoch, best mel, ...: restored by a resume
        self.precision = "fp16" if train.fp16_run else "bf16" if train.bf16_run else "fp32"
        self.digest = config_digest(config)
        self.notes: list[str] = []  # printed once the run is set up
        self.data_spec: dict[str, Any] | None = None  # a fork's frames (vits2_run.Vits2Trainer)
        # What cleanup releases exists from the start: one CPU process until setup.
        self.dist = distributed.Dist(0, 0, 1, torch.device("cpu"), True)
        self.memcheck: MemoryCheck | None = None
        self.log: TrainLog | None = None
        self.stops = StopSignals(console)

    # -- setup -----------------------------------------------------------------------
    def setup(self) -> None:
        t = self.t
        if t.use_gpu and not torch.cuda.is_available():
            built = torch.version.cuda
            why = (
                f"torch {torch.__version__} is a CPU-only build (no CUDA compiled in): "
                "install a CUDA wheel from https://pytorch.org"
                if built is None
                else f"torch {torch.__version__} has CUDA {built} but sees no GPU "
                "(driver, CUDA_VISIBLE_DEVICES?)"
            )
            raise TrainError(
                f'train.use_gpu is true but CUDA is not available: {why}; or set "use_gpu": false to train on the CPU (slow)'
            )
        if t.fp16_run and t.bf16_run:
            raise TrainError("train.fp16_run and train.bf16_run are both true: choose one")
        self.dist = distributed.setup(t.use_gpu)
        self.device = self.dist.device
        self.main = self.dist.is_main
        random.seed(t.seed)
        np.random.seed(t.seed % 2**32)
        torch.manual_seed(t.seed)

        # Data: everything checkable is checked here, before any model exists.
        o = self.opt
        data = make_data(self.config, t, o.config_path, self.dist, o.resample, self.data_spec)
        self.train_set, self.val_set, self.sampler, self.loader = data

        # Model, optimisers, schedulers, scaler: the one builder the estimator measures too.
        parts = build_step_state(
            self.config,
            t,
            self.precision,
            self.device,
            dialect=self.opt.dialect,
            wrap=functools.partial(distributed.wrap, dist=self.dist, find_unused=self.find_unused),
        )
        net_g = parts.nets["G"]
        assert isinstance(net_g, SynthesizerTrn)  # evaluation and synthesis use its methods
        self.net_g, self.net_d = net_g, parts.nets["D"]
        self.sched_g, self.sched_d = parts.schedulers["G"], parts.schedulers["D"]
        self.state, self.parts, self.hp = parts.step, parts, parts.step.hp
        self._resume_or_init()
        self.memcheck = MemoryCheck(
            self.config,
            t,
            self.precision,
            self.device,
            self.opt.memory_check if self.main else None,
        )
        self.log = (
            TrainLog(self.run_dir, self.console, self.hp.sampling_rate, t.num_workers)
            if self.main
            else None
        )
        if self.main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            text = json.dumps(self.config, indent=2, ensure_ascii=False) + "\n"
            atomic_write_text(self.run_dir / "config.json", text)
            self._print_startup()
        self.stops.install()

    def _resume_or_init(self) -> None:
        self.run, notes = start_point(
            self.run_dir,
            self._trainables(),
            self.sampler,
            self.digest,
            hyper_of(self.t, self.precision),
            resume=self.opt.resume,
            init_from=(self.opt.init_from, self.opt.init_d),
        )
        self.notes.extend(notes)

    def _print_startup(self) -> None:
        for report in (
            self.train_set.skip_report,
            self.val_set.skip_report,
            self.sampler.skip_report,
        ):
            for line in report.lines():
                self.console.print(f"[yellow]data:[/] {line}")
        for note in [self.dist.note, *self.notes]:
            if note:
                self.console.print(note)
        table = startup_table(
            self.t,
            title=str(self.opt.config_path),
            run_dir=self.run_dir,
            device=self.device,
            world_size=self.dist.world_size,
            precision=self.precision,
            sets=(self.train_set, self.train_set.source, self.val_set),
            steps=(self.steps_per_epoch, self.total_steps, bool(self.opt.max_steps)),
            run=self.run,
            nets=(self.net_g, self.net_d),
        )
        self.console.print(table)

    def _trainables(self) -> Trainables:
        return Trainables(self.net_g, self.net_d, self.state, self.sched_g, self.sched_d)

    # -- training ----------------------------------------------------------------------
    @property
    def steps_per_epoch(self) -> int:
        return max(self.sampler.batches_per_epoch // self.t.grad_accum_steps, 1)

    @property
    def total_steps(self) -> int:
        total = self.t.epochs * self.steps_per_epoch
        return min(total, self.opt.max_steps) if self.opt.max_steps else total

    def train(self) -> int:
        """Run until the last epoch, ``--max-steps`` or a signal; returns the exit code."""
        if self.opt.max_steps is not None and self.run.step >= self.opt.max_steps:
            self.console.print(
                f"already at step {self.run.step} (--max-steps {self.opt.max_steps})"
            )
            return 0
        if self.run.step == 0:
            self._eval_and_save()
        nan = NanGuard(self.t, self.precision, self.run_dir, self.console)
        micro = 0
        fresh_epoch = self.run.resume_batches == 0
        with StepProgress(self.console, self.total_steps, self.run.step, enabled=self.main) as bar:
            while self.run.epoch <= self.t.epochs:
                if fresh_epoch:
                    self.sampler.set_epoch(self.run.epoch)
                self.run.batches_done = 0 if fresh_epoch else self.run.resume_batches
                fresh_epoch = True
                fetch = time.perf_counter()
                for raw in self.loader:
                    if self.log:
                        self.log.data_wait_s += time.perf_counter() - fetch
                    self.run.batches_done += 1
                    batch = to_step_batch(raw, self.device, self.hp.n_speakers > 1)
                    try:
                        result = self._step(batch, micro)
                    except RuntimeError as err:  # CUDA's and the CPU allocator's OOM too
                        if not is_out_of_memory(err):
                            raise
                        where = (self.device, self.run.step, self.opt.config_path)
                        self.console.print(out_of_memory(self.t, self.hp, *where, batch))
                        return 1
                    if result.skipped:
                        micro = 0
                        self.run.skipped_total += 1
                        names = "; ".join(self.train_set.describe(i) for i in batch.ids)
                        reload = functools.partial(load_pair, into=self._trainables())
                        code = nan.bad_step(result, names, self.run, reload)
                        if code is not None:
                            return code
                        if self._stop_requested():
                            return self._finish()  # the weights are the last good ones
                    elif result.stepped:
                        micro = 0
                        self.run.step += 1
                        nan.good_step()
                        self._after_step(result, bar)
                        self._memory_check(batch)
                        if self._stop_requested() or self._at_max():
                            return self._finish()
                    else:
                        micro += 1
                    fetch = time.perf_counter()
                for scheduler in self.parts.schedulers.values():  # G, D and a fork's extras
                    scheduler.step()
                self.run.epoch += 1
        self.run.epoch = self.t.epochs  # the last epoch, for the final checkpoint's record
        return self._finish()

    def _step(self, batch: Batch, micro: int) -> StepResult:
        return train_step(self.state, batch, micro_index=micro, guard=True)

    def _memory_check(self, batch: Batch) -> None:
        line = self.memcheck.after_step(self.run.step, batch) if self.memcheck else None
        if line is not None:
            self.console.print(line)
            if self.log is not None:
                self.log.writer.add_text("estimator/memory_check", line, self.run.step)

    def _stop_requested(self) -> bool:
        """A signal on any rank stops every rank after the same step (all-reduced)."""
        if distributed.any_rank(self.stops.received is not None, self.dist):
            self.stops.request(signal.SIGTERM)  # when another rank was signalled
            return True
        return False

    def _at_max(self) -> bool:
        return self.opt.max_steps is not None and self.run.step >= self.opt.max_steps

    def _finish(self) -> int:
        if self.run.last_saved != self.run.step:
            self._save()
        distributed.barrier(self.dist)
        code = self.stops.exit_code()
        if code is not None:
            self.console.print(f"stopped at step {self.run.step}; rerun the same command to resume")
            return code
        self.console.print(f"done: step {self.run.step}, checkpoints in {self.run_dir}")
        return 0

    def _after_step(self, result: StepResult, bar: StepProgress) -> None:
        if self.main and self.run.step % self.t.log_interval == 0 and self.log is not None:
            losses = {k: float(v) for k, v in result.losses.items()}
            rate = self.log.train_scalars(
                self.run.step,
                self.run.epoch,
                losses,
                self.state.optim_g.param_groups[0]["lr"],
                float(result.grad_norm_g if result.grad_norm_g is not None else 0.0),
                float(result.grad_norm_d if result.grad_norm_d is not None else 0.0),
                self.device,
                self.run.skipped_total,
            )
            bar.update(self.run.step, rate, losses)
        elif self.main:
            bar.update(self.run.step, None, None)
        if self.run.step % self.t.eval_interval == 0:
            self._eval_and_save()

    def _eval_and_save(self) -> None:
        if self.main and self.log is not None:
            samples = list(range(min(SAMPLES, len(self.val_set))))
            result = evaluate(
                self.net_g,
                self.val_set,
                self.hp,
                self.device,
                batch_size=min(self.t.batch_size, 8),
                sample_indices=samples,
            )
            self.log.eval_results(self.run.step, result, first=self.run.step == 0)
            mel = result.metrics["mel_l1"]
            self.run.new_best = mel == mel and (
                self.run.best_val_mel is None or mel < self.run.best_val_mel
            )
            if self.run.new_best:
                self.run.best_val_mel = mel
        self._save()
        if self.log is not None:
            self.log.reset_clock(self.run.step)  # steps/s and data wait exclude eval and saving

    def _save(self) -> None:
        """Write G_/D_<step> (main rank), mark the best, rotate; all ranks meet after."""
        if self.main:
            state = ckpt.TrainingState(
                step=self.run.step,
                epoch=self.run.epoch,
                scheduler_g=self.sched_g.state_dict(),
                scheduler_d=self.sched_d.state_dict(),
                scaler=self.state.scaler.state_dict(),
                rng=ckpt.capture_rng(),
                sampler=self.sampler.state_dict(batches_done=self.run.batches_done),
                best_val_mel=self.run.best_val_mel,
                config_digest=self.digest,
                hyper=hyper_of(self.t, self.precision),
            )
            ckpt.save_pair(
                self.run_dir,
                self.run.step,
                net_g=self.net_g,
                net_d=self.net_d,
                optim_g=self.state.optim_g,
                optim_d=self.state.optim_d,
                learning_rate=self.t.learning_rate,
                state=state,
            )
            if self.run.new_best and self.run.best_val_mel is not None:
                ckpt.mark_best(self.run_dir, self.run.step, self.run.best_val_mel)
                self.run.new_best = False
            ckpt.rotate(self.run_dir, self.t.keep_ckpts, {self.run.step})
        self.run.last_saved = self.run.step
        distributed.barrier(self.dist)

    # -- cleanup -----------------------------------------------------------------------
    def cleanup(self) -> None:
        if self.memcheck is not None:
            self.memcheck.close()
        self.stops.restore()
        if self.log is not None:
            self.log.close()
        distributed.cleanup(self.dist)
