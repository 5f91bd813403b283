"""VC230-VC236: optimiser, precision, loss and text settings that train badly
without crashing."""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterator

from vitscfg.diagnostic import Fix, Severity
from vitscfg.lint.registry import Context, Finding, rule


@rule("VC230", "implausible-learning-rate", Severity.WARNING, any_fork=True)
def implausible_learning_rate(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Warns when `train.learning_rate` is far from what VITS-family models train with
    (1e-4 to 3e-4 in every surveyed config): above 1e-3 or below 1e-6. Also warns
    when `lr_decay` below 0.999 shrinks the rate a hundredfold within `epochs`.

    ## Why is this bad?
    GAN training diverges at high rates (NaN losses after some thousand steps);
    at tiny rates nothing is learnt. Decay is applied per epoch, so an aggressive
    lr_decay freezes a long run early.

    ## Example
    ```json
    {"train": {"learning_rate": 0.01}}
    ```

    ## Use instead
    ```json
    {"train": {"learning_rate": 2e-4}}
    ```

    ## References
    docs/fields.md (learning_rate, lr_decay).
    """
    lr = ctx.number("/train/learning_rate")
    if lr is not None and 0 < lr <= 1 and (lr > 1e-3 or lr < 1e-6):
        yield Finding(
            "/train/learning_rate",
            f"learning_rate {lr:g} is {'high' if lr > 1e-3 else 'tiny'} for a VITS GAN: "
            + ("expect NaN losses or divergence" if lr > 1e-3 else "it will barely learn"),
            "start from 2e-4 (1e-4 when fine-tuning)",
        )
    decay = ctx.number("/train/lr_decay")
    epochs = ctx.number("/train/epochs")
    if decay and epochs and 0 < decay < 1 and epochs > 0:
        remaining = math.exp(epochs * math.log(decay))
        if remaining < 0.01 and decay < 0.999:
            yield Finding(
                "/train/lr_decay",
                f"lr_decay {decay:g} per epoch leaves {remaining:.1e} of the learning "
                f"rate after {epochs:g} epochs: most of the run trains at almost zero",
                "the reference uses 0.999875",
            )


@rule("VC231", "loss-weight-disabled", Severity.WARNING)
def loss_weight_disabled(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Warns when `train.c_mel` or `train.c_kl` is 0, or `c_mel` is far from the
    reference 45.

    ## Why is this bad?
    `c_mel: 0` removes the reconstruction loss (the model learns only from the
    discriminator, usually babble); `c_kl: 0` disconnects the text prior from the
    audio posterior, so inference from text alone produces noise.

    ## Example
    ```json
    {"train": {"c_kl": 0}}
    ```

    ## Use instead
    ```json
    {"train": {"c_mel": 45, "c_kl": 1.0}}
    ```
    """
    for key, role in (("c_mel", "mel reconstruction"), ("c_kl", "KL (text prior)")):
        value = ctx.number(f"/train/{key}")
        if value == 0:
            yield Finding(
                f"/train/{key}",
                f"{key} is 0: the {role} loss is switched off",
                f"the reference uses {45 if key == 'c_mel' else 1.0}",
            )
    mel = ctx.number("/train/c_mel")
    if mel and (mel < 1 or mel > 500):
        yield Finding(
            "/train/c_mel",
            f"c_mel {mel:g} is far from the reference 45: the mel loss "
            "will be drowned by (or drown) the adversarial losses",
            "use 45",
            Severity.INFO,
        )


@rule("VC232", "precision-flags", Severity.WARNING)
def precision_flags(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Checks the mixed-precision switches: `fp16_run` and `bf16_run` both true
    (vitscfg, so-vits-svc-fork: fp16 wins), and so-vits-svc's `half_type` set while
    `fp16_run` is false (it has no effect).

    ## Why is this bad?
    The config then claims a precision the trainer does not use, and memory and
    stability differ from what you planned.

    ## Example
    ```json
    {"train": {"fp16_run": true, "bf16_run": true}}
    ```

    ## Use instead
    Turn on one of them.
    """
    train = ctx.section("train")
    if (
        train.get("fp16_run") is True
        and train.get("bf16_run") is True
        and ctx.dialect in ("vitscfg", "so-vits-svc-fork")
    ):
        yield Finding(
            "/train/bf16_run",
            "fp16_run and bf16_run are both true: fp16 is used",
            "set one of them to false",
        )
    if (
        ctx.dialect == "so-vits-svc"
        and train.get("half_type") == "bf16"
        and (train.get("fp16_run") is not True)
    ):
        yield Finding(
            "/train/half_type",
            'half_type is "bf16" but fp16_run is false: training runs in fp32',
            "set fp16_run to true to use bf16",
            Severity.INFO,
        )


@rule(
    "VC233",
    "stft-loss-lists",
    Severity.ERROR,
    dialects=("mb-istft-vits", "mb-istft-vits2"),
)
def stft_loss_lists(ctx: Context) -> Iterator[Finding]:
    """## What it does
    MB-iSTFT: checks that `train.fft_sizes`, `hop_sizes` and `win_lengths` have the
    same length and each window fits its FFT.

    ## Why is this bad?
    The multi-resolution STFT loss zips the three lists; a window longer than its
    FFT is rejected by `torch.stft` in the first step (when `mb_istft_vits` is on).

    ## Example
    ```json
    {"train": {"fft_sizes": [384, 683], "hop_sizes": [30, 60, 10], "win_lengths": [150, 300, 60]}}
    ```

    ## Use instead
    Three entries in each list.

    ## References
    mbistft losses.py:65-70.
    """
    ffts = ctx.int_list("/train/fft_sizes")
    hops = ctx.int_list("/train/hop_sizes")
    wins = ctx.int_list("/train/win_lengths")
    if not ffts or not hops or not wins:
        return
    if not len(ffts) == len(hops) == len(wins):
        yield Finding(
            "/train/fft_sizes",
            f"fft_sizes, hop_sizes and win_lengths have "
            f"{len(ffts)}, {len(hops)} and {len(wins)} entries: they are used in "
            "triples",
            "give each list the same length",
        )
    for i, (fft, win) in enumerate(zip(ffts, wins, strict=False)):
        if win > fft:
            yield Finding(
                f"/train/win_lengths/{i}",
                f"window {win} is longer than FFT {fft}",
                f"use at most {fft}",
            )


_MAX_WAV = {32768.0: "16-bit PCM", 2147483648.0: "24/32-bit PCM", 1.0: "float WAV"}


@rule("VC234", "unusual-max-wav-value", Severity.WARNING)
def unusual_max_wav_value(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Warns when `data.max_wav_value` is not one of 32768 (16-bit PCM), 2147483648
    (24/32-bit PCM, read as int32) or 1.0 (float WAV).

    ## Why is this bad?
    Samples are divided by it before the STFT; any other value scales every clip
    wrongly and the only symptom is a console line "max value is ...".

    ## Example
    ```json
    {"data": {"max_wav_value": 32767}}
    ```

    ## Use instead
    ```json
    {"data": {"max_wav_value": 32768.0}}
    ```

    ## References
    vits mel_processing.py:52-55.
    """
    if ctx.dialect in ("rvc", "applio", "melotts", "piper-voice"):
        return  # these read audio as float and ignore the key
    value = ctx.number("/data/max_wav_value")
    if value is not None and value > 0 and float(value) not in _MAX_WAV:
        yield Finding(
            "/data/max_wav_value",
            f"max_wav_value {value:g} matches no sample format: every clip is scaled wrongly",
            "use 32768.0 for 16-bit WAV files",
        )


# Cleaner functions of the known forks' text/cleaners.py.
KNOWN_CLEANERS = frozenset(
    {
        "basic_cleaners",
        "transliteration_cleaners",
        "english_cleaners",
        "english_cleaners2",
        "english_cleaners3",
        "japanese_cleaners",
        "japanese_cleaners2",
        "korean_cleaners",
        "chinese_cleaners",
        "zh_ja_mixture_cleaners",
        "sanskrit_cleaners",
        "cjks_cleaners",
        "cjke_cleaners",
        "cjke_cleaners2",
        "thai_cleaners",
        "shanghainese_cleaners",
        "chinese_dialect_cleaners",
        "zh_ja_en_mixture_cleaners",
        "japanese_tokenization_cleaners",
        "japanese_accent_cleaners",
        "japanese_phrase_cleaners",
    }
)
# What vitscfg's own trainer implements (vitscfg dialect).
VITSCFG_CLEANERS = frozenset(
    {"basic_cleaners", "transliteration_cleaners", "english_cleaners", "english_cleaners2"}
)


@rule(
    "VC235",
    "unknown-text-cleaner",
    Severity.WARNING,
    dialects=("vits", "vits2", "vitscfg", "mb-istft-vits", "mb-istft-vits2"),
)
def unknown_text_cleaner(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Checks each name in `data.text_cleaners` against the cleaners the known forks
    define (an error for vitscfg's trainer, which defines basic_cleaners,
    transliteration_cleaners, english_cleaners and english_cleaners2).

    ## Why is this bad?
    The name is looked up in the fork's `text/cleaners.py`: an unknown one is an
    AttributeError on the first utterance (unless `cleaned_text` is true, when the
    cleaners are never called).

    ## Example
    ```json
    {"data": {"text_cleaners": ["english_cleaner2"]}}
    ```

    ## Use instead
    ```json
    {"data": {"text_cleaners": ["english_cleaners2"]}}
    ```

    ## Known problems
    Forks add their own cleaners (e.g. `cjke_cleaners2`); vitscfg knows those of the
    surveyed forks only, so a fork's private cleaner is reported. With
    `cleaned_text: true` the trainers never call the cleaners, and the finding is an
    info.

    ## References
    vits text/__init__.py:48-53.
    """
    names = ctx.get("/data/text_cleaners")
    if not isinstance(names, list):
        return
    known = VITSCFG_CLEANERS if ctx.dialect == "vitscfg" else KNOWN_CLEANERS
    cleaned = ctx.get("/data/cleaned_text") is True
    for i, name in enumerate(names):
        if isinstance(name, str) and name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            severity = (
                Severity.ERROR
                if ctx.dialect == "vitscfg" and not cleaned
                else (Severity.INFO if cleaned else None)
            )
            yield Finding(
                f"/data/text_cleaners/{i}",
                f"text cleaner {name!r} is not defined by "
                f"{'vitscfg' if ctx.dialect == 'vitscfg' else 'any known fork'}"
                + (
                    " (unused: cleaned_text is true)"
                    if cleaned
                    else ": AttributeError on the first utterance unless your fork adds it"
                ),
                f"did you mean {close[0]!r}?"
                if close
                else f"use one of {', '.join(sorted(known)[:4])}, ...",
                severity,
            )


@rule("VC236", "batch-size-as-string", Severity.WARNING, dialects=("so-vits-svc-fork",))
def batch_size_as_string(ctx: Context) -> Iterator[Finding]:
    """## What it does
    so-vits-svc-fork: reports `train.batch_size` written as a string of digits
    (`"16"`). The keywords `"auto"`, `"power"` and `"binsearch"` (with optional
    `-<init>-<trials>`) are the fork's batch-size finder and are fine; other strings,
    0 and negative numbers are errors of VC101/VC102.

    ## Why is this bad?
    The fork's trainer passes the string through `int()` for the finder, but its data
    module keeps the batch size only when it is a real integer and uses 1 otherwise:
    `"16"` trains at batch size 1, 16 times slower and noisier, without a word.

    ## Example
    ```json
    {"train": {"batch_size": "16"}}
    ```

    ## Use instead
    ```json
    {"train": {"batch_size": 16}}
    ```

    ## Fix safety
    `--fix` writes the number: safe, it is what the config meant.
    """
    value = ctx.get("/train/batch_size")
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
        yield Finding(
            "/train/batch_size",
            f'batch_size is the string "{value}": so-vits-svc-fork\'s data module uses '
            f"1 for any batch size that is not an integer, so this trains at batch size 1, "
            f"not {number}",
            f"write {number} (vitscfg check --fix does it)",
            fix=Fix(f"write {number}", "/train/batch_size", number),
        )
