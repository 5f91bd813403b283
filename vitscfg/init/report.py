"""What `vitscfg init` prints: the problems that stopped it, or what it built (clips
kept, converted, reused and dropped with reasons, speakers, split, batch size) and the
next commands."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

SHOWN = 5  # examples listed per problem kind


@dataclass(frozen=True)
class Dropped:
    where: str  # the audio file or transcript line
    reason: str

    @property
    def kind(self) -> str:
        return self.reason.split(" (")[0].split(":")[0]


@dataclass
class Summary:
    layout: str = ""
    out: Path = Path(".")
    rate: int = 0
    template: str = ""
    language: str = ""
    cleaners: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    converted_from: Counter[str] = field(default_factory=Counter)  # source format -> clips
    reused: int = 0
    processed: int = 0
    dropped: list[Dropped] = field(default_factory=list)
    speakers: int = 1
    train: int = 0
    val: int = 0
    hours: float = 0.0
    batch_size: int = 0
    sizing: str = ""
    warnings: int = 0

    @classmethod
    def of(cls, *, dropped: list[Dropped]) -> Summary:
        return cls(dropped=dropped)


def print_problems(stream: TextIO, problems: Sequence[object], *, hint: bool) -> None:
    for problem in problems[:50]:
        stream.write(f"error: {problem}\n")
    if len(problems) > 50:
        stream.write(f"... and {len(problems) - 50} more\n")
    if hint:
        stream.write(
            "hint: --drop-bad leaves out clips without audio or with unreadable audio "
            "(and lists them) instead of stopping\n"
        )


def _dropped(stream: TextIO, dropped: Sequence[Dropped]) -> None:
    kinds: dict[str, list[Dropped]] = {}
    for item in dropped:
        kinds.setdefault(item.kind, []).append(item)
    for kind, items in sorted(kinds.items(), key=lambda kv: -len(kv[1])):
        stream.write(f"  dropped {len(items)}: {kind}\n")
        for item in items[:SHOWN]:
            stream.write(f"    {item.where}: {item.reason}\n")
        if len(items) > SHOWN:
            stream.write(f"    ... and {len(items) - SHOWN} more\n")


def _duration(hours: float) -> str:
    return f"{hours:.2f} h" if hours >= 1 else f"{hours * 60:.1f} min"


def print_summary(stream: TextIO, s: Summary) -> None:
    if not s.layout:  # nothing usable: only the drops
        _dropped(stream, s.dropped)
        return
    kept, converted = s.counts.get("kept", 0), s.counts.get("converted", 0)
    stream.write(
        f"layout {s.layout}: {kept + converted} clips ({_duration(s.hours)}) at {s.rate} Hz, "
        f"{s.speakers} speaker(s), template {s.template}, cleaners {', '.join(s.cleaners)} "
        f"(language {s.language})\n"
    )
    stream.write(
        f"  {kept} used in place, {converted} converted into {s.out}/wavs; "
        f"{s.processed} processed now, {s.reused} reused from the previous run\n"
    )
    for source, n in s.converted_from.most_common():
        stream.write(f"  converted {n}: {source} -> WAV PCM_16 {s.rate} Hz mono\n")
    _dropped(stream, s.dropped)
    stream.write(f"  split: {s.train} train, {s.val} validation\n")
    stream.write(f"  batch_size {s.batch_size} (from {s.sizing})\n")
    config = s.out / "config.json"
    stream.write(
        f"wrote {config}; `vitscfg check` passes"
        + (f" ({s.warnings} warning(s))" if s.warnings else "")
        + "\nnext:\n"
        f"  vitscfg check {config}\n"
        f"  vitscfg train {config} --run-dir runs/{s.out.name}\n"
        f"  tensorboard --logdir runs/{s.out.name}\n"
    )
