"""Dataset layouts `vitscfg init` reads: each reader turns a folder into utterances
(audio path, text, speaker) and problems; nothing here opens audio or writes a file.

Readers live in one module each (ljspeech, vctk, sidecar, filelists) and register in
``LAYOUTS``; ``detect`` picks the first whose ``looks_like`` accepts the folder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

AUDIO_SUFFIXES: tuple[str, ...] = (".wav", ".flac", ".ogg")


@dataclass(frozen=True)
class Utterance:
    """One recording and its transcript. ``id`` is unique in the dataset and names the
    converted file; ``speaker`` is "" for single-speaker layouts."""

    id: str
    audio: Path
    text: str
    speaker: str = ""
    where: str = ""  # file[:line] the transcript came from, for messages


@dataclass(frozen=True)
class Problem:
    """Something in the dataset that stops the import: where (file[:line]) and what."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


@dataclass
class Imported:
    layout: str
    utterances: list[Utterance] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # Per-clip problems the user may choose to drop instead (--drop-bad).
    droppable: list[tuple[Problem, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Layout:
    name: str
    title: str
    looks_like: Callable[[Path], bool]
    read: Callable[[Path], Imported]


def read_text_file(path: Path, result: Imported) -> str | None:
    """The file as text (UTF-8, a BOM allowed); None plus a problem naming the line and
    column of the first byte that is not UTF-8."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        result.problems.append(
            Problem(
                f"{path}:{line}:{column}",
                f"byte 0x{data[exc.start]:02x} is not UTF-8; re-save the file as UTF-8 "
                "(e.g. `iconv -f latin1 -t utf-8`)",
            )
        )
        return None


def audio_files(folder: Path) -> list[Path]:
    """Audio files directly in ``folder``, sorted (hidden files skipped)."""
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix.lower() in AUDIO_SUFFIXES and not p.name.startswith(".") and p.is_file()
    )


def find_audio(folder: Path, stem: str) -> Path | None:
    """``folder/stem.wav`` (or .flac, .ogg, any case)."""
    for suffix in AUDIO_SUFFIXES:
        for candidate in (folder / f"{stem}{suffix}", folder / f"{stem}{suffix.upper()}"):
            if candidate.is_file():
                return candidate
    return None


def check_duplicates(result: Imported) -> None:
    """Duplicate ids are a problem: two clips would write the same converted file."""
    seen: dict[str, Utterance] = {}
    for utt in result.utterances:
        first = seen.get(utt.id)
        if first is not None:
            result.problems.append(
                Problem(
                    utt.where,
                    f"duplicate id {utt.id!r} (first at {first.where}); ids must be unique",
                )
            )
        else:
            seen[utt.id] = utt


def layouts() -> dict[str, Layout]:
    """The readers, in detection order."""
    from vitscfg.data.importers import filelists, ljspeech, sidecar, vctk

    return {
        layout.name: layout
        for layout in (ljspeech.LAYOUT, vctk.LAYOUT, filelists.LAYOUT, sidecar.LAYOUT)
    }


def detect(root: Path) -> Layout | None:
    for layout in layouts().values():
        if layout.looks_like(root):
            return layout
    return None
