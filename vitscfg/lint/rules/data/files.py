"""VC301-VC305: the filelists and the audio files they name exist and parse."""

from collections import Counter
from collections.abc import Iterator

from vitscfg.data.filelist import FilelistFormat
from vitscfg.data.scan import FilelistScan
from vitscfg.diagnostic import Severity
from vitscfg.lint.registry import Context, Finding, rule
from vitscfg.lint.rules.data._scan import _data, _dirs, _examples, _key, _where


@rule("VC301", "filelist-not-found", Severity.ERROR, needs_data=True)
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


@rule("VC302", "filelist-line-malformed", Severity.ERROR, needs_data=True)
def filelist_line_malformed(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Checks that every filelist line has exactly the columns the dialect's loader
    unpacks: `path|text` (single speaker), `path|sid|text` (multi-speaker vits, vits2,
    daniilrobnikov/vits2, MB-iSTFT), `path|speaker|lang|text|phones|tones|word2ph`
    (Bert-VITS2, Style-Bert-VITS2, MeloTTS), `path|spec|bert|text` (vits_chinese:
    the clip, its spectrogram and BERT features, phones), `path|feature|f0|f0nsf|sid`
    (RVC with pitch, Applio; RVC without pitch: `path|feature|sid`, in the `filelist.txt`
    their trainers write beside the experiment's config) or `path` (so-vits-svc).

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
        elif expected is FilelistFormat.RVC_F0 and found and found[0][0] == 3:
            hint = 'this list has no F0 columns (a model without pitch): set "if_f0": 0'
        elif expected is FilelistFormat.RVC and found and found[0][0] == 5:
            hint = 'this list has F0 columns (a pitch model): set "if_f0": 1'
        elif expected is FilelistFormat.PATH_SPEC_BERT_TEXT:
            hint = (
                "vits_chinese's loader reads wav|spec.pt|bert.npy|phones: write the lists "
                "with its vits_prepare.py (older lists without the spec column do not load)"
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
        yield data.pointer(key), scan


@rule("VC303", "validation-set-empty", Severity.ERROR, needs_data=True)
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
    """
    for pointer, _scan in _empty(ctx, "validation_files"):
        yield Finding(
            pointer,
            "the validation filelist is empty: evaluation runs at step 0 and "
            "crashes with no batch to evaluate",
            "move a few lines from the training filelist into the validation filelist",
        )


@rule("VC304", "training-set-empty", Severity.ERROR, needs_data=True)
def training_set_empty(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Checks that the training filelist has at least one line.

    ## Why is this bad?
    With no clip every length bucket is empty and the bucket sampler divides by zero
    before the first batch; loaders without a sampler have nothing to train on.

    ## Example
    An empty `filelists/train.txt` named by `data.training_files`.
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
    itself (config's folder, then the working directory), and the other files a line
    names for its clip (vits_chinese: the spectrogram `.spec.pt` and BERT `.npy`; RVC,
    Applio: the content features and F0 tracks `.npy`).

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
        lacking = [r for r in scan.audio if r.missing_features]
        if lacking:
            names = [f"line {r.entry.line}: {', '.join(r.missing_features)}" for r in lacking]
            yield Finding(
                pointer,
                f"{len(lacking)} of {len(scan.audio)} lines of {_key(pointer)} name feature "
                f"files that do not exist ({_examples(names)}): the loader opens them with "
                "the clip and raises FileNotFoundError when it draws that line",
                "run the fork's preparation step again (vits_chinese: vits_prepare.py; "
                "RVC, Applio: feature and F0 extraction), or fix the paths",
            )
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
