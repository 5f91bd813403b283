"""A full disk while saving a checkpoint: said plainly (which file, how many bytes were
needed and are free, which step a rerun resumes from), and checked before writing when
the free space is clearly too small, so no time is spent serialising into a wall."""

from __future__ import annotations

import shutil
from pathlib import Path

from vitscfg.train import TrainError


class CheckpointSpaceError(TrainError):
    """No space left on device for a checkpoint pair; the previous pair is kept."""


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def free_bytes(folder: Path) -> int | None:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def _message(folder: Path, path: Path, needed: int, free: int | None, resume: int | None) -> str:
    free_text = "unknown" if free is None else _size(free)
    then = (
        f"a rerun of `vitscfg train` resumes from step {resume} (the previous pair is kept)"
        if resume is not None
        else "there is no earlier checkpoint, so a rerun starts from step 0"
    )
    return (
        f"No space left on device writing {path}: this checkpoint pair needs "
        f"{_size(needed)}, {free_text} free in {folder}; {then}. Free some space (or lower "
        "train.keep_ckpts, or use a smaller model.discriminator_width) and rerun"
    )


def ensure_room(folder: Path, path: Path, needed: int, resume: int | None) -> None:
    """Raise CheckpointSpaceError before writing when the folder's file system has less
    free space than the pair needs (the temp files take exactly that much)."""
    free = free_bytes(folder)
    if free is not None and free < needed:
        raise CheckpointSpaceError(_message(folder, path, needed, free, resume))


def no_space(folder: Path, path: Path, needed: int, resume: int | None) -> CheckpointSpaceError:
    """The error for an ENOSPC raised while writing ``path``."""
    return CheckpointSpaceError(_message(folder, path, needed, free_bytes(folder), resume))
