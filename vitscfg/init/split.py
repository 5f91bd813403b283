"""Speaker ids and the validation split of `vitscfg init`.

The speaker map is stable: ids already in a previous ``speakers.json`` keep their
number, new speakers get the next ones in name order, so a second run (with more data)
does not reshuffle the ids a trained model's speaker embedding learned.

The split is deterministic and stratified: each speaker's clips are ordered by a hash of
(seed, clip id), not by a random generator's draws, so adding clips to one speaker does
not move the other speakers' validation clips; the validation set is never empty while
there are two clips, and every speaker keeps at least one training clip.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence


def speaker_map(
    speakers: Sequence[str], previous: Mapping[str, int] | None = None
) -> dict[str, int]:
    """{speaker name: id}, ids 0..n-1 for fresh data; ``previous`` ids are kept."""
    result = dict(previous or {})
    if len(set(result.values())) != len(result):
        result = {}  # a hand-edited map with clashing ids: start over
    next_id = max(result.values(), default=-1) + 1
    for name in sorted(set(speakers)):
        if name not in result:
            result[name] = next_id
            next_id += 1
    return {name: result[name] for name in sorted(result, key=lambda n: result[n])}


def default_val_count(per_speaker: Mapping[str, int]) -> int:
    """A few utterances per speaker: 4 for one speaker, 2 each for several."""
    each = 4 if len(per_speaker) <= 1 else 2
    return sum(min(each, n // 2) for n in per_speaker.values()) or 1


def _order(clip_id: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{clip_id}".encode()).hexdigest()


def split(clips: Mapping[str, str], val: int, seed: int) -> tuple[list[str], list[str]]:
    """(train ids, val ids) for {clip id: speaker}. ``val`` clips are spread over the
    speakers in proportion, at least one per speaker while ``val`` allows, never a
    speaker's last training clip. Ids come back sorted within each list."""
    by_speaker: dict[str, list[str]] = {}
    for clip_id, speaker in sorted(clips.items()):
        by_speaker.setdefault(speaker, []).append(clip_id)
    for ids in by_speaker.values():
        ids.sort(key=lambda i: _order(i, seed))
    total = len(clips)
    want = max(1, min(val, total - len(by_speaker))) if total >= 2 else 0
    quota = {s: 0 for s in by_speaker}
    # Round-robin over speakers, largest first, so the split follows the data's balance.
    speakers = sorted(by_speaker, key=lambda s: (-len(by_speaker[s]), s))
    given = 0
    while given < want:
        progressed = False
        for speaker in speakers:
            if given >= want:
                break
            if quota[speaker] < len(by_speaker[speaker]) - 1:
                quota[speaker] += 1
                given += 1
                progressed = True
        if not progressed:
            break
    val_ids = sorted(i for s, ids in by_speaker.items() for i in ids[: quota[s]])
    chosen = set(val_ids)
    return sorted(i for i in clips if i not in chosen), val_ids
