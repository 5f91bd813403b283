"""The output folder of `vitscfg init`: where it may go, the staging folder everything is
written into, and the final swap, so a failed or interrupted run leaves the previous
project (or nothing) in place, never a half-written one."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from vitscfg.init.manifest import MANIFEST

# What init writes; anything else a user put into the project folder is carried over.
OWNED = frozenset(
    {"config.json", "filelists", "wavs", "speakers.json", "vitscfg.schema.json", MANIFEST}
)


class UsageProblem(Exception):
    """A bad path or option: exit 2."""


def check_paths(dataset: Path, out: Path) -> None:
    if not dataset.exists():
        raise UsageProblem(f"{dataset}: no such folder")
    if not dataset.is_dir():
        raise UsageProblem(f"{dataset}: not a folder (DATASET is the folder of recordings)")
    data, target = dataset.resolve(), out.resolve()
    if target == data or data in target.parents:
        raise UsageProblem(
            f"--out {out} is inside the dataset {dataset}; init never writes into the dataset "
            "(the project would also be read as data next time): choose a folder outside it"
        )
    if target in data.parents:
        raise UsageProblem(f"--out {out} contains the dataset {dataset}: choose another folder")
    if out.exists() and not out.is_dir():
        raise UsageProblem(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise UsageProblem(
            f"--out {out} is not empty and was not made by `vitscfg init`; choose a new folder "
            "(init replaces its own projects only)"
        )


def staging(out: Path) -> Path:
    """A fresh hidden folder beside ``out`` (same file system, so the swap is a rename)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out.name}.init-", dir=out.parent))


def link_or_copy(source: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, dest)
    except OSError:
        shutil.copy2(source, dest)


def _default_modes(stage: Path) -> None:
    """mkdtemp/mkstemp create 0700/0600 entries; a project gets the user's usual modes."""
    umask = os.umask(0)
    os.umask(umask)
    for path in [stage, *stage.rglob("*")]:
        if not path.is_symlink():
            os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~umask)


def swap_in(stage: Path, out: Path) -> None:
    """Replace ``out`` by ``stage``: entries of ``out`` init does not own move across
    first; the old folder is renamed aside, the new one renamed in, the old one deleted."""
    _default_modes(stage)
    if not out.exists():
        os.replace(stage, out)
        return
    for entry in out.iterdir():
        if entry.name not in OWNED:
            os.replace(entry, stage / entry.name)
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.replace(out, old / out.name)
    os.replace(stage, out)
    shutil.rmtree(old, ignore_errors=True)


def discard(stage: Path) -> None:
    shutil.rmtree(stage, ignore_errors=True)
