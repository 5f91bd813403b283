"""Resume, warm start, hyper-parameter changes and the two failure paths of a step
(non-finite losses, out of memory), for ``vitscfg.train.loop.Trainer``.

Why a module of its own: these are the places where the reference failed silently
(bare ``except`` restarting at epoch 1, edited learning rates ignored, NaN weights,
an opaque CUDA OOM); each function here turns one of them into an explicit action
with a message.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from vitscfg.config.schema.train import VitscfgTrain
from vitscfg.model.checkpoint_compat import model_state_from_checkpoint
from vitscfg.train import TrainError
from vitscfg.train import checkpoint as ckpt
from vitscfg.train.step import Batch, StepResult

if TYPE_CHECKING:
    from vitscfg.train.loop import Trainer

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


def _load_weights(tr: Trainer, point: ckpt.ResumePoint) -> ckpt.TrainingState | None:
    """Weights, optimisers, schedulers and scaler of a pair (also the NaN rollback)."""
    try:
        tr.net_g.load_state_dict(model_state_from_checkpoint(point.g), strict=True)
        tr.net_d.load_state_dict(model_state_from_checkpoint(point.d), strict=True)
        tr.state.optim_g.load_state_dict(point.g["optimizer"])
        tr.state.optim_d.load_state_dict(point.d["optimizer"])
    except (RuntimeError, ValueError, KeyError) as err:
        first = str(err).strip().splitlines()[0][:300]
        raise TrainError(
            f"{point.g_path} does not fit the model this config builds ({first}). Train into "
            "a new --run-dir, or start from it with --init-from (loads what fits)."
        ) from None
    saved = point.state
    if saved is not None:
        tr.sched_g.load_state_dict(saved.scheduler_g)
        tr.sched_d.load_state_dict(saved.scheduler_d)
        if saved.scaler and tr.state.scaler.is_enabled():
            tr.state.scaler.load_state_dict(saved.scaler)
    return saved


def restore(tr: Trainer, point: ckpt.ResumePoint) -> ckpt.TrainingState | None:
    """Exact resume: weights, optimisers, schedulers, scaler, RNG, sampler position."""
    saved = _load_weights(tr, point)
    tr.step = tr.last_saved = point.step
    if saved is None:  # a bare reference pair: weights only, "iteration" is the epoch
        tr.epoch = max(point.epoch, 1)
        tr.notes.append(f"{point.g_path.name} has no vitscfg state: RNG and data order restart")
        return None
    ckpt.restore_rng(saved.rng)
    try:
        tr.sampler.load_state_dict(saved.sampler)
        tr.resume_batches = int(saved.sampler["batches_done"])
    except ValueError as err:
        tr.notes.append(f"[yellow]data order:[/] {err}")
    tr.epoch = saved.epoch
    tr.best_val_mel = saved.best_val_mel
    if saved.config_digest != tr.digest:
        tr.notes.append("the config changed since this checkpoint was written")
    return saved


def apply_hyper(tr: Trainer, old: Mapping[str, Any]) -> list[str]:
    """Apply learning_rate/betas/eps/lr_decay edited since the checkpoint (the reference
    silently kept the optimiser's values) and report every other change."""
    new = hyper_of(tr.t, tr.precision)
    notes = []
    pairs = ((tr.state.optim_g, tr.sched_g), (tr.state.optim_d, tr.sched_d))
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
            lr = tr.state.optim_g.param_groups[0]["lr"]
            change += f" (current lr now {lr:.4g})"
        if key in HYPER_APPLIED:
            change += ": applied to both optimisers"
        else:
            change += ": takes effect from now on"
        notes.append(change)
    return notes


def warm_start(module: torch.nn.Module, path: Path, tag: str) -> list[str]:
    """Fine-tuning start (P19): copy every tensor of a (reference) checkpoint whose name
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
    """Counts non-finite steps in a row (P2/P3): skip, name the utterances, roll back to
    the newest checkpoint after ``nan_rollback_steps``, stop if it recurs before a new
    checkpoint was written."""

    def __init__(self, tr: Trainer) -> None:
        self.tr = tr
        self.streak = 0
        self.rolled_back_at: int | None = None

    def good_step(self) -> None:
        self.streak = 0

    def bad_step(self, result: StepResult, batch: Batch) -> int | None:
        tr, limit = self.tr, self.tr.t.nan_rollback_steps
        self.streak += 1
        tr.skipped_total += 1
        bad = [k for k, v in result.losses.items() if not bool(torch.isfinite(v).all())]
        names = "; ".join(tr.train_set.describe(i) for i in batch.ids)
        tr.console.print(
            f"[red]non-finite {', '.join(bad) or 'gradient'}[/] after step {tr.step}: update "
            f"skipped ({self.streak}/{limit} in a row). Batch: {names}"
        )
        if self.streak < limit:
            return None
        self.streak = 0
        point = None
        if self.rolled_back_at is None or tr.last_saved > self.rolled_back_at:
            point, _ = ckpt.find_resumable(tr.run_dir)
        if point is None:
            tr.console.print(f"[red]error:[/] {limit} non-finite steps in a row{self._why()}")
            return 1
        _load_weights(tr, point)
        self.rolled_back_at = tr.step
        tr.console.print(
            f"[yellow]rolled back to {point.g_path.name}[/] after {limit} non-finite steps in "
            "a row; training goes on with the next batches"
        )
        return None

    def _why(self) -> str:
        t = self.tr.t
        causes = []
        if self.tr.precision == "fp16":
            causes.append(
                "fp16_run: float16 overflow is the usual cause in VITS (P2); set fp16_run "
                "false, or bf16_run true on a GPU that supports bfloat16"
            )
        causes.append(f"learning_rate {t.learning_rate:g} may be too high: try half")
        causes.append("the utterances named above: silent, clipped or wrongly transcribed clips")
        return ", even after a rollback. Likely causes:\n  - " + "\n  - ".join(causes)


def out_of_memory(tr: Trainer, batch: Batch) -> int:
    """What no longer fits, and how to size it (P21); exit code 1."""
    t = tr.t
    longest = int(batch.spec_lengths.max()) if batch.spec_lengths.numel() else 0
    seconds = longest * tr.hp.hop_length / tr.hp.sampling_rate
    tr.console.print(
        f"[red]error:[/] out of memory on {tr.device} at step {tr.step}: batch_size "
        f"{t.batch_size} (x grad_accum_steps {t.grad_accum_steps}), segment_size "
        f"{t.segment_size} samples, this batch's longest text {int(batch.text_lengths.max())} "
        f"tokens and spectrogram {longest} frames ({seconds:.1f} s).\n"
        "Lower train.batch_size or train.segment_size, or drop the longest clips. To see "
        f"what each setting needs: vitscfg estimate {tr.opt.config_path} --gpu"
    )
    return 1
