"""VC3xx: the training data on disk, checked against the config (constraints.md
C3, C6-C10, C13).

All rules share one scan per config (filelists read once, headers in parallel,
see `vitscfg.data.scan`) and report ONE finding per problem kind per filelist,
with counts and the first few lines, pointed at the filelist's config key: a
10,000-clip dataset with the wrong rate is one mistake, not 10,000.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vitscfg.data.audio_header import AudioHeader, HeaderProblem
from vitscfg.data.buckets import buckets_for, spec_frames
from vitscfg.data.filelist import NO_FILELIST_DIALECTS, FilelistFormat, format_for
from vitscfg.data.scan import AudioResult, FilelistScan, scan_filelist
from vitscfg.data.symbols import VITS_SYMBOL_SET, symbols_from_config
from vitscfg.lint.diagnostic import Severity
from vitscfg.lint.registry import Context, Finding, rule

KEYS = ("training_files", "validation_files")
_EXAMPLES = 3
# Loaders that ignore max_wav_value (rvc: float WAVs, melo: librosa) or resample
# on load (melo), so a rate or scale mismatch is harmless there (C8).
_IGNORES_MAX_WAV = frozenset({"rvc", "melotts"})
_RESAMPLES = frozenset({"melotts"})
_SCALE = {
    "PCM_16": 32768.0,
    "PCM_24": 2147483648.0,
    "PCM_32": 2147483648.0,
    "FLOAT": 1.0,
    "DOUBLE": 1.0,
}  # what scipy.io.wavfile returns, per C8


@dataclass
class _Data:
    fmt: FilelistFormat
    lists: dict[str, FilelistScan]  # only the keys present in `data`

    def each(self) -> Iterator[tuple[str, FilelistScan]]:
        for key, scan in self.lists.items():
            yield f"/data/{key}", scan


_CACHE: list[tuple[object, str, tuple[Path, ...], _Data | None]] = []


def _dirs(ctx: Context) -> tuple[Path, ...]:
    dirs = tuple(ctx.search_dirs) or (Path(ctx.doc.path).parent, Path.cwd())
    return tuple(dict.fromkeys(p.resolve() for p in dirs))


def _data(ctx: Context) -> _Data | None:
    """The scan for this config, computed on first use and shared by every rule."""
    dirs = _dirs(ctx)
    for doc, dialect, cached_dirs, cached in _CACHE:
        if doc is ctx.doc and dialect == ctx.dialect and cached_dirs == dirs:
            return cached
    result = _compute(ctx, dirs)
    _CACHE.insert(0, (ctx.doc, ctx.dialect, dirs, result))
    del _CACHE[4:]
    return result


def _compute(ctx: Context, dirs: tuple[Path, ...]) -> _Data | None:
    if not ctx.check_data or ctx.dialect in NO_FILELIST_DIALECTS:
        return None
    fmt = format_for(ctx.dialect, ctx.integer("/data/n_speakers"))
    if fmt is None:
        return None
    section = ctx.section("data")
    lists = {key: scan_filelist(section[key], fmt, dirs) for key in KEYS if key in section}
    return _Data(fmt, lists)


def _examples(items: list[str], total: int | None = None) -> str:
    shown = ", ".join(items[:_EXAMPLES])
    more = (total if total is not None else len(items)) - min(len(items), _EXAMPLES)
    return f"{shown}, and {more} more" if more > 0 else shown


def _where(results: list[AudioResult]) -> str:
    return _examples([f"line {r.entry.line}: {r.entry.path}" for r in results])


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _headers(scan: FilelistScan) -> list[tuple[AudioResult, AudioHeader]]:
    return [(r, r.header) for r in scan.audio if isinstance(r.header, AudioHeader)]


def _key(pointer: str) -> str:
    return pointer[1:].replace("/", ".")


@rule("VC301", "filelist-not-found", Severity.ERROR, needs_data=True, constraint="C13")
def filelist_not_found(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Checks that `data.training_files` and `data.validation_files` name files that
    exist and can be read as UTF-8 text.

    ## Why is this bad?
    The trainer opens both lists while building its loaders, so a wrong path stops it
    before the first step. Relative paths are resolved against the working directory
    the trainer is started from; this check tries the config's folder, then the current
    directory. melo's template ships empty strings, filled in by its preprocessing.

    ## Example
    ```json
    {"data": {"training_files": "filelists/train.txt.cleaned"}}
    ```
    with only `filelists/train.txt` on disk.

    When neither list exists the dataset is simply not on this machine (a config
    checked in CI or by the pre-commit hook): that is reported once per list as
    info and the other data rules have nothing to check. An empty path is always
    an error: no trainer can open it.

    ## References
    constraints.md C13
    """
    data = _data(ctx)
    if data is None:
        return
    absent = [s for _, s in data.each() if s.error == "no such file"]
    elsewhere = len(absent) == len(data.lists)  # nothing of the dataset is here
    dirs = ", ".join(str(d) for d in _dirs(ctx))
    for pointer, scan in data.each():
        if scan.error is None:
            continue
        if elsewhere and scan.error == "no such file":
            yield Finding(
                pointer,
                f"{_key(pointer)} {scan.value!r} was not found (searched {dirs}), so the data "
                "checks were skipped for it",
                "run vitscfg check from the folder the trainer runs in to check the "
                "filelists and audio",
                severity=Severity.INFO,
            )
            continue
        yield Finding(
            pointer,
            f"{_key(pointer)} {scan.value!r} {scan.error}: the trainer opens it "
            "while building its data loaders and stops before the first step",
            "run your fork's preprocessing to write the filelist, or set "
            f"{_key(pointer)} to its path (relative to the folder the trainer runs in)",
        )


@rule("VC302", "filelist-line-malformed", Severity.ERROR, needs_data=True, constraint="C7")
def filelist_line_malformed(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Checks that every filelist line has exactly the columns the dialect's loader
    unpacks: `path|text` (single speaker), `path|sid|text` (multi-speaker vits, vits2,
    MB-iSTFT), `path|speaker|lang|text|phones|tones|word2ph` (Bert-VITS2,
    Style-Bert-VITS2, MeloTTS) or `path` (so-vits-svc).

    ## Why is this bad?
    The loader unpacks `line.strip().split("|")` into fixed names, so one line with a
    stray `|`, a missing column or a blank line raises ValueError at start-up. A
    3-column list with `data.n_speakers: 0` also means the single-speaker script
    is about to read a multi-speaker list.

    ## Example
    ```text
    wavs/p225_001.wav|Please call Stella.
    ```
    in a list for a config with `"n_speakers": 109`.

    ## Use instead
    ```text
    wavs/p225_001.wav|0|Please call Stella.
    ```

    ## References
    constraints.md C7
    """
    data = _data(ctx)
    if data is None:
        return
    for pointer, scan in data.each():
        if scan.parsed is None or not scan.parsed.problems:
            continue
        problems = scan.parsed.problems
        total = len(problems) + len(scan.parsed.entries)
        found = Counter(p.columns for p in problems if p.columns).most_common(1)
        expected = data.fmt
        hint = "fix or remove these lines"
        if expected is FilelistFormat.PATH_SID_TEXT and found and found[0][0] == 2:
            hint = (
                "this is a single-speaker list (path|text): set data.n_speakers to 0, "
                "or add a speaker id column"
            )
        elif expected is FilelistFormat.PATH_TEXT and found and found[0][0] == 3:
            hint = (
                "this is a multi-speaker list (path|sid|text): set data.n_speakers to the "
                "number of speakers (and model.gin_channels > 0)"
            )
        lines = _examples([f"line {p.line}: {p.message}" for p in problems])
        yield Finding(
            pointer,
            f"{len(problems)} of {total} lines in {_key(pointer)} do not parse as "
            f"{expected.value} ({lines}): the loader unpacks a fixed number of columns "
            "and raises ValueError while loading",
            hint,
        )


def _empty(ctx: Context, key: str) -> Iterator[tuple[str, FilelistScan]]:
    data = _data(ctx)
    if data is None or key not in data.lists:
        return
    scan = data.lists[key]
    if scan.parsed is not None and not scan.parsed.entries and not scan.parsed.problems:
        yield f"/data/{key}", scan


@rule("VC303", "validation-set-empty", Severity.ERROR, needs_data=True, constraint="C13")
def validation_set_empty(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Checks that the validation filelist has at least one line.

    ## Why is this bad?
    The reference trainers evaluate (and save the first checkpoint) at global step 0;
    with no validation batch the evaluation's variables are never set and it fails
    there, after the data loading and alignment compile.

    ## Example
    An empty `filelists/val.txt` named by `data.validation_files`.

    ## Use instead
    Move a few lines (2-10 clips) from the training list into the validation list.

    ## References
    constraints.md C13
    """
    for pointer, _scan in _empty(ctx, "validation_files"):
        yield Finding(
            pointer,
            "the validation filelist is empty: evaluation runs at step 0 and "
            "crashes with no batch to evaluate",
            "move a few lines from the training filelist into the validation filelist",
        )


@rule("VC304", "training-set-empty", Severity.ERROR, needs_data=True, constraint="C9")
def training_set_empty(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Checks that the training filelist has at least one line.

    ## Why is this bad?
    With no clip every length bucket is empty and the bucket sampler divides by zero
    before the first batch; loaders without a sampler have nothing to train on.

    ## Example
    An empty `filelists/train.txt` named by `data.training_files`.

    ## References
    constraints.md C9
    """
    for pointer, _scan in _empty(ctx, "training_files"):
        yield Finding(
            pointer,
            "the training filelist is empty: there is nothing to train on and "
            "the bucket sampler divides by zero at start-up",
            "run your fork's preprocessing to fill the filelist, or point it at the right file",
        )


@rule("VC305", "audio-file-missing", Severity.ERROR, needs_data=True)
def audio_file_missing(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Checks that every audio path in the filelists exists, resolved like the filelist
    itself (config's folder, then the working directory).

    ## Why is this bad?
    Clips are opened lazily, so a missing file crashes training with FileNotFoundError
    only when its line is drawn, possibly hours in.

    ## Example
    ```text
    DUMMY1/LJ001-0001.wav|...
    ```
    where `DUMMY1` is the placeholder symlink the vits README asks you to create.
    """
    data = _data(ctx)
    if data is None:
        return
    for pointer, scan in data.each():
        missing = [r for r in scan.audio if r.path is None]
        if missing:
            yield Finding(
                pointer,
                f"{len(missing)} of {len(scan.audio)} audio files named in "
                f"{_key(pointer)} do not exist ({_where(missing)}): the loader raises "
                "FileNotFoundError when it first draws one, possibly hours in",
                "fix the paths, or run from the folder they are relative to "
                "(vits's DUMMY1/DUMMY2 must be symlinks to the wav folders)",
            )


def _dialect_crash(dialect: str) -> str:
    if dialect in ("vits", "vitscfg", "mb-istft-vits"):
        return (
            "vits checks the rate when it loads a clip and crashes, with a garbled "
            "'IndexError: Replacement index 2 out of range' from its own error message"
        )
    return "the loader checks the rate when it loads a clip and raises an error"


@rule("VC306", "sample-rate-mismatch", Severity.ERROR, needs_data=True, constraint="C8")
def sample_rate_mismatch(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Reads each WAV header and compares its sample rate with `data.sampling_rate`.

    ## Why is this bad?
    The reference loaders do not resample: vits compares the rates when a clip is
    loaded and crashes, and its error message is itself broken (three `{}` for two
    values), so what you see is `IndexError: Replacement index 2 out of range`.
    Forks that skip the check train at the wrong speed and pitch. MeloTTS resamples
    on load and is not checked.

    ## Example
    44.1 kHz recordings with `"sampling_rate": 22050`.

    ## Use instead
    Resample the data (`sox in.wav -r 22050 out.wav`) or set `data.sampling_rate`
    to the data's rate (and keep hop, segment and upsampling consistent).

    ## References
    constraints.md C8
    """
    data = _data(ctx)
    want = ctx.number("/data/sampling_rate")
    if data is None or want is None or ctx.dialect in _RESAMPLES:
        return
    for pointer, scan in data.each():
        wrong = [(r, h) for r, h in _headers(scan) if h.sample_rate != want]
        if not wrong:
            continue
        rates = Counter(h.sample_rate for _, h in wrong)
        got = ", ".join(f"{n} at {rate} Hz" for rate, n in rates.most_common())
        every = len(rates) == 1 and len(wrong) == len(scan.audio)
        rate = rates.most_common(1)[0][0]
        resample = f"resample the files: sox in.wav -r {want:g} out.wav"
        hint = f"set data.sampling_rate to {rate}, or {resample}" if every else resample
        yield Finding(
            pointer,
            f"{len(wrong)} of {len(scan.audio)} files in {_key(pointer)} are not "
            f"{want:g} Hz ({got}; {_where([r for r, _ in wrong])}) but data.sampling_rate "
            f"is {want:g}: {_dialect_crash(ctx.dialect)}",
            hint,
        )


@rule("VC307", "audio-not-mono", Severity.ERROR, needs_data=True, constraint="C8")
def audio_not_mono(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Reports audio files with more than one channel.

    ## Why is this bad?
    The loaders read a WAV into a 1-D array and never downmix: a stereo file becomes
    a 2-D array that breaks the STFT when the clip is first drawn. The bucket sampler
    also estimates lengths assuming 16-bit mono, so multi-channel files land in the
    wrong buckets.

    ## Example
    A stereo 22.05 kHz WAV in an LJSpeech-style filelist.

    ## Use instead
    Downmix the data: `sox in.wav -c 1 out.wav` or `ffmpeg -i in.wav -ac 1 out.wav`.

    ## References
    constraints.md C8
    """
    data = _data(ctx)
    if data is None:
        return
    for pointer, scan in data.each():
        multi = [r for r, h in _headers(scan) if h.channels != 1]
        if multi:
            yield Finding(
                pointer,
                f"{len(multi)} of {len(scan.audio)} files in {_key(pointer)} are "
                f"not mono ({_where(multi)}): the loader does not downmix and the 2-D "
                "array breaks the spectrogram when such a clip is drawn",
                "downmix to mono: sox in.wav -c 1 out.wav",
            )


@rule("VC308", "max-wav-value-mismatch", Severity.WARNING, needs_data=True, constraint="C8")
def max_wav_value_mismatch(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Compares `data.max_wav_value` with the sample format of each WAV: scipy returns
    int16 for 16-bit PCM (divide by 32768), int32 for 24- and 32-bit PCM (divide by
    2147483648) and floats for float WAVs (divide by 1.0).

    ## Why is this bad?
    The divisor maps samples to [-1, 1]. With the wrong one a 24-bit corpus is
    65536 times too loud (clipped garbage) and a float corpus ~30000 times too
    quiet; the only sign is a console print. rvc and MeloTTS ignore the value and
    are not checked.

    ## Example
    24-bit studio WAVs with `"max_wav_value": 32768.0`.

    ## Use instead
    Convert to 16-bit PCM (`sox in.wav -b 16 out.wav`), or set `data.max_wav_value`
    to the divisor of the format all files share.

    ## References
    constraints.md C8
    """
    data = _data(ctx)
    have = ctx.number("/data/max_wav_value")
    if data is None or have is None or have <= 0 or ctx.dialect in _IGNORES_MAX_WAV:
        return
    for pointer, scan in data.each():
        wav = [(r, h) for r, h in _headers(scan) if h.container == "wav"]
        wrong = [(r, h) for r, h in wav if _SCALE.get(h.subtype) != have]
        if not wrong:
            continue
        kinds = Counter(h.subtype for _, h in wrong)
        parts = []
        for subtype, n in kinds.most_common():
            scale = _SCALE.get(subtype)
            effect = (
                "an unsigned format no max_wav_value maps to [-1, 1]"
                if scale is None
                else f"read as {scale:g}-scale, so {scale / have:g}× too loud"
                if scale > have
                else f"read as {scale:g}-scale, so {have / scale:g}× too quiet"
            )
            parts.append(f"{n} {subtype} ({effect})")
        only = next(iter(kinds)) if len(kinds) == 1 and len(wrong) == len(wav) else None
        hint = (
            f"set data.max_wav_value to {_SCALE[only]}"
            if only in _SCALE
            else "convert the files to 16-bit PCM: sox in.wav -b 16 out.wav"
        )
        yield Finding(
            pointer,
            f"{len(wrong)} of {len(scan.audio)} files in {_key(pointer)} do not "
            f"match data.max_wav_value {have:g}: {'; '.join(parts)} "
            f"({_where([r for r, _ in wrong])}); training runs on wrongly scaled audio "
            "without an error",
            hint,
        )


@rule("VC309", "audio-header-unreadable", Severity.ERROR, needs_data=True, constraint="C8")
def audio_header_unreadable(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Reports audio files whose header cannot be read: truncated or corrupt WAVs and
    formats the reference loader (scipy.io.wavfile) cannot open (error), and, once,
    non-WAV files that could not be checked because soundfile is not installed (info).

    ## Why is this bad?
    A file the loader cannot decode crashes training when its line is drawn. Files
    this check could not read are not checked by any other data rule either.

    ## Example
    A 0-byte `wavs/clip_0042.wav` left by an interrupted copy.

    ## Use instead
    Re-export or delete the files; `pip install soundfile` to check FLAC/OGG/MP3.

    ## References
    constraints.md C8
    """
    data = _data(ctx)
    if data is None:
        return
    for pointer, scan in data.each():
        bad = [
            r
            for r in scan.audio
            if isinstance(r.header, HeaderProblem)
            and r.header.kind in ("unreadable", "unsupported")
        ]
        if bad:
            where = _examples([f"line {r.entry.line}: {r.entry.path}: {_why(r)}" for r in bad])
            yield Finding(
                pointer,
                f"{len(bad)} of {len(scan.audio)} audio files in {_key(pointer)} "
                f"cannot be read ({where}): the loader fails when it draws one",
                "re-export these files as 16-bit PCM WAV or remove their lines",
            )
        skipped = [
            r
            for r in scan.audio
            if isinstance(r.header, HeaderProblem) and r.header.kind == "no-reader"
        ]
        if skipped:
            yield Finding(
                pointer,
                f"{len(skipped)} of {len(scan.audio)} audio files in {_key(pointer)} "
                f"are not WAV ({_where(skipped)}) and soundfile is not installed, so their "
                "rate, channels and length were not checked",
                "pip install soundfile to check them, or convert them to WAV",
                severity=Severity.INFO,
            )


def _why(r: AudioResult) -> str:
    return r.header.message if isinstance(r.header, HeaderProblem) else ""


@rule("VC310", "speaker-id-out-of-range", Severity.ERROR, needs_data=True, constraint="C7")
def speaker_id_out_of_range(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Checks every speaker in the filelists: numeric ids must be below
    `data.n_speakers`; speaker names (Bert-VITS2, Style-Bert-VITS2, MeloTTS) must be
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

    ## References
    constraints.md C7
    """
    data = _data(ctx)
    if data is None:
        return
    n = ctx.integer("/data/n_speakers")
    spk2id = ctx.get("/data/spk2id")
    spk = ctx.get("/spk")
    for pointer, scan in data.each():
        bad: list[str] = []
        top = -1
        for e in scan.entries:
            if data.fmt is FilelistFormat.PATH_SID_TEXT and e.sid is not None and n is not None:
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
        hint = (
            f"set data.n_speakers to {top + 1}"
            if top >= (n or 0)
            else "add the missing speakers to the map (or fix the lines)"
        )
        yield Finding(
            pointer,
            f"{_n(len(bad), 'line')} in {_key(pointer)} name a speaker the model has "
            f"no embedding for ({_examples(bad)}"
            + (f"; data.n_speakers is {n}" if n is not None else "")
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
        "/data/training_files",
        [(r, h, spec_frames(h.frames, hop)) for r, h in _headers(scan)],
        hop,
    )


def _seconds(frames: int, hop: int, ctx: Context) -> str:
    rate = ctx.number("/data/sampling_rate")
    return f"{frames * hop / rate:.2f} s" if rate else f"{frames} frames"


@rule("VC311", "clips-dropped-by-length", Severity.WARNING, needs_data=True, constraint="C9")
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

    ## References
    constraints.md C9
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


@rule("VC312", "first-bucket-empty", Severity.ERROR, needs_data=True, constraint="C9")
def first_bucket_empty(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Checks that at least one training clip falls in the bucket sampler's first
    bucket (33-300 spectrogram frames; rvc: 101-200).

    ## Why is this bad?
    The sampler's clean-up loop removes empty buckets but stops before bucket 0, and
    then divides by its size: `ZeroDivisionError` before the first batch (reported as
    jaywalnut310/vits#194, p0p4k/vits2#4, VITS-fast-fine-tuning#50).

    ## Example
    A dataset of only 15-20 s clips at 22050 Hz / hop 256 (1300-1700 frames).

    ## Use instead
    Include clips of 0.4-3.5 s (at 22050 Hz / hop 256), e.g. by splitting the long ones.

    ## References
    constraints.md C9
    """
    got = _clips(ctx)
    buckets = buckets_for(ctx.dialect)
    if got is None or buckets is None or not got[1]:
        return
    pointer, clips, hop = got
    if any(buckets.in_first(f) for _, _, f in clips):
        return
    first = f"{buckets.low + 1}-{buckets.boundaries[1]} frames"
    yield Finding(
        pointer,
        f"none of the {len(clips)} readable training clips is {first} long "
        f"({_seconds(buckets.low + 1, hop, ctx)} to {_seconds(buckets.boundaries[1], hop, ctx)}"
        "): the bucket sampler's first bucket stays empty and it raises ZeroDivisionError "
        "before the first batch",
        "add clips of that length, e.g. by splitting long ones at silences",
    )


@rule("VC313", "clip-shorter-than-segment", Severity.ERROR, needs_data=True, constraint="C3")
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

    ## References
    constraints.md C3
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


@rule("VC314", "unknown-text-symbols", Severity.ERROR, needs_data=True, constraint="C10")
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

    ## References
    constraints.md C10
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


@rule("VC315", "stale-spectrogram-cache", Severity.WARNING, needs_data=True, constraint="C6")
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

    ## References
    constraints.md C6
    """
    data = _data(ctx)
    n_fft = ctx.integer("/data/filter_length")
    hop = ctx.integer("/data/hop_length")
    if data is None or not n_fft or not hop or hop <= 0:
        return
    channels = n_fft // 2 + 1
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
                f"filter_length {n_fft} gives {channels} (crash in the first step)"
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
