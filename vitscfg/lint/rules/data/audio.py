"""VC306-VC309: audio headers against the config (rate, channels, sample format)."""

from collections import Counter
from collections.abc import Iterator

from vitscfg.data.audio_header import HeaderProblem
from vitscfg.diagnostic import Severity
from vitscfg.lint.registry import Context, Finding, rule
from vitscfg.lint.rules._keys import data_key
from vitscfg.lint.rules.data._scan import (
    _IGNORES_MAX_WAV,
    _RESAMPLES,
    _SCALE,
    _data,
    _examples,
    _headers,
    _key,
    _where,
    _why,
)


def _dialect_crash(dialect: str) -> str:
    # vits_chinese copied vits's loader with its broken message.
    if dialect in ("vits", "vitscfg", "mb-istft-vits", "vits-chinese"):
        return (
            "vits checks the rate when it loads a clip and crashes, with a garbled "
            "'IndexError: Replacement index 2 out of range' from its own error message"
        )
    return "the loader checks the rate when it loads a clip and raises an error"


@rule("VC306", "sample-rate-mismatch", Severity.ERROR, needs_data=True)
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
    """
    data = _data(ctx)
    rate_key = data_key(ctx, "sampling_rate")  # daniilrobnikov/vits2: sample_rate
    want = ctx.number(f"/data/{rate_key}")
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
        hint = f"set data.{rate_key} to {rate}, or {resample}" if every else resample
        yield Finding(
            pointer,
            f"{len(wrong)} of {len(scan.audio)} files in {_key(pointer)} are not "
            f"{want:g} Hz ({got}; {_where([r for r, _ in wrong])}) but data.{rate_key} "
            f"is {want:g}: {_dialect_crash(ctx.dialect)}",
            hint,
        )


@rule("VC307", "audio-not-mono", Severity.ERROR, needs_data=True)
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


@rule("VC308", "max-wav-value-mismatch", Severity.WARNING, needs_data=True)
def max_wav_value_mismatch(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Compares `data.max_wav_value` with the sample format of each WAV: scipy returns
    int16 for 16-bit PCM (divide by 32768), int32 for 24- and 32-bit PCM (divide by
    2147483648) and floats for float WAVs (divide by 1.0).

    ## Why is this bad?
    The divisor maps samples to [-1, 1]. With the wrong one a 24-bit corpus is
    65536 times too loud (clipped garbage) and a float corpus ~30000 times too
    quiet; the only sign is a console print. rvc and MeloTTS ignore the value and
    are not checked. In the vitscfg dialect this is an error: vitscfg's own trainer
    refuses such a dataset before the first step (it checks every header against
    `max_wav_value`), and `check` says what `train` will do.

    ## Example
    24-bit studio WAVs with `"max_wav_value": 32768.0`.

    ## Use instead
    Convert to 16-bit PCM (`sox in.wav -b 16 out.wav`), or set `data.max_wav_value`
    to the divisor of the format all files share.
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
            f"({_where([r for r, _ in wrong])}); "
            + (
                "vitscfg train refuses this dataset before the first step"
                if ctx.dialect == "vitscfg"
                else "training runs on wrongly scaled audio without an error"
            ),
            hint,
            # vitscfg's trainer stops on it (data/dataset.py); the reference forks do not.
            Severity.ERROR if ctx.dialect == "vitscfg" else None,
        )


@rule("VC309", "audio-header-unreadable", Severity.ERROR, needs_data=True)
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
