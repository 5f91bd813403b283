"""LJSpeech layout: ``metadata.csv`` with ``id|text|normalized text`` lines and the
audio in ``wavs/<id>.wav`` (flac or ogg accepted). The normalized column is used when
present, as LJSpeech's own recipe does; single speaker."""

from __future__ import annotations

from pathlib import Path

from vitscfg.data.importers import (
    Imported,
    Layout,
    Problem,
    Utterance,
    check_duplicates,
    find_audio,
    read_text_file,
)

METADATA = "metadata.csv"


def looks_like(root: Path) -> bool:
    return (root / METADATA).is_file()


def read(root: Path) -> Imported:
    result = Imported("ljspeech")
    meta = root / METADATA
    text = read_text_file(meta, result)
    if text is None:
        return result
    audio_dir = root / "wavs" if (root / "wavs").is_dir() else root
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{meta}:{number}"
        columns = line.split("|")
        if len(columns) < 2 or not columns[0].strip():
            result.problems.append(
                Problem(where, f"expected `id|text[|normalized]`, got {line[:60]!r}")
            )
            continue
        clip_id = columns[0].strip()
        spoken = columns[2].strip() if len(columns) > 2 and columns[2].strip() else columns[1]
        audio = find_audio(audio_dir, clip_id)
        if audio is None:
            result.droppable.append(
                (Problem(where, f"no audio for {clip_id!r} in {audio_dir}"), "no audio")
            )
            continue
        result.utterances.append(Utterance(clip_id, audio, spoken.strip(), "", where))
    check_duplicates(result)
    return result


LAYOUT = Layout("ljspeech", "LJSpeech (metadata.csv + wavs/)", looks_like, read)
