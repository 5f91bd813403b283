"""VCTK layout: per-speaker transcript folders ``txt/<speaker>/<clip>.txt`` beside
per-speaker audio folders (``wav48/``, ``wav48_silence_trimmed/``, or any folder whose
sub-folders are named after the speakers). Audio may be wav or flac and carry a mic
suffix (``p225_001_mic1.flac``): mic1 is preferred, then mic2, then no suffix."""

from __future__ import annotations

from pathlib import Path

from vitscfg.data.importers import (
    Imported,
    Layout,
    Problem,
    Utterance,
    audio_files,
    check_duplicates,
    read_text_file,
)

_MICS = ("_mic1", "_mic2", "")


def _audio_root(root: Path, speakers: list[str]) -> Path | None:
    preferred = ("wav48_silence_trimmed", "wav48", "wav", "wavs", "flac")
    folders = [root / name for name in preferred if (root / name).is_dir()]
    folders += sorted(p for p in root.iterdir() if p.is_dir() and p not in folders)
    for folder in folders:
        if folder.name == "txt":
            continue
        if any((folder / s).is_dir() for s in speakers):
            return folder
    return None


def _speakers(root: Path) -> list[str]:
    txt = root / "txt"
    if not txt.is_dir():
        return []
    return sorted(p.name for p in txt.iterdir() if p.is_dir() and not p.name.startswith("."))


def looks_like(root: Path) -> bool:
    speakers = _speakers(root)
    return bool(speakers) and _audio_root(root, speakers) is not None


def _mic_rank(stem: str) -> tuple[str, int]:
    """(clip id, preference) of an audio stem: mic1 before mic2 before no suffix."""
    for order, mic in enumerate(_MICS[:-1]):
        if stem.endswith(mic):
            return stem[: -len(mic)], order
    return stem, len(_MICS) - 1


def _by_clip(folder: Path) -> dict[str, Path]:
    """clip id -> audio file, the preferred mic winning."""
    rank: dict[str, tuple[int, Path]] = {}
    for path in audio_files(folder):
        clip, order = _mic_rank(path.stem)
        current = rank.get(clip)
        if current is None or order < current[0]:
            rank[clip] = (order, path)
    return {clip: path for clip, (_, path) in rank.items()}


def read(root: Path) -> Imported:
    result = Imported("vctk")
    speakers = _speakers(root)
    audio_root = _audio_root(root, speakers)
    if audio_root is None:
        result.problems.append(Problem(str(root), "no audio folder with speaker sub-folders"))
        return result
    for speaker in speakers:
        clips = _by_clip(audio_root / speaker)
        transcripts = sorted((root / "txt" / speaker).glob("*.txt"))
        for txt in transcripts:
            text = read_text_file(txt, result)
            if text is None:
                continue
            audio = clips.pop(txt.stem, None)
            if audio is None:
                result.droppable.append(
                    (
                        Problem(str(txt), f"no audio for {txt.stem!r} in {audio_root / speaker}"),
                        "no audio",
                    )
                )
                continue
            result.utterances.append(
                Utterance(txt.stem, audio, " ".join(text.split()), speaker, str(txt))
            )
        if clips:
            result.notes.append(
                f"{len(clips)} audio file(s) of speaker {speaker} have no transcript "
                f"(e.g. {sorted(clips.values())[0].name}); skipped"
            )
    check_duplicates(result)
    return result


LAYOUT = Layout("vctk", "VCTK (txt/<speaker>/ + wav48*/<speaker>/)", looks_like, read)
