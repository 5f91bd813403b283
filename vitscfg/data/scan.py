"""One pass over a filelist and the audio it names: resolve, parse, read headers.

Every data check needs the same facts (does the file exist, what is its rate,
length, cached spectrogram shape), so they are gathered once, in parallel, and
the checks only compare numbers. Header reads are I/O bound (open, read 4 KB,
close), so threads overlap them well even on two cores.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vitscfg.data.audio_header import AudioHeader, HeaderProblem, read_header
from vitscfg.data.filelist import FilelistEntry, FilelistFormat, ParsedFilelist, read_filelist

# Threads beyond ~16 only add contention for the GIL between two cores.
_WORKERS = min(16, (os.cpu_count() or 1) * 4)


@dataclass(frozen=True)
class AudioResult:
    entry: FilelistEntry
    path: Path | None  # where the file was found, None when missing everywhere
    header: AudioHeader | HeaderProblem
    spec_shape: tuple[int, ...] | None = None  # of `x.spec.pt`, when one exists and reads
    #: The entry's other files (FilelistEntry.features) that exist nowhere.
    missing_features: tuple[str, ...] = ()


@dataclass
class FilelistScan:
    value: object  # the config value, as written
    path: Path | None = None
    error: str | None = None  # why the filelist itself could not be used
    parsed: ParsedFilelist | None = None
    audio: list[AudioResult] = field(default_factory=list)

    @property
    def entries(self) -> list[FilelistEntry]:
        return self.parsed.entries if self.parsed else []


def candidates(name: str, search_dirs: Sequence[Path]) -> list[Path]:
    """Where a relative path may live: trainers resolve against the working
    directory, users usually run from the folder holding the config."""
    p = Path(name)
    if p.is_absolute() or not search_dirs:
        return [p]
    return [d / p for d in search_dirs]


def resolve(name: str, search_dirs: Sequence[Path]) -> Path | None:
    for c in candidates(name, search_dirs):
        if c.exists():
            return c
    return None


def scan_filelist(
    value: object,
    fmt: FilelistFormat,
    search_dirs: Sequence[Path],
    *,
    read_audio: bool = True,
    spec_cache: bool = True,
) -> FilelistScan:
    scan = FilelistScan(value)
    if not isinstance(value, str):
        scan.error = "is not a path string"
        return scan
    if not value.strip():
        scan.error = "is an empty string"
        return scan
    found = resolve(value, search_dirs)
    if found is None:
        scan.error = "no such file"
        return scan
    scan.path = found
    parsed = read_filelist(found, fmt)
    if not isinstance(parsed, ParsedFilelist):
        scan.error = parsed.message
        return scan
    scan.parsed = parsed
    if read_audio and parsed.entries:
        dirs = list(search_dirs)
        # Imported here: concurrent.futures pulls in logging, and `check --no-data`
        # (the pre-commit path) should not pay for it.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(_WORKERS) as pool:
            scan.audio = list(pool.map(lambda e: _probe(e, dirs, spec_cache), parsed.entries))
    return scan


def _probe(entry: FilelistEntry, search_dirs: list[Path], spec_cache: bool) -> AudioResult:
    result: AudioHeader | HeaderProblem = HeaderProblem("missing", "no such file")
    missing = tuple(f for f in entry.features if resolve(f, search_dirs) is None)
    for candidate in candidates(entry.path, search_dirs):
        result = read_header(candidate)
        if isinstance(result, HeaderProblem) and result.kind == "missing":
            continue
        shape = None
        if spec_cache and isinstance(result, AudioHeader) and ".wav" in candidate.name:
            # The loaders derive the cache name with filename.replace(".wav", ".spec.pt"),
            # unless the filelist names it (vits_chinese: its first feature column).
            named = [f for f in entry.features if f.endswith(".pt")]
            spec = (
                resolve(named[0], search_dirs)
                if named
                else candidate.with_name(candidate.name.replace(".wav", ".spec.pt"))
            )
            if spec is not None and spec.is_file():
                # Imported here: zipfile and pickle cost ~9 ms per `check` process, and
                # most datasets have no cache files.
                from vitscfg.data.spec_cache import read_tensor_shape

                got = read_tensor_shape(spec)
                shape = got if isinstance(got, tuple) else None
        return AudioResult(entry, candidate, result, shape, missing)
    return AudioResult(entry, None, result, missing_features=missing)
