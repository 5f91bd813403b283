"""VC201-VC209: segment, hop, STFT and decoder geometry."""

from __future__ import annotations

import math
from collections.abc import Iterator

from vitscfg.diagnostic import Fix, Severity
from vitscfg.lint.registry import Context, Finding, rule
from vitscfg.lint.rules._keys import data_key, data_pointer

ISTFT_DIALECTS = ("mb-istft-vits", "mb-istft-vits2", "so-vits-svc-fork")
# Lower bound of the length-bucketing sampler, in spectrogram frames: shorter
# clips are dropped, so a segment of at most this many frames always fits.
BUCKET_FLOOR = {"rvc": 100, "applio": 50, "gpt-sovits": 32}
NO_BUCKETS = ("so-vits-svc", "so-vits-svc-fork", "piper-voice")


def nearest_multiples(value: int, step: int) -> tuple[int, int]:
    low = max(step, value // step * step)
    return low, low + step if low < value else low


@rule("VC201", "segment-not-multiple-of-hop", Severity.ERROR, any_fork=True)
def segment_not_multiple_of_hop(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Checks that `train.segment_size` is a whole number of `data.hop_length` hops.
    `--fix` rounds it to the nearest multiple.

    ## Why is this bad?
    The generator decodes `segment_size // hop_length` frames, producing fewer
    samples than the `segment_size`-sample slice of real audio it is compared to.
    The discriminator step survives, then the feature-matching loss subtracts maps
    of different lengths and the first generator step crashes.

    ## Example
    ```json
    {"train": {"segment_size": 8000}, "data": {"hop_length": 256}}
    ```

    ## Use instead
    ```json
    {"train": {"segment_size": 8192}, "data": {"hop_length": 256}}
    ```

    ## Fix safety
    Safe in that the run then starts: `--fix` rounds to the nearest multiple of
    `hop_length`, which changes the training crop by less than one hop (a few
    milliseconds) and memory by the same fraction.

    ## References
    vits train.py:86,165; losses.py:9-13.
    """
    segment = ctx.integer("/train/segment_size")
    hop = ctx.integer("/data/hop_length")
    if not segment or not hop or segment <= 0 or hop <= 0 or segment % hop == 0:
        return
    low, high = nearest_multiples(segment, hop)
    best = low if segment - low <= high - segment else high
    yield Finding(
        "/train/segment_size",
        f"segment_size {segment} is not a multiple of hop_length {hop} ({segment / hop:.2f} "
        "frames): generated and real segments differ in length and the first generator step "
        "crashes",
        f"use {low} ({low // hop} frames) or {high} ({high // hop} frames)",
        fix=Fix(f"round segment_size to {best}", "/train/segment_size", best),
    )


def _factorizations(target: int, stages: int) -> list[int] | None:
    """Strides for `stages` upsampling layers whose product is `target`, largest first,
    preferring the reference pattern (big early strides, 2s at the end)."""
    if stages < 1 or target < 1:
        return None
    rates: list[int] = []
    remaining = target
    for left in range(stages, 0, -1):
        if left == 1:
            rates.append(remaining)
            break
        best = None
        for candidate in range(min(remaining, 16), 1, -1):
            if remaining % candidate == 0 and remaining // candidate >= 2 ** (left - 1):
                best = candidate
                break
        if best is None:
            return None
        rates.append(best)
        remaining //= best
    return sorted(rates, reverse=True) if math.prod(rates) == target else None


@rule("VC202", "upsampling-does-not-match-hop", Severity.ERROR)
def upsampling_does_not_match_hop(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Checks that the decoder turns one latent frame into exactly `hop_length`
    samples: `prod(model.upsample_rates) == data.hop_length` for HiFi-GAN; times
    `gen_istft_hop_size` for the iSTFT decoder; times `subbands` too for the
    multi-band and multi-stream iSTFT decoders.

    ## Why is this bad?
    Otherwise the generated segment has the wrong length: its mel has a different
    frame count from the target mel and the L1 loss crashes at the first step.

    ## Example
    ```json
    {"data": {"hop_length": 256}, "model": {"upsample_rates": [8, 8, 2]}}
    ```

    ## Use instead
    ```json
    {"data": {"hop_length": 256}, "model": {"upsample_rates": [8, 8, 2, 2]}}
    ```

    ## References
    vits models.py:253-256; mbistft models.py:247-275.
    """
    rates = ctx.int_list("/model/upsample_rates")
    hop = ctx.integer("/data/hop_length")
    if not rates or not hop:
        return
    model = ctx.section("model")
    factor, formula = 1, "prod(upsample_rates)"
    if ctx.dialect in ISTFT_DIALECTS:
        kind = str(model.get("type_", ""))
        multi = (
            model.get("mb_istft_vits") is True
            or model.get("ms_istft_vits") is True
            or (kind in ("mb-istft", "ms-istft"))
        )
        single = model.get("istft_vits") is True or kind == "istft"
        istft_hop = ctx.integer("/model/gen_istft_hop_size")
        subbands = ctx.integer("/model/subbands")
        if (single or multi) and istft_hop:
            factor *= istft_hop
            formula += " x gen_istft_hop_size"
        if multi and subbands:
            factor *= subbands
            formula += " x subbands"
    total = math.prod(rates) * factor
    if total == hop:
        return
    wanted = hop // factor if hop % factor == 0 else None
    suggestion = _factorizations(wanted, len(rates)) if wanted else None
    hint = (
        f"with {len(rates)} stages use upsample_rates {suggestion}"
        f"{' (and matching upsample_kernel_sizes, e.g. 2x each rate)' if suggestion else ''}"
        if suggestion
        else f"make {formula} equal {hop}"
    )
    yield Finding(
        "/model/upsample_rates",
        f"{formula} = {total}, but data.hop_length is {hop}: the decoder outputs {total} samples "
        f"per frame instead of {hop}, so the mel loss crashes at the first step",
        hint,
    )


@rule("VC203", "segment-longer-than-shortest-clip", Severity.WARNING)
def segment_longer_than_shortest_clip(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Checks that `segment_size // hop_length` frames fit in every clip the length
    sampler admits: clips of 32 frames or fewer are dropped by the reference
    bucket sampler (100 in RVC), so a segment of up to 32 frames always fits.

    ## Why is this bad?
    For a clip shorter than the segment, the random crop start is drawn from a
    negative range: either a wrongly sized slice crashes a batch at random, hours
    in, or the crop includes zero padding and the model trains on silence.

    ## Example
    ```json
    {"train": {"segment_size": 12800}, "data": {"hop_length": 256}}
    ```
    50 frames: clips of 33-49 frames (0.5-0.8 s at 16 kHz) break it.

    ## Use instead
    Keep 32 frames (8192 samples at hop 256) or drop clips shorter than the
    segment (vitscfg check reports them when the data is found).

    ## References
    vits commons.py:57-64, train.py:70.
    """
    if ctx.dialect in NO_BUCKETS:
        return
    segment = ctx.integer("/train/segment_size")
    hop = ctx.integer("/data/hop_length")
    if not segment or not hop or hop <= 0:
        return
    frames = segment // hop
    floor = BUCKET_FLOOR.get(ctx.dialect, 32)
    if frames <= floor:
        return
    rate = ctx.number(data_pointer(ctx, "sampling_rate"))
    seconds = f" ({frames * hop / rate:.2f} s)" if rate else ""
    yield Finding(
        "/train/segment_size",
        f"segment is {frames} frames{seconds} but the sampler admits clips from {floor + 1} "
        f"frames: clips of {floor + 1}-{frames - 1} frames crash a random batch or train on "
        "padding",
        f"use segment_size {floor * hop} ({floor} frames), or make sure no clip is shorter than "
        f"{frames} frames",
    )


@rule("VC204", "window-longer-than-fft", Severity.ERROR, any_fork=True)
def window_longer_than_fft(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Checks `data.win_length <= data.filter_length`.

    ## Why is this bad?
    `torch.stft` rejects a window longer than `n_fft`: the first batch crashes.

    ## Example
    ```json
    {"data": {"filter_length": 1024, "win_length": 2048}}
    ```

    ## Use instead
    ```json
    {"data": {"filter_length": 2048, "win_length": 2048}}
    ```

    A fork that renames the key is checked under its own name (daniilrobnikov/vits2:
    `n_fft`).

    ## References
    vits mel_processing.py:66,104.
    """
    fft_key = data_key(ctx, "filter_length")
    n_fft = ctx.integer(f"/data/{fft_key}")
    win = ctx.integer("/data/win_length")
    if n_fft and win and win > n_fft:
        yield Finding(
            "/data/win_length",
            f"win_length {win} is longer than {fft_key} {n_fft}: torch.stft "
            "rejects it at the first batch",
            f"set {fft_key} to {win} or win_length to {n_fft}",
        )


@rule("VC205", "odd-stft-padding", Severity.ERROR)
def odd_stft_padding(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Checks that `filter_length - hop_length` is even.

    ## Why is this bad?
    The spectrogram functions reflect-pad `(filter_length - hop_length) / 2`
    samples per side (rounded down) with `center=False`: with an odd difference a
    segment of F hops yields F - 1 frames, the generated mel is one frame short
    of the target, and the L1 loss crashes.

    ## Example
    ```json
    {"data": {"filter_length": 1024, "hop_length": 255}}
    ```

    ## Use instead
    ```json
    {"data": {"filter_length": 1024, "hop_length": 256}}
    ```

    A fork that renames the key is checked under its own name (daniilrobnikov/vits2:
    `n_fft`).

    ## References
    vits mel_processing.py:63,101.
    """
    fft_key = data_key(ctx, "filter_length")
    n_fft = ctx.integer(f"/data/{fft_key}")
    hop = ctx.integer("/data/hop_length")
    if n_fft and hop and (n_fft - hop) % 2:
        yield Finding(
            "/data/hop_length",
            f"{fft_key} - hop_length = {n_fft - hop} is odd: segments lose one "
            "frame and the mel loss crashes",
            f"use an even hop_length with an even {fft_key} (e.g. 256 with 1024)",
        )


@rule("VC206", "hop-longer-than-window", Severity.WARNING, any_fork=True)
def hop_longer_than_window(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Checks `data.hop_length <= data.win_length`.

    ## Why is this bad?
    Windows no longer overlap: samples between them never reach the spectrogram,
    and the posterior encoder learns from incomplete audio (silent quality loss).

    ## Example
    ```json
    {"data": {"hop_length": 1024, "win_length": 512}}
    ```

    ## Use instead
    A hop of a quarter of the window (256 with 1024).
    """
    hop = ctx.integer("/data/hop_length")
    win = ctx.integer("/data/win_length")
    if hop and win and hop > win:
        yield Finding(
            "/data/hop_length",
            f"hop_length {hop} exceeds win_length {win}: samples between windows are never seen",
            f"use a hop of at most {win} (usually win_length / 4)",
        )


@rule(
    "VC207",
    "mel-posterior-needs-80-mels",
    Severity.ERROR,
    dialects=("vits2", "mb-istft-vits2"),
)
def mel_posterior_needs_80_mels(ctx: Context) -> Iterator[Finding]:
    """## What it does
    With `model.use_mel_posterior_encoder: true` (VITS2), checks
    `data.n_mel_channels == 80`.

    ## Why is this bad?
    The VITS2 trainers hard-code the posterior encoder's input width to 80 while
    the dataset computes `n_mel_channels` mels: any other value is a shape error in
    the first step.

    ## Example
    ```json
    {"data": {"n_mel_channels": 128}, "model": {"use_mel_posterior_encoder": true}}
    ```

    ## Use instead
    `n_mel_channels: 80`, or the linear-spectrogram posterior.

    ## References
    vits2 train.py:73-83.
    """
    mels = ctx.integer("/data/n_mel_channels")
    if ctx.get("/model/use_mel_posterior_encoder") is True and mels and mels != 80:
        yield Finding(
            "/data/n_mel_channels",
            f"n_mel_channels is {mels} but the mel posterior encoder's input is "
            "hard-coded to 80: shape error in the first step",
            "set n_mel_channels to 80 or use_mel_posterior_encoder to false",
        )


@rule("VC208", "mel-fmax-above-nyquist", Severity.WARNING, any_fork=True)
def mel_fmax_above_nyquist(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Checks `data.mel_fmax <= sampling_rate / 2` and `mel_fmin < mel_fmax`.

    ## Why is this bad?
    Mel filters above the Nyquist frequency are empty (librosa only warns): the
    mel loss silently ignores those bands.

    ## Example
    ```json
    {"data": {"sampling_rate": 22050, "mel_fmax": 16000}}
    ```

    ## Use instead
    `"mel_fmax": null` (= sampling_rate / 2) or a value below it.

    A fork that renames the keys is checked under its own names (daniilrobnikov/vits2:
    `sample_rate`, `f_min`, `f_max`).
    """
    rate_key = data_key(ctx, "sampling_rate")
    rate = ctx.number(f"/data/{rate_key}")
    max_key, min_key = data_key(ctx, "mel_fmax"), data_key(ctx, "mel_fmin")
    fmax = ctx.number(f"/data/{max_key}")
    fmin = ctx.number(f"/data/{min_key}")
    if rate and fmax and fmax > rate / 2:
        yield Finding(
            f"/data/{max_key}",
            f"{max_key} {fmax} is above the Nyquist frequency {rate / 2:g}: the top mel "
            "filters are empty",
            f"set {max_key} to null (= {rate_key} / 2)",
        )
    if fmax and fmin is not None and fmin >= fmax:
        yield Finding(
            f"/data/{min_key}",
            f"{min_key} {fmin} is not below {max_key} {fmax}: every mel filter is empty",
            f"use {min_key} 0",
            Severity.ERROR,
        )
