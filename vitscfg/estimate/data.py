"""Worst-case lengths from the training data: what drives memory besides the batch size.

The posterior encoder, the flow and MAS run on the full spectrogram, and the
``(B, T_spec, T_text)`` alignment tensors are quadratic, so the longest utterance the loader
can produce matters as much as segment_size (traced ljs_base, B=16 fp32: 5.4 GiB at 250
frames, 8.5 GiB at 1000). A 3-step probe with random batches never sees it (which is how
batch-size finders that try a few random batches pick a batch that fails later).

Text length: characters after the config's cleaners, mapped to ids, doubled + 1 with
``add_blank``, among lines that pass ``min_text_len..max_text_len`` (the dataset's filter).
Spectrogram frames: audio samples (resampled to the config's rate) // hop_length, from the
WAV headers, among clips the bucket sampler keeps (``low < frames <= high``), so never more
than its upper boundary. Without data: the loader's own limits (last bucket boundary,
``2 * max_text_len + 1``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vitscfg.data.buckets import VITS_BUCKETS, Buckets, buckets_for

DEFAULT_MAX_TEXT_LEN = 190  # vitscfg's DataConfig default (the reference hparams value)

#: The Bert-VITS2 family's loaders filter on the *phone column's* length in characters,
#: with their own default upper limit (None: Style-Bert-VITS2 filters nothing); the step
#: then reads one id (and one BERT feature vector) per phone.
PHONE_FILTER_MAX: dict[str, int | None] = {
    "bert-vits2": 384,
    "melotts": 300,
    "style-bert-vits2": None,
}


@dataclass(frozen=True)
class Lengths:
    text_len: int  # token ids of the longest kept utterance (after add_blank)
    spec_frames: int  # frames of the longest kept utterance
    source: str  # "data", "limits" (no data), "override"
    utterances: int = 0  # kept utterances (0: unknown), for the time per epoch
    frame_lengths: tuple[int, ...] = ()  # frames per kept utterance, for the sampler
    notes: tuple[str, ...] = ()


class DataProblem(Exception):
    """The training data cannot be used (empty filelist, nothing kept): exit 1."""


def _buckets(dialect: str | None) -> Buckets:
    return buckets_for(dialect or "vitscfg") or VITS_BUCKETS


def limit_lengths(config: Mapping[str, Any], dialect: str | None = None) -> Lengths:
    """The longest lengths the loader lets through, without reading any data."""
    data = config.get("data") or {}
    max_chars = int(data.get("max_text_len", DEFAULT_MAX_TEXT_LEN) or DEFAULT_MAX_TEXT_LEN)
    text = 2 * max_chars + 1 if data.get("add_blank", True) else max_chars
    return Lengths(text, _buckets(dialect).high, "limits")


def data_lengths(
    config: Mapping[str, Any], config_path: str | os.PathLike[str], dialect: str | None = None
) -> Lengths:
    """Worst case from the training filelist; falls back to the limits when it is not found.

    Raises DataProblem for an empty filelist or one whose utterances are all dropped.
    """
    from vitscfg.data.audio_header import AudioHeader, read_header
    from vitscfg.data.dataset import DataConfig, search_dirs
    from vitscfg.data.filelist import (
        TRAINER_FILELISTS,
        FilelistFormat,
        ParsedFilelist,
        format_for,
        read_filelist,
    )
    from vitscfg.data.scan import resolve

    data = config.get("data") or {}
    limits = limit_lengths(config, dialect)
    if dialect == "gpt-sovits":  # no filelist: the fork's own experiment folder
        from vitscfg.estimate.gpt_sovits_data import gpt_sovits_lengths

        return gpt_sovits_lengths(config, config_path, limits)
    dirs = search_dirs(config_path)
    trainer_list = TRAINER_FILELISTS.get(dialect or "")
    if trainer_list is not None:  # RVC, Applio: the list their trainer writes beside it
        beside = Path(config_path).parent / trainer_list
        if not beside.is_file():
            return _with_note(
                limits,
                f"no {trainer_list} beside the config (the fork's trainer writes it into the "
                "experiment folder): using the loader limits",
            )
        name: object = str(beside)
        found: Path | None = beside
    else:
        name = data.get("training_files")
        found = resolve(str(name), dirs) if isinstance(name, str) and name.strip() else None
    if found is None:
        return _with_note(limits, f"training filelist {name!r} not found: using the loader limits")
    try:
        cfg = DataConfig.from_mapping(data)
    except (KeyError, TypeError, ValueError) as exc:
        return _with_note(limits, f"data section incomplete ({exc}): using the loader limits")
    # The dialect's own layout: so-vits-svc's lists are one audio path per line, no text;
    # RVC's and Applio's name the clip's features and speaker, no text.
    f0 = config.get("if_f0", 1) not in (0, False)
    fmt = format_for(dialect or "vitscfg", cfg.n_speakers, f0) or cfg.filelist_format
    audio_only = fmt in (FilelistFormat.PATH, FilelistFormat.RVC_F0, FilelistFormat.RVC)
    parsed = read_filelist(found, fmt)
    if not isinstance(parsed, ParsedFilelist):
        raise DataProblem(f"training filelist {found}: {parsed.message}")
    if not parsed.entries:
        raise DataProblem(f"training filelist {found} has no utterances (it is empty)")

    buckets = _buckets(dialect)
    # A loader without a bucket sampler (so-vits-svc) drops nothing by length; it cuts
    # (cap_frames).
    unbucketed = audio_only and buckets_for(dialect or "") is None
    sr, hop = cfg.audio.sampling_rate, cfg.audio.hop_length
    kept: list[tuple[int, str]] = []  # (frames, text)
    phone_counts: dict[int, int] = {}  # index in kept -> phones (Bert-VITS2 family)
    missing = 0
    phones = fmt is FilelistFormat.BERT_VITS2
    for e in parsed.entries:
        if phones:
            if not _phones_kept(e.phones, data, dialect):
                continue
        elif not audio_only and not cfg.min_text_len <= len(e.text or "") <= cfg.max_text_len:
            continue
        path = resolve(e.path, [found.parent, *dirs])
        header = read_header(path) if path is not None else None
        if not isinstance(header, AudioHeader) or header.sample_rate <= 0:
            missing += 1
            continue
        frames = (header.frames * sr // header.sample_rate) // hop
        if (unbucketed and frames > 0) or buckets.kept(frames):
            if phones:
                phone_counts[len(kept)] = len(e.phones)
            kept.append((frames, e.text or ""))
    if not kept:
        if missing == len(parsed.entries):
            return _with_note(limits, f"no audio of {found} could be read: using the loader limits")
        raise DataProblem(
            f"training filelist {found}: no utterance is kept (text length outside "
            f"{cfg.min_text_len}..{cfg.max_text_len} or spectrogram outside the buckets "
            f"{buckets.low}..{buckets.high} frames)"
        )
    notes: list[str] = []
    frames_all = tuple(f for f, _ in kept)
    if audio_only:  # content frames only: the step reads no text
        return Lengths(limits.text_len, max(frames_all), "data", len(kept), frames_all)
    texts = [t for _, t in kept]
    if phones:  # cleaned already: the phone column is what the step reads
        lens = list(phone_counts.values())
    else:
        lens, clean_notes = _text_lengths(texts, cfg)
        notes.extend(clean_notes)
    text_len = max(lens)
    if cfg.add_blank:
        text_len = 2 * text_len + 1
    if missing:
        notes.append(f"{missing} utterance(s) without readable audio were left out")
    return Lengths(text_len, max(frames_all), "data", len(kept), frames_all, tuple(notes))


def _phones_kept(phones: tuple[str, ...], data: Mapping[str, Any], dialect: str | None) -> bool:
    """The family's filter: min_text_len <= characters of the phone column <= max_text_len
    (the fork's default maximum when the config has none)."""
    default_max = PHONE_FILTER_MAX.get(dialect or "bert-vits2", 384)
    if default_max is None:
        return True
    chars = len(" ".join(phones))
    lo, hi = int(data.get("min_text_len", 1)), int(data.get("max_text_len", default_max))
    return lo <= chars <= hi


def _text_lengths(texts: list[str], cfg: Any) -> tuple[list[int], list[str]]:
    """Token ids per text after the config's cleaners (raw characters when they fail)."""
    from vitscfg.data.symbols import VITS_SYMBOLS
    from vitscfg.data.text import TextFrontendError, clean_texts, symbols_to_ids

    try:
        cleaned = texts if cfg.cleaned_text else clean_texts(texts, cfg.text_cleaners)
        return [len(symbols_to_ids(t, VITS_SYMBOLS)) for t in cleaned], []
    except TextFrontendError as exc:
        note = f"text cleaners unavailable ({exc}); raw character counts used"
        return [len(t) for t in texts], [note]


def _with_note(lengths: Lengths, note: str) -> Lengths:
    return Lengths(
        lengths.text_len,
        lengths.spec_frames,
        lengths.source,
        lengths.utterances,
        lengths.frame_lengths,
        (*lengths.notes, note),
    )


def cap_frames(lengths: Lengths, max_frames: int | None) -> Lengths:
    """At most ``max_frames`` frames per item: a fork's loader that cuts longer items to a
    window (so-vits-svc: a random 800-frame crop; RVC: 900 content frames) never hands the
    step more, whatever the data or the bucket limits say."""
    if max_frames is None or lengths.spec_frames <= max_frames:
        return lengths
    note = (
        f"items longer than {max_frames} frames are cut to {max_frames} by the fork's "
        f"loader (the longest has {lengths.spec_frames})"
    )
    return Lengths(
        lengths.text_len,
        max_frames,
        lengths.source,
        lengths.utterances,
        tuple(min(f, max_frames) for f in lengths.frame_lengths),
        (*lengths.notes, note) if lengths.source == "data" else lengths.notes,
    )


def override(lengths: Lengths, text_len: int | None, spec_frames: int | None) -> Lengths:
    """Apply ``--max-text-len`` / ``--max-spec-frames``."""
    if text_len is None and spec_frames is None:
        return lengths
    return Lengths(
        text_len if text_len is not None else lengths.text_len,
        spec_frames if spec_frames is not None else lengths.spec_frames,
        "override",
        lengths.utterances,
        lengths.frame_lengths,
        lengths.notes,
    )
