"""Checkpoints the reference can read and a kill cannot break.

Format. ``G_<step>.pth`` and ``D_<step>.pth`` are dicts with the reference trainer's keys
(``REFERENCE_KEYS``), so jaywalnut310/vits and its forks load them:

- ``model``: the bare module's state_dict (no DDP ``module.`` prefix);
- ``iteration``: the **epoch**, not the step, exactly as the reference stores it (its
  ``save_checkpoint(..., epoch, ...)`` puts the epoch there); the step is in the file name
  and in ``vitscfg["step"]``;
- ``optimizer``: the optimizer's state_dict (its ``param_groups[i]["lr"]`` is the current lr);
- ``learning_rate``: what the caller passes (the reference passes the *initial* lr);

plus ``vitscfg``: ``asdict(TrainingState)`` (step, epoch, schedulers, GradScaler, RNG,
sampler position, best validation mel, config digest, hyper-parameters), which the
reference ignores. Everything in the file is a tensor or a plain Python value, so
``torch.load(weights_only=True)`` (torch >= 2.6's default) reads it; ``save_pair``
refuses anything else up front instead of writing a file nobody can load.

Guarantees (a killed run never leaves a pair that cannot be resumed):
- A file is either absent or complete: ``torch.save`` into memory, then
  ``atomic_write_bytes`` (temp file in the same folder, fsync, rename). D is written
  before G, so a G file implies its D exists; the scan keys on G.
- ``find_resumable`` returns the newest pair whose two files load and look like
  checkpoints; every file it passes over gets a message naming it. It never raises on a
  bad file and never catches more than the errors torch raises for bad files.
- A kill leaves at most a hidden ``.G_<step>.pth.<random>.tmp``; the scan never matches
  it and the next ``save_pair`` deletes it.
- ``rotate`` deletes only complete pairs, oldest first, never the newest pair, a
  protected step or the step in ``best.json``.
- A full disk (checked before writing when the free space is clearly too small, or
  ENOSPC while writing) raises ``CheckpointSpaceError`` naming the file, the bytes
  needed and free, and the step a rerun resumes from; the previous pair stays.

RNG capture and restore live in vitscfg/train/rng.py (re-exported here).

A bare reference pair (only the four keys) in a run folder is resumable too, as
weights only: ``ResumePoint.state`` is None and the trainer starts its schedulers, RNG
and sampler fresh at epoch ``iteration``.
"""

from __future__ import annotations

import errno
import io
import json
import math
import pickle
import re
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vitscfg.atomic import atomic_write_bytes, atomic_write_text
from vitscfg.model.checkpoint_compat import REFERENCE_KEYS
from vitscfg.train.ckpt_space import CheckpointSpaceError as CheckpointSpaceError
from vitscfg.train.ckpt_space import ensure_room, no_space
from vitscfg.train.distributed import unwrap

# Re-exported: the trainer and resume call them through this module.
from vitscfg.train.rng import capture_rng as capture_rng
from vitscfg.train.rng import restore_rng as restore_rng

BEST_FILE = "best.json"
_NAME = re.compile(r"^([GD])_(\d+)\.pth$")
_TEMP = re.compile(r"^\.[GD]_\d+\.pth\..*\.tmp$")
# What torch.load raises for a file that is not a complete checkpoint: a truncated zip
# ("failed finding central directory") is a RuntimeError, an empty file EOFError, a
# pickle of anything but tensors/primitives UnpicklingError, a non-torch file KeyError /
# ValueError from the legacy reader; OSError for unreadable files.
LOAD_ERRORS: tuple[type[BaseException], ...] = (
    RuntimeError,
    EOFError,
    pickle.UnpicklingError,
    KeyError,
    ValueError,
    OSError,
    zipfile.BadZipFile,
)


@dataclass
class TrainingState:
    """What a bit-exact resume needs beyond the weights and optimizers.

    ``hyper`` holds the hyper-parameters in force at save time (learning_rate, betas, eps,
    lr_decay, batch_size, ...), so the trainer can say what changed since; ``config_digest``
    identifies the whole config for the same purpose.
    """

    step: int
    epoch: int
    scheduler_g: dict[str, Any]
    scheduler_d: dict[str, Any]
    scaler: dict[str, Any]
    rng: dict[str, Any]
    sampler: dict[str, Any]
    best_val_mel: float | None
    config_digest: str
    hyper: dict[str, Any]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainingState:
        """Inverse of ``asdict``; raises ValueError naming missing fields."""
        names = [f.name for f in fields(cls)]
        missing = [n for n in names if n not in data]
        if missing:
            raise ValueError(f"training state lacks {', '.join(missing)}")
        return cls(**{n: data[n] for n in names})


@dataclass
class ResumePoint:
    """A pair that loaded: the dicts are ready for ``load_state_dict`` (on the CPU)."""

    step: int
    g_path: Path
    d_path: Path
    g: dict[str, Any]
    d: dict[str, Any]

    @property
    def state(self) -> TrainingState | None:
        """The full training state; None for a bare reference pair (weights only)."""
        extra = self.g.get("vitscfg")
        return None if extra is None else TrainingState.from_dict(extra)

    @property
    def epoch(self) -> int:
        """The epoch the pair was saved in (reference "iteration")."""
        return int(self.g["iteration"])


# -- saving ------------------------------------------------------------------------------


def _plain_problems(value: Any, where: str, out: list[str]) -> None:
    """Collect paths of values weights_only loading would refuse (a Path, a numpy
    scalar, an arbitrary object), so save fails now rather than resume failing later."""
    if isinstance(value, torch.Tensor) or value is None:
        return
    if isinstance(value, bool | int | float | str | bytes | torch.dtype | torch.device):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str | int | float | bool):
                out.append(f"{where}: key {key!r} of type {type(key).__name__}")
            _plain_problems(item, f"{where}.{key}", out)
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _plain_problems(item, f"{where}[{i}]", out)
        return
    out.append(f"{where}: {type(value).__module__}.{type(value).__qualname__}")


def _to_bytes(obj: dict[str, Any], name: str) -> bytes:
    problems: list[str] = []
    _plain_problems(obj, name, problems)
    if problems:
        raise TypeError(
            f"{name} would not load with weights_only=True; convert to tensors or plain "
            "values: " + "; ".join(problems[:5])
        )
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def clean_temp(folder: Path) -> list[Path]:
    """Delete temp files a killed writer left (``.G_<step>.pth.*.tmp``). Only the main
    rank writes checkpoints, so any such file in its own run folder is dead."""
    removed = []
    for path in folder.glob(".[GD]_*.tmp"):
        if _TEMP.match(path.name):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def save_pair(
    folder: Path,
    step: int,
    *,
    net_g: nn.Module,
    net_d: nn.Module,
    optim_g: torch.optim.Optimizer,
    optim_d: torch.optim.Optimizer,
    learning_rate: float,
    state: TrainingState,
) -> tuple[Path, Path]:
    """Write ``D_<step>.pth`` then ``G_<step>.pth`` atomically; returns (G path, D path).

    Call on the main rank only. Both dicts are serialised before the first write, so an
    unsaveable value leaves no file behind.
    """
    if state.step != step:
        raise ValueError(f"state.step {state.step} differs from the file step {step}")
    folder.mkdir(parents=True, exist_ok=True)
    clean_temp(folder)
    extra = asdict(state)
    blobs = {}
    for tag, net, optim in (("D", net_d, optim_d), ("G", net_g, optim_g)):
        blobs[tag] = _to_bytes(
            {
                "model": unwrap(net).state_dict(),
                "iteration": state.epoch,  # the epoch, as the reference (see module doc)
                "optimizer": optim.state_dict(),
                "learning_rate": learning_rate,
                "vitscfg": extra,
            },
            f"{tag}_{step}.pth",
        )
    g_path, d_path = folder / f"G_{step}.pth", folder / f"D_{step}.pth"
    needed = len(blobs["D"]) + len(blobs["G"])
    resume = _resume_step(folder, step)
    ensure_room(folder, g_path, needed, resume)
    writing = d_path
    try:
        atomic_write_bytes(d_path, blobs["D"])  # D first: a G file implies its D exists
        writing = g_path
        atomic_write_bytes(g_path, blobs["G"])
    except OSError as err:
        if err.errno != errno.ENOSPC:
            raise
        if writing == g_path:  # a lone D of this step only takes space; the scan ignores it
            d_path.unlink(missing_ok=True)
        raise no_space(folder, writing, needed, resume) from err
    return g_path, d_path


def _resume_step(folder: Path, step: int) -> int | None:
    """The step a rerun resumes from if this save fails: the newest other complete pair."""
    steps = list_steps(folder)
    complete = (steps["G"] & steps["D"]) - {step}
    return max(complete) if complete else None


# -- finding the resume point ------------------------------------------------------------


def list_steps(folder: Path) -> dict[str, set[int]]:
    """{"G": steps, "D": steps} from the file names (nothing is opened)."""
    found: dict[str, set[int]] = {"G": set(), "D": set()}
    if not folder.is_dir():
        return found
    for path in folder.iterdir():
        match = _NAME.match(path.name)
        if match:
            found[match.group(1)].add(int(match.group(2)))
    return found


def _shape_problem(ckpt: Any, step: int) -> str | None:
    """Why a loaded object is not a usable checkpoint of ``step``; None when it is."""
    if not isinstance(ckpt, dict):
        return f"holds a {type(ckpt).__name__}, not a checkpoint dict"
    missing = [k for k in REFERENCE_KEYS if k not in ckpt]
    if missing:
        return f"lacks the key(s) {', '.join(missing)}"
    model = ckpt["model"]
    if not isinstance(model, dict) or not model:
        return '"model" is not a non-empty state dict'
    if not all(isinstance(v, torch.Tensor) for v in model.values()):
        return '"model" holds values that are not tensors'
    optim = ckpt["optimizer"]
    if not isinstance(optim, dict) or "state" not in optim or "param_groups" not in optim:
        return '"optimizer" is not an optimizer state dict'
    extra = ckpt.get("vitscfg")
    if extra is not None:
        try:
            saved = TrainingState.from_dict(extra)
        except (ValueError, TypeError) as err:
            return f'"vitscfg" is not a training state ({err})'
        if saved.step != step:
            return f"records step {saved.step}, not the {step} of its name"
    return None


def _load(path: Path, step: int) -> tuple[dict[str, Any] | None, str]:
    try:
        with warnings.catch_warnings():
            # A plain pickle makes torch warn about its protocol before refusing it.
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except LOAD_ERRORS as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else "empty or cut off"
        return None, f"skipped {path.name}: unreadable ({type(err).__name__}: {reason[:160]})"
    problem = _shape_problem(ckpt, step)
    if problem:
        return None, f"skipped {path.name}: {problem}"
    return ckpt, ""


def find_resumable(folder: Path) -> tuple[ResumePoint | None, list[str]]:
    """The newest step whose G and D both load with weights_only=True, plus one message per
    newer file that was passed over (truncated, empty, foreign, missing its partner).

    Older pairs are not opened: loading a large checkpoint costs seconds."""
    messages: list[str] = []
    steps = list_steps(folder)
    orphans_d = sorted(steps["D"] - steps["G"], reverse=True)
    for step in sorted(steps["G"], reverse=True):
        g_path, d_path = folder / f"G_{step}.pth", folder / f"D_{step}.pth"
        if step not in steps["D"]:
            messages.append(f"skipped {g_path.name}: its partner {d_path.name} is missing")
            continue
        g, msg = _load(g_path, step)
        if g is None:
            messages.append(msg)
            continue
        d, msg = _load(d_path, step)
        if d is None:
            messages.append(msg)
            continue
        if ("vitscfg" in g) != ("vitscfg" in d):
            messages.append(f"skipped {g_path.name}: G and D come from different writers")
            continue
        newer = [s for s in orphans_d if s > step]
        messages.extend(f"ignored D_{s}.pth: no G_{s}.pth (a save was interrupted)" for s in newer)
        return ResumePoint(step, g_path, d_path, g, d), messages
    messages.extend(f"ignored D_{s}.pth: no G_{s}.pth (a save was interrupted)" for s in orphans_d)
    return None, messages


# -- retention ---------------------------------------------------------------------------


def read_best(folder: Path) -> dict[str, Any] | None:
    """best.json as written by ``mark_best``; None when absent or unreadable."""
    try:
        data = json.loads((folder / BEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("step"), int):
        return None
    return data


def mark_best(folder: Path, step: int, metric: float) -> None:
    """Record the step with the best validation mel loss (piper selects on val_mel too);
    ``rotate`` keeps that pair."""
    if not math.isfinite(metric):
        raise ValueError(f"best val_mel must be finite, got {metric}")
    folder.mkdir(parents=True, exist_ok=True)
    payload = {"step": int(step), "val_mel": float(metric)}
    atomic_write_text(folder / BEST_FILE, json.dumps(payload) + "\n")


def rotate(folder: Path, keep: int, protect: set[int]) -> list[Path]:
    """Delete complete pairs beyond the newest ``keep`` (0 keeps all), oldest first, never
    the newest pair, a step in ``protect`` or the step in best.json. Call after the new
    pair is written, so the disk never holds fewer good pairs than asked.

    G goes before D, keeping "a G implies its D" true even if the deletion is cut short.
    Returns the deleted paths."""
    if keep < 0:
        raise ValueError(f"keep must be >= 0, got {keep}")
    if keep == 0:
        return []
    steps = list_steps(folder)
    complete = sorted(steps["G"] & steps["D"])
    if not complete:
        return []
    guarded = set(protect) | {complete[-1]}
    best = read_best(folder)
    if best is not None:
        guarded.add(int(best["step"]))
    deleted: list[Path] = []
    for step in complete[: max(len(complete) - keep, 0)]:
        if step in guarded:
            continue
        for tag in ("G", "D"):
            path = folder / f"{tag}_{step}.pth"
            path.unlink(missing_ok=True)
            deleted.append(path)
    return deleted
