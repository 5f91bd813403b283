"""Speaker folders with sidecar transcripts: ``<speaker>/<clip>.wav`` beside
``<clip>.txt`` or ``<clip>.lab`` (the Montreal Forced Aligner's convention). Audio
directly in the dataset folder is one speaker with no name (single-speaker data)."""

from __future__ import annotations

from pathlib import Path

from vitscfg.data.importers import (
    AUDIO_SUFFIXES,
    Imported,
    Layout,
    Problem,
    Utterance,
    audio_files,
    check_duplicates,
    find_audio,
    read_text_file,
)

_SIDECARS = (".txt", ".lab")


def _folders(root: Path) -> list[tuple[str, Path]]:
    """(speaker, folder): the root itself (speaker "") and its visible sub-folders."""
    subs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    return [("", root), *((p.name, p) for p in subs)]


def _sidecars(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix.lower() in _SIDECARS and p.is_file() and not p.name.startswith(".")
    )


def looks_like(root: Path) -> bool:
    for _, folder in _folders(root):
        if any(find_audio(folder, p.stem) for p in _sidecars(folder)):
            return True
    return False


def read(root: Path) -> Imported:
    result = Imported("speaker-folders")
    for speaker, folder in _folders(root):
        sidecars = _sidecars(folder)
        audio = {p.stem: p for p in audio_files(folder)}
        if not sidecars and not audio:
            continue
        used: set[str] = set()
        for sidecar in sidecars:
            text = read_text_file(sidecar, result)
            if text is None:
                continue
            clip = audio.get(sidecar.stem)
            clip_id = f"{speaker}_{sidecar.stem}" if speaker else sidecar.stem
            if clip is None:
                result.droppable.append(
                    (
                        Problem(
                            str(sidecar),
                            f"no audio {sidecar.stem}{{{','.join(AUDIO_SUFFIXES)}}} "
                            "beside this transcript",
                        ),
                        "no audio",
                    )
                )
                continue
            used.add(sidecar.stem)
            result.utterances.append(
                Utterance(clip_id, clip, " ".join(text.split()), speaker, str(sidecar))
            )
        orphans = sorted(set(audio) - used)
        if orphans:
            result.notes.append(
                f"{len(orphans)} audio file(s) in {folder} have no .txt/.lab transcript "
                f"(e.g. {audio[orphans[0]].name}); skipped"
            )
    check_duplicates(result)
    return result


LAYOUT = Layout(
    "speaker-folders", "speaker folders with sidecar transcripts (.txt/.lab)", looks_like, read
)
