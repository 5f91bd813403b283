"""Existing VITS filelists: ``path|text`` (one speaker) or ``path|sid|text`` lines in
``*.txt``/``*.csv`` files of the dataset folder (train and val lists are merged and
split again). Audio paths resolve against the filelist's folder, then the dataset
folder, as the trainers resolve them against their working directory."""

from __future__ import annotations

from pathlib import Path

from vitscfg.data.importers import (
    AUDIO_SUFFIXES,
    Imported,
    Layout,
    Problem,
    Utterance,
    check_duplicates,
    read_text_file,
)

_LIST_SUFFIXES = (".txt", ".csv", ".cleaned")


def _first_line(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            return handle.readline(4096).decode("utf-8", "replace")
    except OSError:
        return ""


def _is_filelist(path: Path) -> bool:
    head = _first_line(path).split("|")[0].strip().lower()
    return "|" in _first_line(path) and head.endswith(AUDIO_SUFFIXES)


def filelists(root: Path) -> list[Path]:
    return sorted(
        p
        for p in root.iterdir()
        if p.is_file() and p.name.endswith(_LIST_SUFFIXES) and _is_filelist(p)
    )


def looks_like(root: Path) -> bool:
    return bool(filelists(root))


def _resolve(name: str, listfile: Path, root: Path) -> Path | None:
    path = Path(name)
    if path.is_absolute():
        return path if path.is_file() else None
    for base in (listfile.parent, root):
        if (base / path).is_file():
            return base / path
    return None


def _clip_id(name: str, speaker: str) -> str:
    stem = Path(name).stem
    return f"{speaker}_{stem}" if speaker else stem


def read(root: Path) -> Imported:
    result = Imported("filelists")
    for listfile in filelists(root):
        text = read_text_file(listfile, result)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            where = f"{listfile}:{number}"
            columns = line.split("|")
            if len(columns) == 2:
                name, speaker, spoken = columns[0], "", columns[1]
            elif len(columns) == 3 and columns[1].strip().isdigit():
                name, speaker, spoken = columns[0], columns[1].strip(), columns[2]
            else:
                result.problems.append(
                    Problem(where, f"expected `path|text` or `path|sid|text`, got {line[:60]!r}")
                )
                continue
            audio = _resolve(name.strip(), listfile, root)
            if audio is None:
                result.droppable.append(
                    (Problem(where, f"audio {name.strip()!r} not found"), "no audio")
                )
                continue
            result.utterances.append(
                Utterance(_clip_id(name.strip(), speaker), audio, spoken.strip(), speaker, where)
            )
    check_duplicates(result)
    return result


LAYOUT = Layout("filelists", "VITS filelists (path|text or path|sid|text)", looks_like, read)
