"""Resume, warm start, hyper-parameter changes and the two failure paths of a step
(non-finite losses, out of memory), for ``vitscfg.train.loop.Trainer``.

Why a module of its own: these are the places where the reference failed silently
(bare ``except`` restarting at epoch 1, edited learning rates ignored, NaN weights,
an opaque CUDA OOM); each function here turns one of them into an explicit action
with a message.

Resume: the newest loadable pair in the run dir is restored exactly (weights, AdamW,
schedulers, GradScaler, RNG, sampler position), so N steps straight and N/2 + N/2 give
the same weights on CPU. Hyper-parameters changed since are applied and reported.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from vitscfg.config.schema.train import VitscfgTrain
from vitscfg.data.sampler import BucketBatchSampler
from vitscfg.model.checkpoint_compat import model_state_from_checkpoint
from vitscfg.model.hparams import ModelHParams
from vitscfg.train import TrainError
from vitscfg.train import checkpoint as ckpt
from vitscfg.train.run_state import RunState
from vitscfg.train.step import Batch, StepResult, StepState

Scheduler = torch.optim.lr_scheduler.ExponentialLR


@dataclass(frozen=True)
class Trainables:
    """What a checkpoint pair loads into and a hyper-parameter change edits: the unwrapped
    networks, the step's optimisers and scaler, the two schedulers (the trainer's), and a
    fork's loader of its extra networks at the pair's step (VITS2's ``DUR_<step>.pth``), so
    that a resume and a NaN rollback restore every network the run trains."""

    net_g: torch.nn.Module
    net_d: torch.nn.Module
    step: StepState
    sched_g: Scheduler
    sched_d: Scheduler
    extras: Callable[[ckpt.ResumePoint], None] | None = None


# -- resume, warm start, hyper-parameter changes -------------------------------------------
HYPER_APPLIED = ("learning_rate", "betas", "eps", "lr_decay")


def hyper_of(t: VitscfgTrain, precision: str) -> dict[str, Any]:
    """The hyper-parameters in force, stored in each checkpoint to report changes later."""
    return {
        "learning_rate": float(t.learning_rate),
        "betas": [float(b) for b in t.betas],
        "eps": float(t.eps),
        "lr_decay": float(t.lr_decay),
        "batch_size": int(t.batch_size),
        "segment_size": int(t.segment_size),
        "c_mel": float(t.c_mel),
        "c_kl": float(t.c_kl),
        "grad_accum_steps": int(t.grad_accum_steps),
        "precision": precision,
    }


def load_pair(point: ckpt.ResumePoint, into: Trainables) -> ckpt.TrainingState | None:
    """Weights, optimisers, schedulers and scaler of a pair (also the NaN rollback)."""
    try:
        into.net_g.load_state_dict(model_state_from_checkpoint(point.g), strict=True)
        into.net_d.load_state_dict(model_state_from_checkpoint(point.d), strict=True)
        into.step.optim_g.load_state_dict(point.g["optimizer"])
        into.step.optim_d.load_state_dict(point.d["optimizer"])
    except (RuntimeError, ValueError, KeyError) as err:
        first = str(err).strip().splitlines()[0][:300]
        raise TrainError(
            f"{point.g_path} does not fit the model this config builds ({first}). Train into "
            "a new --run-dir, or start from it with --init-from (loads what fits)."
        ) from None
    saved = point.state
    if saved is not None:
        into.sched_g.load_state_dict(saved.scheduler_g)
        into.sched_d.load_state_dict(saved.scheduler_d)
        if saved.scaler and into.step.scaler.is_enabled():
            into.step.scaler.load_state_dict(saved.scaler)
    if into.extras is not None:
        into.extras(point)
    return saved


@dataclass(frozen=True)
class Restored:
    """A resume's outcome: where the run stands, the saved hyper-parameters (None for a
    reference pair, which has none) and what to tell the user."""

    run: RunState
    hyper: Mapping[str, Any] | None
    notes: list[str]


def restore(
    point: ckpt.ResumePoint, into: Trainables, sampler: BucketBatchSampler, digest: str
) -> Restored:
    """Exact resume: weights, optimisers, schedulers, scaler, RNG, sampler position."""
    saved = load_pair(point, into)
    if saved is None:  # a bare reference pair: weights only, "iteration" is the epoch
        run = RunState(step=point.step, epoch=max(point.epoch, 1), last_saved=point.step)
        why = f"{point.g_path.name} has no vitscfg state: RNG and data order restart"
        return Restored(run, None, [why])
    notes = []
    ckpt.restore_rng(saved.rng)
    resume_batches = 0
    try:
        sampler.load_state_dict(saved.sampler)
        resume_batches = int(saved.sampler["batches_done"])
    except ValueError as err:
        notes.append(f"[yellow]data order:[/] {err}")
    if saved.config_digest != digest:
        notes.append("the config changed since this checkpoint was written")
    run = RunState(
        step=point.step,
        epoch=saved.epoch,
        best_val_mel=saved.best_val_mel,
        last_saved=point.step,
        resume_batches=resume_batches,
    )
    return Restored(run, saved.hyper, notes)


def start_point(
    run_dir: Path,
    into: Trainables,
    sampler: BucketBatchSampler,
    digest: str,
    hyper: Mapping[str, Any],
    *,
    resume: bool,
    init_from: tuple[Path | None, Path | None],
) -> tuple[RunState, list[str]]:
    """Where a run starts, and what to say about it: the newest loadable pair of
    ``run_dir`` (exact resume; ``hyper``: the config's, applied where they changed), else a
    warm start of G (and D) from ``init_from``, else step 0."""
    notes: list[str] = []
    point = None
    if resume:
        point, messages = ckpt.find_resumable(run_dir)
        notes.extend(f"[yellow]checkpoint:[/] {m}" for m in messages)
    init_g, init_d = init_from
    if point is not None:
        if init_g is not None:
            notes.append(
                f"--init-from ignored: resuming {point.g_path} (use --no-resume or "
                "another --run-dir to warm-start)"
            )
        restored = restore(point, into, sampler, digest)
        notes.extend(restored.notes)
        run = restored.run
        notes.append(f"resumed from {point.g_path.name} (step {run.step}, epoch {run.epoch})")
        if restored.hyper is not None:
            notes.extend(apply_hyper(hyper, into, restored.hyper))
        return run, notes
    if init_g is not None:
        notes.extend(warm_start(into.net_g, init_g, "G"))
        if init_d is not None:
            notes.extend(warm_start(into.net_d, init_d, "D"))
    return RunState(), notes


def apply_hyper(new: Mapping[str, Any], into: Trainables, old: Mapping[str, Any]) -> list[str]:
    """Apply learning_rate/betas/eps/lr_decay edited since the checkpoint (the reference
    silently kept the optimiser's values) to the optimisers and schedulers, and report
    every other change (``new``, ``old``: :func:`hyper_of` now and at save time)."""
    notes = []
    pairs = ((into.step.optim_g, into.sched_g), (into.step.optim_d, into.sched_d))
    for key, value in new.items():
        before = old.get(key)
        if before is None or before == value:
            continue
        change = f"[cyan]changed since the checkpoint:[/] train.{key} {before} -> {value}"
        for optim, sched in pairs:
            if key == "learning_rate":
                # Keep the decay already applied: lr = new initial lr x gamma^epochs.
                for group in optim.param_groups:
                    group["lr"] *= value / before
                    group["initial_lr"] = value
                sched.base_lrs = [value for _ in sched.base_lrs]
                sched._last_lr = [group["lr"] for group in optim.param_groups]  # noqa: SLF001
            elif key in ("betas", "eps"):
                for group in optim.param_groups:
                    group[key] = tuple(value) if key == "betas" else value
            elif key == "lr_decay":
                sched.gamma = value
        if key == "learning_rate":
            lr = into.step.optim_g.param_groups[0]["lr"]
            change += f" (current lr now {lr:.4g})"
        if key in HYPER_APPLIED:
            change += ": applied to both optimisers"
        else:
            change += ": takes effect from now on"
        notes.append(change)
    return notes


def warm_start(module: torch.nn.Module, path: Path, tag: str) -> list[str]:
    """Fine-tuning start: copy every tensor of a (reference) checkpoint whose name
    and shape fit; report what was skipped. The optimiser starts fresh."""
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
        state = model_state_from_checkpoint(data if isinstance(data, dict) else {})
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError, ValueError) as err:
        first = str(err).strip().splitlines()[0][:200] if str(err).strip() else "empty file"
        raise TrainError(f"--init-from {path}: cannot read a {tag} checkpoint ({first})") from None
    own = module.state_dict()
    fits = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not fits:
        raise TrainError(
            f"{path}: none of its tensors fits this {tag} (is it a {tag}_*.pth of a VITS "
            "model with these model.* settings?)"
        )
    module.load_state_dict(fits, strict=False)
    shape = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    notes = [f"warm start {tag} from {path}: {len(fits)} of {len(own)} tensors loaded"]
    for what, keys in (
        ("shape differs, kept the fresh init", shape),
        ("absent from the file, kept the fresh init", missing),
        ("not in this model, ignored", unexpected),
    ):
        if keys:
            shown = ", ".join(keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")
            notes.append(f"[yellow]  {len(keys)} {what}:[/] {shown}")
    return notes


# -- failures: non-finite losses, out of memory ----------------------------------------------
class NanGuard:
    """Counts non-finite steps in a row (a float16 overflow, a bad clip): skip, name the
    utterances, roll back to the newest checkpoint after ``nan_rollback_steps``, stop if it
    recurs before a new checkpoint was written."""

    def __init__(self, t: VitscfgTrain, precision: str, run_dir: Path, console: Console) -> None:
        self.limit, self.learning_rate = t.nan_rollback_steps, t.learning_rate
        self.precision, self.run_dir, self.console = precision, run_dir, console
        self.streak = 0
        self.rolled_back_at: int | None = None

    def good_step(self) -> None:
        self.streak = 0

    def bad_step(
        self,
        result: StepResult,
        names: str,
        run: RunState,
        reload: Callable[[ckpt.ResumePoint], object],
    ) -> int | None:
        """After a skipped update (``names``: the batch's utterances, ``run``: read only):
        None to go on, or the exit code. ``reload`` loads a pair into the trainer's
        weights (the rollback)."""
        limit = self.limit
        self.streak += 1
        bad = [k for k, v in result.losses.items() if not bool(torch.isfinite(v).all())]
        self.console.print(
            f"[red]non-finite {', '.join(bad) or 'gradient'}[/] after step {run.step}: update "
            f"skipped ({self.streak}/{limit} in a row). Batch: {names}"
        )
        if self.streak < limit:
            return None
        self.streak = 0
        point = None
        if self.rolled_back_at is None or run.last_saved > self.rolled_back_at:
            point, _ = ckpt.find_resumable(self.run_dir)
        if point is None:
            self.console.print(f"[red]error:[/] {limit} non-finite steps in a row{self._why()}")
            return 1
        reload(point)
        self.rolled_back_at = run.step
        self.console.print(
            f"[yellow]rolled back to {point.g_path.name}[/] after {limit} non-finite steps in "
            "a row; training goes on with the next batches"
        )
        return None

    def _why(self) -> str:
        causes = []
        if self.precision == "fp16":
            causes.append(
                "fp16_run: float16 overflow is the usual cause in VITS; set fp16_run "
                "false, or bf16_run true on a GPU that supports bfloat16"
            )
        causes.append(f"learning_rate {self.learning_rate:g} may be too high: try half")
        causes.append("the utterances named above: silent, clipped or wrongly transcribed clips")
        return ", even after a rollback. Likely causes:\n  - " + "\n  - ".join(causes)


def is_out_of_memory(err: RuntimeError) -> bool:
    """CUDA's OutOfMemoryError, or the CPU allocator's failure (a plain RuntimeError)."""
    return isinstance(err, torch.OutOfMemoryError) or "can't allocate memory" in str(err)


def out_of_memory(
    t: VitscfgTrain, hp: ModelHParams, device: torch.device, step: int, config: Path, batch: Batch
) -> str:
    """What no longer fits, and how to size it: the message of an out-of-memory step."""
    longest = int(batch.spec_lengths.max()) if batch.spec_lengths.numel() else 0
    seconds = longest * hp.hop_length / hp.sampling_rate
    return (
        f"[red]error:[/] out of memory on {device} at step {step}: batch_size "
        f"{t.batch_size} (x grad_accum_steps {t.grad_accum_steps}), segment_size "
        f"{t.segment_size} samples, this batch's longest text {int(batch.text_lengths.max())} "
        f"tokens and spectrogram {longest} frames ({seconds:.1f} s).\n"
        "Lower train.batch_size or train.segment_size, or drop the longest clips. To see "
        f"what each setting needs: vitscfg estimate {config} --gpu"
    )
