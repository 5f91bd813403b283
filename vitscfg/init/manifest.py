"""What a previous `vitscfg init` into the same folder already did, so a second run
converts nothing new: ``.vitscfg-init.json`` records, per source file, its size and
modification time, the target it was processed for, and the outcome (kept in place,
converted to ``wavs/<id>.wav``, or dropped and why). An entry is reused only when all of
these still match and a converted file is still there."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from vitscfg.data.convert import Outcome, Target

MANIFEST = ".vitscfg-init.json"
VERSION = 1


@dataclass(frozen=True)
class Entry:
    size: int
    mtime_ns: int
    target: list[Any]  # [rate, min_samples, max_samples, trim_db]
    action: str
    samples: int
    reason: str
    output: str | None  # project-relative path of the converted file


def target_key(target: Target) -> list[Any]:
    return [target.rate, target.min_samples, target.max_samples, target.trim_db]


def load(project: Path) -> dict[str, Entry]:
    """{absolute source path: entry}; empty when absent, unreadable or another version."""
    try:
        data = json.loads((project / MANIFEST).read_text(encoding="utf-8"))
        if data.get("version") != VERSION:
            return {}
        return {src: Entry(**fields) for src, fields in data["clips"].items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def reusable(entry: Entry | None, source: Path, target: Target, project: Path) -> bool:
    if entry is None or entry.target != target_key(target):
        return False
    try:
        stat = source.stat()
    except OSError:
        return False
    if (stat.st_size, stat.st_mtime_ns) != (entry.size, entry.mtime_ns):
        return False
    return entry.output is None or (project / entry.output).is_file()


def entry_for(outcome: Outcome, target: Target, output: str | None) -> Entry | None:
    try:
        stat = outcome.source.stat()
    except OSError:
        return None
    return Entry(
        stat.st_size,
        stat.st_mtime_ns,
        target_key(target),
        outcome.action,
        outcome.samples,
        outcome.reason,
        output if outcome.action == "converted" else None,
    )


def dumps(entries: dict[str, Entry], dataset: Path) -> str:
    payload = {
        "version": VERSION,
        "dataset": str(dataset),
        "clips": {src: asdict(e) for src, e in sorted(entries.items())},
    }
    return json.dumps(payload, indent=1) + "\n"
