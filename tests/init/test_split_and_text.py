"""The split (deterministic, stratified, never empty), the stable speaker map, and the
language guess / symbol coverage of `vitscfg init`."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from vitscfg.init.split import default_val_count, speaker_map, split
from vitscfg.init.text import clean_all, guess_language

clip_sets = st.dictionaries(
    st.text("abcdef0123", min_size=1, max_size=6),
    st.sampled_from(["", "s1", "s2", "s3"]),
    min_size=2,
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(clips=clip_sets, val=st.integers(1, 20), seed=st.integers(0, 5))
def test_split_is_a_deterministic_stratified_partition(
    clips: dict[str, str], val: int, seed: int
) -> None:
    train, valid = split(clips, val, seed)
    assert sorted(train + valid) == sorted(clips) and not set(train) & set(valid)
    assert split(clips, val, seed) == (train, valid)
    speakers = set(clips.values())
    if len(clips) > len(speakers):  # some speaker has a clip to spare
        assert 1 <= len(valid) <= val
    for speaker in speakers:  # every speaker keeps a training clip
        assert any(clips[i] == speaker for i in train)


def test_split_spreads_validation_over_speakers_and_is_stable_when_clips_are_added() -> None:
    clips = {f"{s}_{i}": s for s in ("a", "b", "c") for i in range(10)}
    _, valid = split(clips, 6, 1)
    assert sorted(i.split("_")[0] for i in valid) == ["a", "a", "b", "b", "c", "c"]
    more = {**clips, **{f"d_{i}": "d" for i in range(10)}}
    _, valid_more = split(more, 8, 1)
    assert set(valid) <= set(valid_more)


def test_default_val_count() -> None:
    assert default_val_count({"": 100}) == 4
    assert default_val_count({"": 3}) == 1
    assert default_val_count({"a": 50, "b": 50, "c": 1}) == 4


def test_speaker_map_keeps_previous_ids() -> None:
    assert speaker_map(["b", "a", "b"]) == {"a": 0, "b": 1}
    assert speaker_map(["c", "a", "b"], {"b": 0, "c": 1}) == {"b": 0, "c": 1, "a": 2}
    assert speaker_map(["a", "b"], {"a": 0, "b": 0}) == {"a": 0, "b": 1}  # clashing ids


def test_guess_language() -> None:
    assert guess_language(["The cat sat on the mat.", "It was a cold day in the town."]) == "en"
    assert guess_language(["Le chat est sur le tapis.", "Où est la gare ? Très loin."]) == "latin"
    assert guess_language(["これは日本語です。"]) == "other"


def test_symbol_coverage_reports_what_the_cleaners_would_drop() -> None:
    results = clean_all(["Hello there.", "Hello 日本.", "   "], ["english_cleaners"])
    assert results[0].text == "hello there."
    assert results[1].text is None and "日" in results[1].reason
    assert results[2].text is None and "empty" in results[2].reason
