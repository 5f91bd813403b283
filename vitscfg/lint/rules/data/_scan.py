"""What the VC3xx rules share: one scan of the filelists and audio headers per
config (cached on the Context), and the helpers that word their findings."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vitscfg.data.audio_header import AudioHeader, HeaderProblem
from vitscfg.data.filelist import (
    NO_FILELIST_DIALECTS,
    TRAINER_FILELISTS,
    FilelistFormat,
    format_for,
)
from vitscfg.data.scan import AudioResult, FilelistScan, scan_filelist
from vitscfg.lint.registry import Context

KEYS = ("training_files", "validation_files")
#: Where findings on a list the trainer writes itself (TRAINER_FILELISTS) stand: the
#: config names no such list, so they point at its `data` section.
TRAINER_LIST_POINTER = "/data"
_EXAMPLES = 3
# Loaders that ignore max_wav_value (rvc: float WAVs, melo: librosa) or resample
# on load (melo), so a rate or scale mismatch is harmless there.
_IGNORES_MAX_WAV = frozenset({"rvc", "applio", "melotts"})
_RESAMPLES = frozenset({"melotts"})
_SCALE = {
    "PCM_16": 32768.0,
    "PCM_24": 2147483648.0,
    "PCM_32": 2147483648.0,
    "FLOAT": 1.0,
    "DOUBLE": 1.0,
}  # the full scale of what scipy.io.wavfile returns per sample format


@dataclass
class _Data:
    fmt: FilelistFormat
    lists: dict[str, FilelistScan]  # only the keys present in `data`
    #: The training list is the one the trainer writes beside the config (rvc, applio).
    trainer_list: bool = False

    def pointer(self, key: str) -> str:
        return TRAINER_LIST_POINTER if self.trainer_list else f"/data/{key}"

    def each(self) -> Iterator[tuple[str, FilelistScan]]:
        for key, scan in self.lists.items():
            yield self.pointer(key), scan


def _dirs(ctx: Context) -> tuple[Path, ...]:
    dirs = tuple(ctx.search_dirs) or (Path(ctx.doc.path).parent, Path.cwd())
    return tuple(dict.fromkeys(p.resolve() for p in dirs))


def _data(ctx: Context) -> _Data | None:
    """The scan for this config, computed on first use and shared by every rule."""
    if "data-scan" not in ctx.cache:
        ctx.cache["data-scan"] = _compute(ctx, _dirs(ctx))
    result: _Data | None = ctx.cache["data-scan"]
    return result


def _compute(ctx: Context, dirs: tuple[Path, ...]) -> _Data | None:
    if ctx.check_data and ctx.dialect in TRAINER_FILELISTS:
        return _trainer_list(ctx, dirs)
    if not ctx.check_data or ctx.dialect in NO_FILELIST_DIALECTS:
        return None
    fmt = format_for(ctx.dialect, ctx.integer("/data/n_speakers"))
    if fmt is None:
        return None
    section = ctx.section("data")
    lists = {key: scan_filelist(section[key], fmt, dirs) for key in KEYS if key in section}
    return _Data(fmt, lists)


def _trainer_list(ctx: Context, dirs: tuple[Path, ...]) -> _Data | None:
    """The list RVC's WebUI / Applio write into the experiment folder, when this config is
    the copy they keep there; nothing to check for a template elsewhere."""
    path = Path(ctx.doc.path).parent / TRAINER_FILELISTS[ctx.dialect]
    if not path.is_file():
        return None
    f0 = ctx.get("/if_f0", 1) not in (0, False)  # the rvc schema's default: a pitch model
    fmt = format_for(ctx.dialect, None, f0)
    if fmt is None:
        return None
    # Its paths are absolute (RVC) or relative to the fork's folder (Applio): tried
    # against the search folders, as any list.
    return _Data(fmt, {"training_files": scan_filelist(str(path), fmt, dirs)}, True)


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
    if pointer == TRAINER_LIST_POINTER:
        return "the trainer's filelist.txt beside the config"
    return pointer[1:].replace("/", ".")


def _why(r: AudioResult) -> str:
    return r.header.message if isinstance(r.header, HeaderProblem) else ""
