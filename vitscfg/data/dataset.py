"""The bundled trainer's dataset: filelist lines -> (text ids, spectrogram, wave, speaker).

Differences from the reference `TextAudioLoader` (jaywalnut310/vits data_utils.py),
each one a bug report there:

* Everything that can be checked without decoding audio is checked when the
  dataset is built, in the main process, with one message per problem kind
  naming file and line: missing audio, wrong sample rate (or `resample=True`),
  non-mono audio, `max_wav_value` that does not fit the sample format, speaker ids
  out of range, unknown text symbols. A DataLoader worker never meets them.
* Lengths for bucketing come from the audio headers, not from the file size, so
  24-bit, float or non-WAV files are bucketed right.
* Lines dropped by `min_text_len`/`max_text_len` are counted in `skip_report`.
* The spectrogram cache is keyed by the STFT parameters and written atomically
  (clips.py): a cache from other settings or a killed run is never reused.
* Relative paths (filelists and audio) resolve against the config's folder first,
  then the working directory, the order `vitscfg check` uses.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from vitscfg.data.audio_header import AudioHeader, read_header
from vitscfg.data.batch import Utterance
from vitscfg.data.clips import (
    AudioParams,
    DataError,
    LinearSpectrogram,
    SpecFn,
    cache_path,
    full_scale,
    load_cached,
    load_wave,
    save_tensor,
    scale_fits,
)
from vitscfg.data.filelist import FilelistEntry, FilelistFormat, ParsedFilelist, read_filelist
from vitscfg.data.sampler import SkipGroup, SkipReport
from vitscfg.data.scan import candidates
from vitscfg.data.symbols import VITS_SYMBOLS
from vitscfg.data.text import clean_texts, intersperse, symbols_to_ids

_EXAMPLES = 3


@dataclass(frozen=True)
class DataConfig:
    """The `data` keys the dataset reads (vits / vitscfg dialect)."""

    audio: AudioParams
    text_cleaners: tuple[str, ...] = ()
    cleaned_text: bool = False
    add_blank: bool = True
    n_speakers: int = 0
    min_text_len: int = 1
    max_text_len: int = 190

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> DataConfig:
        audio = AudioParams(
            int(data["sampling_rate"]),
            float(data["max_wav_value"]),
            int(data["filter_length"]),
            int(data["hop_length"]),
            int(data["win_length"]),
        )
        return cls(
            audio,
            tuple(data.get("text_cleaners") or ()),
            bool(data.get("cleaned_text", False)),
            bool(data.get("add_blank", True)),
            int(data.get("n_speakers", 0) or 0),
            int(data.get("min_text_len", 1)),
            int(data.get("max_text_len", 190)),
        )

    @property
    def filelist_format(self) -> FilelistFormat:
        return FilelistFormat.PATH_SID_TEXT if self.n_speakers > 0 else FilelistFormat.PATH_TEXT


def search_dirs(config_path: str | os.PathLike[str] | None) -> list[Path]:
    """Where relative paths are looked up: the config's folder, then the cwd."""
    dirs = [Path(config_path).resolve().parent] if config_path is not None else []
    return list(dict.fromkeys([*dirs, Path.cwd()]))


def resolve(name: str, dirs: Sequence[Path]) -> Path | None:
    return next((c for c in candidates(name, dirs) if c.exists()), None)


@dataclass(frozen=True)
class _Item:
    entry: FilelistEntry
    path: Path
    header: AudioHeader
    ids: tuple[int, ...]


class TextAudioDataset(Dataset[Utterance]):
    """Utterances of one filelist; see the module docstring for what is checked."""

    def __init__(
        self,
        entries: Sequence[FilelistEntry],
        config: DataConfig,
        spec_fn: SpecFn | None = None,
        *,
        source: str = "<filelist>",
        dirs: Sequence[Path] = (),
        symbols: Sequence[str] = VITS_SYMBOLS,
        cache_dir: Path | None = None,
        resample: bool = False,
        spec_tag: str = "linear",
    ) -> None:
        self.config = config
        self.audio = config.audio
        self.spec_fn = spec_fn if spec_fn is not None else LinearSpectrogram.of(config.audio)
        self.source = source
        self.cache_dir = cache_dir
        self.resample = resample
        self.cache_key = self.audio.cache_key(spec_tag)
        dirs = list(dirs) or [Path.cwd()]
        self.items, self.skip_report = self._build(entries, dirs, symbols)

    @classmethod
    def from_filelist(
        cls, filelist: str | os.PathLike[str], config: DataConfig, **kwargs: Any
    ) -> TextAudioDataset:
        """Read and check a filelist; `dirs` (keyword) also resolves the filelist."""
        dirs = list(kwargs.get("dirs") or [Path.cwd()])
        found = resolve(str(filelist), dirs)
        if found is None:
            raise DataError(
                f"filelist {filelist}: no such file (looked in {', '.join(map(str, dirs))})"
            )
        parsed = read_filelist(found, config.filelist_format)
        if not isinstance(parsed, ParsedFilelist):
            raise DataError(f"filelist {found}: {parsed.message}")
        if parsed.problems:
            shown = "; ".join(f"line {p.line}: {p.message}" for p in parsed.problems[:_EXAMPLES])
            more = len(parsed.problems) - _EXAMPLES
            raise DataError(
                f"filelist {found}: {shown}" + (f" (and {more} more)" if more > 0 else "")
            )
        kwargs.setdefault("source", str(found))
        return cls(parsed.entries, config, **kwargs)

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any],
        split: str,
        config_path: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> TextAudioDataset:
        """The `train` or `val` set of a loaded config (the whole file as a dict)."""
        key = {"train": "training_files", "val": "validation_files"}[split]
        data = config["data"]
        kwargs.setdefault("dirs", search_dirs(config_path))
        return cls.from_filelist(data[key], DataConfig.from_mapping(data), **kwargs)

    # -- checks ----------------------------------------------------------------
    def _build(
        self, entries: Sequence[FilelistEntry], dirs: list[Path], symbols: Sequence[str]
    ) -> tuple[list[_Item], SkipReport]:
        cfg, audio = self.config, self.audio
        problems: dict[str, list[str]] = {}

        def problem(kind: str, e: FilelistEntry, detail: str = "") -> None:
            problems.setdefault(kind, []).append(f"line {e.line} ({e.path}{detail})")

        found: list[tuple[FilelistEntry, Path, AudioHeader]] = []
        short: list[tuple[FilelistEntry, AudioHeader]] = []
        for e in entries:
            path = resolve(e.path, dirs)
            header = read_header(path) if path is not None else None
            if path is None:
                problem("audio file not found", e)
            elif not isinstance(header, AudioHeader):
                problem("audio file unreadable", e, f": {header.message}")  # type: ignore[union-attr]
            elif header.sample_rate != audio.sampling_rate and not self.resample:
                problem(
                    f"sample rate is not data.sampling_rate {audio.sampling_rate} Hz "
                    "(resample the files, or preprocess with --resample)",
                    e,
                    f": {header.sample_rate} Hz",
                )
            elif header.channels != 1:
                problem(
                    "audio is not mono (convert it to one channel)",
                    e,
                    f": {header.channels} channels",
                )
            elif not scale_fits(header.subtype, audio.max_wav_value):
                want = full_scale(header.subtype)
                problem(
                    f"data.max_wav_value {audio.max_wav_value:g} does not fit the sample format",
                    e,
                    f": {header.subtype} needs {want:g}",
                )
            elif cfg.n_speakers > 0 and not 0 <= (e.sid or 0) < cfg.n_speakers:
                problem(
                    f"speaker id outside [0, data.n_speakers={cfg.n_speakers})", e, f": {e.sid}"
                )
            elif not cfg.min_text_len <= len(e.text or "") <= cfg.max_text_len:
                short.append((e, header))
            else:
                found.append((e, path, header))
        if problems:
            raise DataError(_problems_message(self.source, problems))

        texts = [e.text or "" for e, _, _ in found]
        if not cfg.cleaned_text:
            texts = clean_texts(texts, cfg.text_cleaners)
        items = []
        for (e, path, header), text in zip(found, texts, strict=True):
            ids = symbols_to_ids(
                text,
                symbols,
                source=self.source,
                line=e.line,
                cleaners=None if cfg.cleaned_text else cfg.text_cleaners,
            )
            if cfg.add_blank:
                ids = intersperse(ids, 0)
            items.append(_Item(e, path, header, tuple(ids)))
        groups: tuple[SkipGroup, ...] = ()
        if short:
            groups = (
                SkipGroup(
                    f"text length outside data.min_text_len..max_text_len "
                    f"({cfg.min_text_len}..{cfg.max_text_len} characters)",
                    len(short),
                    sum(h.seconds for _, h in short),
                    tuple(e.line for e, _ in short[:5]),
                ),
            )
        return items, SkipReport(groups, len(entries))

    # -- access ------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.items)

    @property
    def lengths(self) -> list[int]:
        """Spectrogram frames per utterance (after resampling), for the bucket sampler."""
        sr = self.audio.sampling_rate
        return [
            (it.header.frames * sr // it.header.sample_rate) // self.audio.hop_length
            for it in self.items
        ]

    def describe(self, index: int) -> str:
        """`file:line path` of an utterance, for messages about a batch (NaN loss)."""
        it = self.items[index]
        return f"{self.source}:{it.entry.line} {it.entry.path}"

    def cache_file(self, index: int) -> Path:
        return cache_path(self.items[index].path, self.cache_key, self.cache_dir)

    def spectrogram(self, index: int, wave: torch.Tensor) -> tuple[torch.Tensor, bool]:
        """(spec, computed): from the cache when it fits, else computed and stored."""
        path = self.cache_file(index)
        frames = wave.shape[1] // self.audio.hop_length
        spec = load_cached(path, frames)
        if spec is not None:
            return spec, False
        with torch.no_grad():
            spec = self.spec_fn(wave).float()
        if spec.dim() != 2 or spec.shape[1] != frames:
            # The trainer crops audio at frame * hop_length: frames must line up.
            raise DataError(
                f"spec_fn returned shape {tuple(spec.shape)} for {wave.shape[1]} samples; "
                f"expected (channels, samples // hop_length = {frames})"
            )
        save_tensor(path, spec)
        return spec, True

    def __getitem__(self, index: int) -> Utterance:
        it = self.items[index]
        wave = load_wave(it.path, self.audio, it.header, self.resample)
        spec, _ = self.spectrogram(index, wave)
        text = torch.tensor(it.ids, dtype=torch.long)
        sid = torch.tensor(it.entry.sid or 0, dtype=torch.long)
        return Utterance(text, spec, wave, sid, index)


def _problems_message(source: str, problems: dict[str, list[str]]) -> str:
    parts = []
    for kind, where in problems.items():
        shown = ", ".join(where[:_EXAMPLES])
        more = f" and {len(where) - _EXAMPLES} more" if len(where) > _EXAMPLES else ""
        parts.append(f"{len(where)} utterance(s): {kind}: {shown}{more}")
    return f"{source}: " + "; ".join(parts)
