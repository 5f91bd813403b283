"""VC316: silent or near-silent clips, judged from a few windows of samples."""

from collections.abc import Iterator

from vitscfg.data.peak import peak_dbfs
from vitscfg.diagnostic import Severity
from vitscfg.lint.registry import Context, Finding, rule
from vitscfg.lint.rules.data._scan import _data, _headers, _key, _where

#: Loudest sampled window below this is near-silent: speech recorded at a sane level
#: peaks at -20..-1 dBFS; -50 dBFS is the noise floor of a quiet room.
NEAR_SILENT_DBFS = -50.0


@rule("VC316", "silent-audio", Severity.WARNING, needs_data=True)
def silent_audio(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Reads 8 short windows spread over each WAV of the filelists (16-bit, 24-bit,
    32-bit and float; about 16 KB per file, no numpy or torch) and reports clips whose
    loudest window peaks below -50 dBFS: digital silence or a near-silent recording.

    ## Why is this bad?
    No trainer checks loudness. A silent clip still has a transcript, so the model
    is taught that this text sounds like nothing: the alignment of such pairs is
    meaningless, the mel loss rewards silence, and a dataset with many of them (a
    dead microphone channel, a failed export, clips cut inside pauses) synthesizes
    mumbling or silence. Training runs without a sign.

    ## Example
    `wavs/0042.wav` exported from an empty track: every sample is 0.

    ## Use instead
    Re-export or re-record the clips, or remove their lines from the filelists.

    ## Known problems
    Only 8 windows of 1024 frames are read per file, so a long clip that is silent
    except between those windows passes, and a clip that is loud only between them
    is reported. Non-WAV files are not judged.
    """
    data = _data(ctx)
    if data is None:
        return
    for pointer, scan in data.each():
        checked = 0
        silent, quiet = [], []
        for result, header in _headers(scan):
            if result.path is None:
                continue
            level = peak_dbfs(result.path, header)
            if level is None:
                continue
            checked += 1
            if level == float("-inf"):
                silent.append(result)
            elif level < NEAR_SILENT_DBFS:
                quiet.append(result)
        if not silent and not quiet:
            continue
        parts = []
        if silent:
            parts.append(f"{len(silent)} digitally silent")
        if quiet:
            parts.append(f"{len(quiet)} peaking below {NEAR_SILENT_DBFS:g} dBFS")
        yield Finding(
            pointer,
            f"{len(silent) + len(quiet)} of {checked} clips in {_key(pointer)} are silent or "
            f"near-silent ({', '.join(parts)}: {_where(silent + quiet)}): the model learns "
            "that their text sounds like nothing",
            "re-export or re-record these clips, or remove their lines",
        )
