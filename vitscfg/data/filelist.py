"""Filelists: one utterance per line, columns separated by `|`.

The column layout is fixed by the fork's loader, which unpacks
`line.strip().split("|")` into a fixed number of names (vits `data_utils.py:51`,
bv2 `data_utils.py`): a line with another count, a blank line included, crashes
the loader at start-up. So every line is checked against one exact layout, and
each problem is returned with its 1-based line number instead of raised; the
trainer's dataset uses the same parser.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field
from pathlib import Path


class FilelistFormat(enum.Enum):
    """The column layouts seen in VITS-family filelists (value: the layout as text)."""

    PATH_TEXT = "path|text"
    PATH_SID_TEXT = "path|sid|text"
    BERT_VITS2 = "path|speaker|lang|text|phones|tones|word2ph"
    # vits_chinese (PlayVoice): the clip, its spectrogram and BERT prosody features
    # (written by vits_prepare.py, opened by the loader as given), space-separated phones.
    PATH_SPEC_BERT_TEXT = "path|spec|bert|text"
    # RVC / Applio (written by their trainers' preparation step): the clip, its content
    # features (.npy), coarse and fine F0 (.npy), the speaker id; without F0: 3 columns.
    RVC_F0 = "path|feature|f0|f0nsf|sid"
    RVC = "path|feature|sid"
    PATH = "path"

    @property
    def columns(self) -> int:
        return self.value.count("|") + 1


# Dialects whose config names no filelist: rvc, applio and gpt-sovits build their lists
# in the trainer (applio's train.py sets data.training_files to the experiment's
# filelist.txt, written by its preparing step), piper's voice config is for inference only.
NO_FILELIST_DIALECTS = frozenset({"rvc", "applio", "gpt-sovits", "piper-voice"})
#: Of those, the trainers that write their list into the experiment folder, beside the
#: config.json they copy there (RVC's WebUI: logs/<exp>/; Applio: logs/<model>/): its name.
TRAINER_FILELISTS = {"rvc": "filelist.txt", "applio": "filelist.txt"}

# train.py reads path|text, train_ms.py path|sid|text (daniilrobnikov/vits2 included).
_SID_DIALECTS = frozenset(
    {"vits", "vits2", "vits2-daniilrobnikov", "mb-istft-vits", "mb-istft-vits2", "vitscfg"}
)
_BV2_DIALECTS = frozenset({"bert-vits2", "style-bert-vits2", "melotts"})
_SVC_DIALECTS = frozenset({"so-vits-svc", "so-vits-svc-fork"})


def format_for(dialect: str, n_speakers: int | None, f0: bool = True) -> FilelistFormat | None:
    """The layout a dialect's loader expects, or None when it reads no filelist.

    vits-style trainers pick the loader by script (train.py vs train_ms.py); the
    config tells us which one fits through `data.n_speakers` (> 0: a speaker column).
    RVC's list has F0 columns for a pitch model (``f0``: its `if_f0`); Applio's always."""
    if dialect == "applio" or (dialect == "rvc" and f0):
        return FilelistFormat.RVC_F0
    if dialect == "rvc":
        return FilelistFormat.RVC
    if dialect in _SID_DIALECTS:
        return FilelistFormat.PATH_SID_TEXT if (n_speakers or 0) > 0 else FilelistFormat.PATH_TEXT
    if dialect in _BV2_DIALECTS:
        return FilelistFormat.BERT_VITS2
    if dialect in _SVC_DIALECTS:
        return FilelistFormat.PATH
    if dialect == "vits-chinese":  # its train.py has one loader, single-speaker
        return FilelistFormat.PATH_SPEC_BERT_TEXT
    return None


@dataclass(frozen=True)
class FilelistEntry:
    line: int
    path: str
    text: str | None = None
    sid: int | None = None  # PATH_SID_TEXT
    speaker: str | None = None  # BERT_VITS2: a name looked up in data.spk2id
    language: str | None = None
    phones: tuple[str, ...] = ()
    tones: tuple[str, ...] = ()
    word2ph: tuple[str, ...] = ()
    #: Other files the loader opens for this item, as written (PATH_SPEC_BERT_TEXT: the
    #: spectrogram and the BERT features).
    features: tuple[str, ...] = ()


@dataclass(frozen=True)
class LineProblem:
    line: int
    message: str
    columns: int  # how many `|`-separated columns the line had


@dataclass
class ParsedFilelist:
    format: FilelistFormat
    entries: list[FilelistEntry] = field(default_factory=list)
    problems: list[LineProblem] = field(default_factory=list)


def parse_filelist(text: str, fmt: FilelistFormat) -> ParsedFilelist:
    """Parse filelist text the way the fork's loader splits it. Never raises."""
    result = ParsedFilelist(fmt)
    # str.splitlines would also split on \x0b, \x1c, \u2028 ...; file iteration
    # (what the loaders do) splits on \n only, with universal newlines for \r\n.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()  # the final newline ends the last line; it does not start a new one
    for number, raw in enumerate(lines, 1):
        columns = raw.strip().split("|")
        if columns == [""]:
            result.problems.append(LineProblem(number, "blank line", 0))
            continue
        if len(columns) != fmt.columns:
            result.problems.append(
                LineProblem(
                    number,
                    f"{len(columns)} columns, expected {fmt.columns} ({fmt.value})",
                    len(columns),
                )
            )
            continue
        entry = _entry(number, columns, fmt)
        if isinstance(entry, LineProblem):
            result.problems.append(entry)
        else:
            result.entries.append(entry)
    return result


def _entry(number: int, columns: list[str], fmt: FilelistFormat) -> FilelistEntry | LineProblem:
    path = columns[0]
    if not path.strip():
        return LineProblem(number, "empty audio path", len(columns))
    if fmt is FilelistFormat.PATH:
        return FilelistEntry(number, path)
    if fmt is FilelistFormat.PATH_TEXT:
        return FilelistEntry(number, path, text=columns[1])
    if fmt is FilelistFormat.PATH_SID_TEXT:
        try:
            sid = int(columns[1])  # what the loader does: int() accepts " 3" too
        except ValueError:
            return LineProblem(number, f"speaker id {columns[1]!r} is not an integer", len(columns))
        return FilelistEntry(number, path, text=columns[2], sid=sid)
    if fmt is FilelistFormat.PATH_SPEC_BERT_TEXT:
        return FilelistEntry(number, path, text=columns[3], features=(columns[1], columns[2]))
    if fmt in (FilelistFormat.RVC_F0, FilelistFormat.RVC):
        try:
            sid = int(columns[-1])  # the loader's get_sid: int(sid)
        except ValueError:
            return LineProblem(
                number, f"speaker id {columns[-1]!r} is not an integer", len(columns)
            )
        return FilelistEntry(number, path, sid=sid, features=tuple(columns[1:-1]))
    _, speaker, language, text, phones, tones, word2ph = columns
    return FilelistEntry(
        number,
        path,
        text=text,
        speaker=speaker,
        language=language,
        phones=tuple(phones.split()),
        tones=tuple(tones.split()),
        word2ph=tuple(word2ph.split()),
    )


@dataclass(frozen=True)
class FilelistError:
    """Why a filelist could not be read at all."""

    message: str


def read_filelist(
    path: str | os.PathLike[str], fmt: FilelistFormat
) -> ParsedFilelist | FilelistError:
    """Read and parse one filelist as UTF-8 (the loaders open it with encoding='utf-8')."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        return FilelistError("no such file")
    except IsADirectoryError:
        return FilelistError("is a directory, not a filelist")
    except OSError as exc:
        return FilelistError(f"cannot be read ({exc.strerror or exc})")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return FilelistError(f"is not valid UTF-8 (byte {exc.start}); the loader opens it as UTF-8")
    return parse_filelist(text, fmt)
