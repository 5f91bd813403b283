"""VC220-VC223: speakers and conditioning."""

from __future__ import annotations

from collections.abc import Iterator

from vitscfg.diagnostic import Severity
from vitscfg.lint.registry import Context, Finding, rule

_SVC = ("so-vits-svc", "so-vits-svc-fork")
# Forks whose speaker embedding and conditioning layers are built as in vits.
_VITS_EMBEDDING = ("vits", "vits-chinese", "vits2", "mb-istft-vits", "mb-istft-vits2", "vitscfg")


def _n_speakers(ctx: Context) -> tuple[int | None, str]:
    if ctx.dialect in _SVC:
        return ctx.integer("/model/n_speakers"), "/model/n_speakers"
    if ctx.dialect in ("rvc", "applio"):
        return ctx.integer("/model/spk_embed_dim"), "/model/spk_embed_dim"
    return ctx.integer("/data/n_speakers"), "/data/n_speakers"


@rule(
    "VC220",
    "single-speaker-embedding",
    Severity.ERROR,
    dialects=("vits", "vits-chinese", "vits2", "vitscfg", "mb-istft-vits", "mb-istft-vits2"),
)
def single_speaker_embedding(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Reports `data.n_speakers: 1` in VITS and VITS2.

    ## Why is this bad?
    The speaker embedding is created only for `n_speakers > 1` but used whenever
    `n_speakers > 0`: an AttributeError in the first forward pass. (Bert-VITS2,
    Style-Bert-VITS2 and MeloTTS create it for 1, so it is valid there.)

    ## Example
    ```json
    {"data": {"n_speakers": 1}}
    ```

    ## Use instead
    ```json
    {"data": {"n_speakers": 0}}
    ```

    ## Known problems
    Some fine-tuning forks (VITS-fast-fine-tuning) build the embedding for
    `n_speakers >= 1`, where 1 is valid; they are detected as vits and get this error.

    ## References
    vits models.py:456-462.
    """
    if ctx.integer("/data/n_speakers") == 1:
        yield Finding(
            "/data/n_speakers",
            "n_speakers is 1: the speaker embedding is built only for more than one "
            "speaker but used for any positive count: AttributeError in the first step",
            "use 0 for a single-speaker model",
        )


@rule("VC221", "speakers-without-conditioning", Severity.ERROR)
def speakers_without_conditioning(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Checks that a multi-speaker model has `model.gin_channels > 0`, and warns when
    a single-speaker model sets it.

    ## Why is this bad?
    The conditioning convolutions exist only when `gin_channels != 0` but are
    applied whenever a speaker vector exists: a crash in the first step. The other
    way round, conditioning layers built for no speaker never receive gradients,
    which DDP (multi-GPU) rejects at the second step.

    ## Example
    ```json
    {"data": {"n_speakers": 109}, "model": {"gin_channels": 0}}
    ```

    ## Use instead
    ```json
    {"data": {"n_speakers": 109}, "model": {"gin_channels": 256}}
    ```

    ## References
    vits modules.py:126-153, train.py:99.
    """
    if ctx.dialect == "piper-voice":
        return
    speakers, pointer = _n_speakers(ctx)
    gin = ctx.integer("/model/gin_channels")
    has_gin = "gin_channels" in ctx.section("model")
    if speakers and speakers > 0 and (gin == 0 or (not has_gin and ctx.dialect in _VITS_EMBEDDING)):
        yield Finding(
            "/model/gin_channels" if has_gin else "/model",
            f"{speakers} speakers but gin_channels is {gin or 0}: the speaker vector "
            "meets layers that were never built: crash in the first step",
            "set model.gin_channels to 256",
        )
    elif speakers == 0 and gin and ctx.dialect in ("vits", "vits-chinese", "vits2", "vitscfg"):
        yield Finding(
            "/model/gin_channels",
            f"gin_channels is {gin} for a single-speaker model: those layers get no "
            "gradient, which multi-GPU (DDP) training rejects",
            "set gin_channels to 0 (or n_speakers to the speaker count)",
            Severity.WARNING,
        )


@rule("VC222", "speaker-id-out-of-range", Severity.ERROR, any_fork=True)
def speaker_id_out_of_range(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Checks that every id in `data.spk2id` (Bert-VITS2, MeloTTS), the `spk` map
    (so-vits-svc) and the top-level `speakers` map (VITS fine-tuning forks) is below
    the speaker count, and that a speaker list or map has no more entries than the
    speaker count (its entries are numbered 0, 1, 2, ... by the preprocessing).

    ## Why is this bad?
    Ids index an embedding table of `n_speakers` rows: an id past the end is a CUDA
    device-side assert whenever that speaker is drawn, at random, hours in. A list of
    N speakers for fewer rows puts the last ones past the end. A map with more names
    than rows but every id in range makes several speakers share one row: no crash,
    but their voices blend (warning).

    ## Example
    ```json
    {"data": {"n_speakers": 2, "spk2id": {"alice": 0, "bob": 1, "carol": 2}}}
    ```

    ## Use instead
    ```json
    {"data": {"n_speakers": 3, "spk2id": {"alice": 0, "bob": 1, "carol": 2}}}
    ```

    ## Known problems
    The filelists decide which ids are really drawn; with data checks on, VC310
    reports ids in the filelists themselves.
    """
    speakers, count_pointer = _n_speakers(ctx)
    if not speakers or speakers < 0:
        return
    count_key = count_pointer.strip("/").replace("/", ".")
    for pointer in ("/data/spk2id", "/spk", "/speakers", "/data/speakers"):
        table = ctx.get(pointer)
        if isinstance(table, list) and len(table) > speakers:
            yield Finding(
                pointer,
                f"{len(table)} speakers listed but {count_key} is {speakers}: speakers "
                f"{speakers}..{len(table) - 1} get ids past the end of the speaker "
                "embedding (index out of range when one is drawn)",
                f"raise {count_key} to {len(table)}",
            )
            continue
        if not isinstance(table, dict):
            continue
        bad = {
            k: v
            for k, v in table.items()
            if isinstance(v, int) and not isinstance(v, bool) and not 0 <= v < speakers
        }
        if bad:
            first = ", ".join(f"{k}={v}" for k, v in list(bad.items())[:3])
            yield Finding(
                pointer,
                f"{len(bad)} speaker id(s) outside 0..{speakers - 1} ({first}): the "
                "embedding lookup fails when such a speaker is drawn",
                f"raise {count_key} to {max(bad.values()) + 1} or renumber the speakers",
            )
        elif len(table) > speakers:
            ids = [v for v in table.values() if isinstance(v, int) and not isinstance(v, bool)]
            shared = len(ids) == len(table)
            yield Finding(
                pointer,
                f"{len(table)} speakers in the map but {count_key} is {speakers}"
                + (
                    ": every id is in range, so several speakers share one embedding row "
                    "and their voices blend"
                    if shared
                    else ": the ones numbered from "
                    f"{speakers} on are past the end of the speaker embedding"
                ),
                f"raise {count_key} to {len(table)}",
                Severity.WARNING if shared else None,
            )


_SSL_DIMS = {
    "vec768l12": 768,
    "dphubert": 768,
    "wavlmbase+": 768,
    "vec256l9": 256,
    "hubertsoft": 256,
    "whisper-ppg": 1024,
    "cnhubertlarge": 1024,
    "whisper-ppg-large": 1280,
}


@rule("VC223", "content-encoder-width", Severity.ERROR, dialects=("so-vits-svc",))
def content_encoder_width(ctx: Context) -> Iterator[Finding]:
    """## What it does
    so-vits-svc 4.1: checks that `model.ssl_dim` matches the width of the content
    encoder named by `model.speech_encoder`, and that `train.vol_aug` comes with
    `model.vol_embedding`.

    ## Why is this bad?
    A width mismatch is a convolution shape error in the first step. Volume
    augmentation without the volume embedding does nothing (warning).

    ## Example
    ```json
    {"model": {"speech_encoder": "vec256l9", "ssl_dim": 768}}
    ```

    ## Use instead
    ```json
    {"model": {"speech_encoder": "vec256l9", "ssl_dim": 256}}
    ```

    ## References
    so-vits-svc 4.1 preprocess_flist_config.py:96-110.
    """
    encoder = ctx.get("/model/speech_encoder")
    ssl = ctx.integer("/model/ssl_dim")
    width = _SSL_DIMS.get(encoder) if isinstance(encoder, str) else None
    if width and ssl and ssl != width:
        yield Finding(
            "/model/ssl_dim",
            f"ssl_dim {ssl} but {encoder} produces {width}-wide features: shape error "
            "in the first step",
            f"set ssl_dim to {width}",
        )
    if ctx.get("/train/vol_aug") is True and ctx.get("/model/vol_embedding") is not True:
        yield Finding(
            "/train/vol_aug",
            "vol_aug is on but model.vol_embedding is off: the augmentation has no effect",
            "set model.vol_embedding to true (and re-run preprocessing)",
            Severity.WARNING,
        )
