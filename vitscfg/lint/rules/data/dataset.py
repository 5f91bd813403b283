"""VC310-VC315: the dataset as the trainer will see it (speakers, clip lengths,
buckets, symbols, spectrogram caches)."""

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from vitscfg.data.audio_header import AudioHeader
from vitscfg.data.buckets import buckets_for, spec_frames
from vitscfg.data.filelist import FilelistFormat
from vitscfg.data.scan import AudioResult
from vitscfg.data.symbols import VITS_SYMBOL_SET, symbols_from_config
from vitscfg.diagnostic import Severity
from vitscfg.lint.registry import Context, Finding, rule
from vitscfg.lint.rules._keys import data_key, data_pointer
from vitscfg.lint.rules.data._scan import _data, _examples, _headers, _key, _n, _where


@rule("VC310", "speaker-id-out-of-range", Severity.ERROR, needs_data=True)
def speaker_id_out_of_range(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Checks every speaker in the filelists: numeric ids must be below
    `data.n_speakers` (RVC, Applio: `model.spk_embed_dim`); speaker names (Bert-VITS2, Style-Bert-VITS2, MeloTTS) must be
    keys of `data.spk2id` with an id below `n_speakers`; so-vits-svc speaker folders
    must be keys of the top-level `spk` map.

    ## Why is this bad?
    Ids index `nn.Embedding(n_speakers, gin_channels)`: an out-of-range id is a CUDA
    device-side assert when that line is drawn, possibly hours in. An unknown name or
    folder is a KeyError at the same moment.

    ## Example
    `wavs/p376_001.wav|108|...` with `"n_speakers": 108`.

    ## Use instead
    Set `data.n_speakers` to the largest id + 1 (`"n_speakers": 109`).
    """
    data = _data(ctx)
    if data is None:
        return
    rvc = data.fmt in (FilelistFormat.RVC_F0, FilelistFormat.RVC)
    # RVC's ids index its speaker table, emb_g(model.spk_embed_dim).
    n = ctx.integer("/model/spk_embed_dim" if rvc else "/data/n_speakers")
    spk2id = ctx.get("/data/spk2id")
    spk = ctx.get("/spk")
    for pointer, scan in data.each():
        bad: list[str] = []
        top = -1
        for e in scan.entries:
            if (
                (data.fmt is FilelistFormat.PATH_SID_TEXT or rvc)
                and e.sid is not None
                and n is not None
            ):
                top = max(top, e.sid)
                if not 0 <= e.sid < n:
                    bad.append(f"line {e.line}: id {e.sid}")
            elif data.fmt is FilelistFormat.BERT_VITS2 and isinstance(spk2id, dict) and e.speaker:
                sid = spk2id.get(e.speaker)
                if not isinstance(sid, int):
                    bad.append(f"line {e.line}: {e.speaker!r} not in data.spk2id")
                elif n is not None and not 0 <= sid < n:
                    bad.append(f"line {e.line}: {e.speaker!r} → id {sid}")
            elif data.fmt is FilelistFormat.PATH and isinstance(spk, dict):
                parts = e.path.replace("\\", "/").split("/")
                if len(parts) >= 2 and parts[-2] not in spk:
                    bad.append(f"line {e.line}: folder {parts[-2]!r} not in spk")
        if not bad:
            continue
        size_key = "model.spk_embed_dim" if rvc else "data.n_speakers"
        hint = (
            f"set {size_key} to {top + 1}"
            if top >= (n or 0)
            else "add the missing speakers to the map (or fix the lines)"
        )
        yield Finding(
            pointer,
            f"{_n(len(bad), 'line')} in {_key(pointer)} name a speaker the model has "
            f"no embedding for ({_examples(bad)}"
            + (f"; {size_key} is {n}" if n is not None else "")
            + "): training crashes (CUDA device-side assert or KeyError) when one is drawn",
            hint,
        )


def _clips(ctx: Context) -> tuple[str, list[tuple[AudioResult, AudioHeader, int]], int] | None:
    """Training clips with their spectrogram frames, for the bucket rules."""
    data = _data(ctx)
    hop = ctx.integer("/data/hop_length")
    if data is None or not hop or hop <= 0 or "training_files" not in data.lists:
        return None
    scan = data.lists["training_files"]
    return (
        data.pointer("training_files"),
        [(r, h, spec_frames(h.frames, hop)) for r, h in _headers(scan)],
        hop,
    )


def _seconds(frames: int, hop: int, ctx: Context) -> str:
    rate = ctx.number(data_pointer(ctx, "sampling_rate"))
    return f"{frames * hop / rate:.2f} s" if rate else f"{frames} frames"


@rule("VC311", "clips-dropped-by-length", Severity.WARNING, needs_data=True)
def clips_dropped_by_length(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Counts training clips outside the length window of the reference bucket sampler:
    clips of at most 32 or more than 1000 spectrogram frames (`samples // hop_length`;
    rvc: 100 and 900) are dropped without a message.

    ## Why is this bad?
    At 22050 Hz / hop 256 that is everything under 0.37 s or over 11.6 s. A corpus
    of long, unsegmented recordings can lose most of its audio and still "train".

    ## Example
    Audiobook chapters cut into 20-40 s pieces.

    ## Use instead
    Split long recordings at silences into 2-10 s clips; drop or merge clips that
    are too short.
    """
    got = _clips(ctx)
    buckets = buckets_for(ctx.dialect)
    if got is None or buckets is None:
        return
    pointer, clips, hop = got
    short = [(r, h) for r, h, f in clips if f <= buckets.low]
    long = [(r, h) for r, h, f in clips if f > buckets.high]
    if not short and not long:
        return
    lost = sum(h.seconds for _, h in short + long)
    total = sum(h.seconds for _, h, _f in clips) or 1.0
    window = (
        f"{buckets.low + 1}-{buckets.high} frames, i.e. {_seconds(buckets.low + 1, hop, ctx)}"
        f" to {_seconds(buckets.high, hop, ctx)}"
    )
    yield Finding(
        pointer,
        f"{len(short) + len(long)} of {len(clips)} training clips ({lost:.1f} s of "
        f"{total:.1f} s of audio, {100 * lost / total:.0f}%) are outside the bucket "
        f"sampler's window of {window} and are silently dropped: {len(short)} too short, "
        f"{len(long)} too long ({_where([r for r, _ in (long + short)])})",
        "split long clips at silences into pieces under "
        f"{_seconds(buckets.high, hop, ctx)}, and drop or merge clips under "
        f"{_seconds(buckets.low + 1, hop, ctx)}",
    )


@rule("VC312", "first-bucket-empty", Severity.ERROR, needs_data=True)
def first_bucket_empty(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Checks that at least one training clip falls in the bucket sampler's first
    bucket (33-300 spectrogram frames; rvc: 101-200).

    ## Why is this bad?
    The sampler's clean-up loop removes empty buckets but stops before bucket 0, and
    then divides by its size: `ZeroDivisionError` before the first batch (reported as
    jaywalnut310/vits#194, p0p4k/vits2#4, VITS-fast-fine-tuning#50).

    `vitscfg train`'s sampler drops every empty bucket: an info in the vitscfg dialect.

    ## Example
    A dataset of only 15-20 s clips at 22050 Hz / hop 256 (1300-1700 frames).

    ## Use instead
    Include clips of 0.4-3.5 s (at 22050 Hz / hop 256), e.g. by splitting the long ones.
    """
    got = _clips(ctx)
    buckets = buckets_for(ctx.dialect)
    if got is None or buckets is None or not got[1]:
        return
    pointer, clips, hop = got
    if any(buckets.in_first(f) for _, _, f in clips):
        return
    first = f"{buckets.low + 1}-{buckets.boundaries[1]} frames"
    span = f"{_seconds(buckets.low + 1, hop, ctx)} to {_seconds(buckets.boundaries[1], hop, ctx)}"
    if ctx.dialect == "vitscfg":  # the bundled sampler drops every empty bucket
        yield Finding(
            pointer,
            f"none of the {len(clips)} readable training clips is {first} long ({span}): "
            "`vitscfg train` copes (its sampler drops empty buckets), but the reference "
            "trainers raise ZeroDivisionError before the first batch",
            "add clips of that length if this config will also train in a reference fork",
            severity=Severity.INFO,
        )
        return
    yield Finding(
        pointer,
        f"none of the {len(clips)} readable training clips is {first} long ({span}): the "
        "bucket sampler's first bucket stays empty and it raises ZeroDivisionError "
        "before the first batch",
        "add clips of that length, e.g. by splitting long ones at silences",
    )


@rule("VC313", "clip-shorter-than-segment", Severity.ERROR, needs_data=True)
def clip_shorter_than_segment(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Finds training clips that the bucket sampler keeps but that are shorter than
    `train.segment_size // data.hop_length` frames.

    ## Why is this bad?
    `rand_slice_segments` draws a start in `[0, clip_frames - segment_frames]`; for a
    shorter clip the range is negative, so the slice has the wrong size (an
    intermittent crash, hours in) or starts at 0 and trains on zero padding. Only
    segments of at most 32 frames (the sampler's floor) are safe for every clip.

    ## Example
    `"segment_size": 12800` with hop 256 (50 frames) and 0.6 s clips at 16 kHz.

    ## Use instead
    `"segment_size": 8192` (32 × 256), or remove the short clips.
    """
    got = _clips(ctx)
    segment = ctx.integer("/train/segment_size")
    buckets = buckets_for(ctx.dialect)
    if got is None or segment is None or buckets is None:
        return
    pointer, clips, hop = got
    need = segment // hop
    short = [(r, f) for r, _h, f in clips if buckets.kept(f) and f < need]
    if not short:
        return
    yield Finding(
        pointer,
        f"{len(short)} training clips are shorter than train.segment_size "
        f"({segment} = {need} frames) but long enough for the sampler to keep "
        f"({_examples([f'line {r.entry.line}: {f} frames' for r, f in short])}): random "
        "segment slicing then crashes intermittently or trains on zero padding",
        f"set train.segment_size to {buckets.low * hop} ({buckets.low} × hop_length), or "
        f"remove clips shorter than {_seconds(need, hop, ctx)}",
    )


@rule("VC314", "unknown-text-symbols", Severity.ERROR, needs_data=True)
def unknown_text_symbols(ctx: Context) -> Iterator[Finding]:
    """## What it does
    With `data.cleaned_text: true`, checks that every character of the filelist text
    is in the symbol set: the config's top-level `symbols` list (CjangCjengh, SayaSS,
    vfft) or, for vits, the reference English/IPA set of jaywalnut310/vits
    `text/symbols.py`.

    ## Why is this bad?
    The loader maps each character straight to an id. vits raises KeyError on the
    first unknown one when that line is loaded; the CjangCjengh forks drop it silently
    (a warning here), so those sounds are never learned. Typical causes: raw text
    with `cleaned_text: true`, or text cleaned by another cleaner.

    ## Example
    `wavs/a.wav|Hello world 2024!` with `"cleaned_text": true` (digits are not symbols).

    ## Use instead
    Run the fork's `preprocess.py` with the config's `text_cleaners` and use the
    `.cleaned` lists, or set `"cleaned_text": false`.
    """
    data = _data(ctx)
    if data is None or ctx.get("/data/cleaned_text") is not True:
        return
    custom = symbols_from_config(ctx.get("/symbols"))
    if custom is not None:
        symbols, severity = custom, Severity.WARNING
        effect = "this fork drops unknown symbols silently, so those sounds are never learned"
        hint = (
            "clean the text with the cleaner matching `symbols`, or add the characters to `symbols`"
        )
    elif ctx.dialect in ("vits", "vitscfg"):
        symbols, severity = VITS_SYMBOL_SET, Severity.ERROR
        effect = "the loader raises KeyError on the first one when it loads such a line"
        hint = (
            "clean the text with the config's text_cleaners (vits: python preprocess.py "
            "--text_cleaners english_cleaners2) or set data.cleaned_text to false"
        )
    else:
        return
    for pointer, scan in data.each():
        unknown: Counter[str] = Counter()
        lines: list[str] = []
        for e in scan.entries:
            odd = [c for c in e.text or "" if c not in symbols]
            if odd:
                unknown.update(odd)
                lines.append(f"line {e.line}")
        if unknown:
            chars = ", ".join(f"{c!r} ×{n}" for c, n in unknown.most_common(8))
            yield Finding(
                pointer,
                f"{_n(len(lines), 'line')} of {_key(pointer)} contain characters that are "
                f"not in the symbol set ({chars}; {_examples(lines)}), although "
                f"data.cleaned_text is true: {effect}",
                hint,
                severity=severity,
            )


@rule("VC315", "stale-spectrogram-cache", Severity.WARNING, needs_data=True)
def stale_spectrogram_cache(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Reads the shape of each cached `x.spec.pt` next to `x.wav` (without torch) and
    compares it with the config: `filter_length // 2 + 1` channels and
    `samples // hop_length` frames (±1).

    ## Why is this bad?
    The loaders write the cache on first use and reuse it forever, whatever the
    current STFT settings. After a `filter_length` change the old channels meet a
    differently sized encoder (crash in the first step, an error here); after a
    `hop_length` or `win_length` change the audio and spectrogram crops no longer
    line up (silent misalignment, a warning).

    ## Example
    `.spec.pt` files from a 22050 Hz / 1024-point run, kept after switching the
    config to 44100 Hz / 2048.

    ## Use instead
    Delete the caches: `find wavs -name '*.spec.pt' -delete`.

    daniilrobnikov/vits2 reads `n_fft`, and with `use_mel: true` caches `n_mels` mel
    bins instead; vits_chinese names each cache file in its filelist.
    """
    data = _data(ctx)
    fft_key = data_key(ctx, "filter_length")
    n_fft = ctx.integer(f"/data/{fft_key}")
    hop = ctx.integer("/data/hop_length")
    if data is None or not n_fft or not hop or hop <= 0:
        return
    channels, made_by = n_fft // 2 + 1, f"{fft_key} {n_fft}"
    mels = ctx.integer(data_pointer(ctx, "n_mel_channels"))
    if ctx.dialect == "vits2-daniilrobnikov" and ctx.get("/data/use_mel") is True and mels:
        channels, made_by = mels, f"use_mel with n_mels {mels}"
    for pointer, scan in data.each():
        cached = [
            (r, r.spec_shape)
            for r in scan.audio
            if r.spec_shape is not None and isinstance(r.header, AudioHeader)
        ]
        wrong_c = [r for r, s in cached if len(s) != 2 or s[0] != channels]
        wrong_f = [
            r
            for r, s in cached
            if len(s) == 2
            and s[0] == channels
            and isinstance(r.header, AudioHeader)
            and abs(s[1] - spec_frames(r.header.frames, hop)) > 1
        ]
        if not wrong_c and not wrong_f:
            continue
        parts = []
        if wrong_c:
            seen = Counter(r.spec_shape[0] for r in wrong_c if r.spec_shape)
            parts.append(
                f"{len(wrong_c)} have {', '.join(map(str, seen))} channels where "
                f"{made_by} gives {channels} (crash in the first step)"
            )
        if wrong_f:
            parts.append(
                f"{len(wrong_f)} have frame counts that do not match hop_length {hop} "
                "(audio and spectrogram crops silently misaligned)"
            )
        folder = Path(scan.audio[0].path or ".").parent if scan.audio else Path(".")
        yield Finding(
            pointer,
            f"{len(wrong_c) + len(wrong_f)} of {len(cached)} cached spectrograms "
            f"for {_key(pointer)} are stale: {'; '.join(parts)} ({_where(wrong_c + wrong_f)}); "
            "the loader reuses them without checking",
            f"delete the caches: find {folder} -name '*.spec.pt' -delete",
            severity=Severity.ERROR if wrong_c else None,
        )
