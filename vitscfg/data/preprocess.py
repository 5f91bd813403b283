"""`vitscfg preprocess config.json`: clean the text and build the spectrogram caches once.

The reference computes each spectrogram inside a DataLoader worker the first
time a clip is drawn, so the first epoch is slow and a kill leaves truncated
caches. Preprocessing does all of it up front, through the same
dataset code the trainer uses (same checks, same cache names, atomic writes),
and ends with a summary: utterances, seconds of audio, what is skipped and why.

Text: when `data.cleaned_text` is false and cleaners are set, the cleaned text
is written to `<filelist>.cleaned` (the reference preprocess.py's name, same
columns). Pointing the config at those files with `cleaned_text: true` saves
cleaning at every start, which matters for the phonemizing `english_cleaners2`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vitscfg.atomic import atomic_write_text
from vitscfg.data.buckets import VITS_BUCKETS
from vitscfg.data.clips import DataError, SpecFn, load_wave
from vitscfg.data.dataset import DataConfig, TextAudioDataset, resolve, search_dirs
from vitscfg.data.filelist import FilelistEntry, ParsedFilelist, read_filelist
from vitscfg.data.sampler import BucketBatchSampler, NoUsableUtterances, SkipReport
from vitscfg.data.text import TextFrontendError, clean_texts

_KEYS = (("training_files", "train"), ("validation_files", "val"))


@dataclass
class SplitSummary:
    key: str  # training_files | validation_files
    filelist: Path
    utterances: int = 0
    seconds: float = 0.0
    specs_computed: int = 0
    specs_reused: int = 0
    cache_write_failures: int = 0
    cleaned_filelist: Path | None = None
    skipped: SkipReport = field(default_factory=SkipReport)


@dataclass
class PreprocessSummary:
    splits: list[SplitSummary] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def utterances(self) -> int:
        return sum(s.utterances for s in self.splits)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.splits)

    @property
    def skipped(self) -> SkipReport:
        report = SkipReport()
        for s in self.splits:
            report = report.merged(s.skipped)
        return report

    def lines(self) -> list[str]:
        out = []
        for s in self.splits:
            out.append(
                f"{s.key} ({s.filelist}): {s.utterances} utterances, {s.seconds / 60:.1f} min of "
                f"audio; spectrograms: {s.specs_computed} computed, {s.specs_reused} reused"
                + (
                    f", {s.cache_write_failures} not cached (folder not writable)"
                    if s.cache_write_failures
                    else ""
                )
            )
            if s.cleaned_filelist is not None:
                out.append(f"  cleaned text written to {s.cleaned_filelist}")
            out += [f"  {line}" for line in s.skipped.lines()]
        return out


def _cleaned_name(filelist: Path) -> Path:
    return filelist.with_name(filelist.name + ".cleaned")


def _write_cleaned(path: Path, entries: Sequence[FilelistEntry], texts: Sequence[str]) -> None:
    rows = []
    for e, text in zip(entries, texts, strict=True):
        head = [e.path] if e.sid is None else [e.path, str(e.sid)]
        rows.append("|".join([*head, text]) + "\n")
    atomic_write_text(path, "".join(rows))


def _read(
    value: Any, key: str, dirs: list[Path], config: DataConfig
) -> tuple[Path, ParsedFilelist]:
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"data.{key} is not a filelist path")
    found = resolve(value, dirs)
    if found is None:
        raise DataError(
            f"data.{key}: filelist {value} not found (looked in {', '.join(map(str, dirs))})"
        )
    parsed = read_filelist(found, config.filelist_format)
    if not isinstance(parsed, ParsedFilelist):
        raise DataError(f"data.{key}: {found}: {parsed.message}")
    if parsed.problems:
        first = parsed.problems[0]
        raise DataError(
            f"data.{key}: {found}: {len(parsed.problems)} malformed line(s), first: line "
            f"{first.line}: {first.message} (vitscfg check lists them all)"
        )
    return found, parsed


def preprocess(
    config: Mapping[str, Any],
    *,
    resample: bool = False,
    progress: bool = True,
    config_path: str | os.PathLike[str] | None = None,
    spec_fn: SpecFn | None = None,
    cache_dir: Path | None = None,
) -> PreprocessSummary:
    """Clean text and cache spectrograms for both filelists of a loaded config.

    Raises DataError / TextFrontendError (with user-facing messages) for bad input;
    relative paths resolve against the folder of `config_path`, then the cwd."""
    start = time.perf_counter()
    data = config.get("data")
    if not isinstance(data, Mapping):
        raise DataError("the config has no `data` section")
    try:
        cfg = DataConfig.from_mapping(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"data section: missing or invalid key {exc}") from None
    dirs = search_dirs(config_path)
    summary = PreprocessSummary()
    for key, _split in _KEYS:
        filelist, parsed = _read(data.get(key), key, dirs, cfg)
        split = SplitSummary(key, filelist)
        entries = parsed.entries
        split_cfg, source = cfg, str(filelist)
        if not cfg.cleaned_text and cfg.text_cleaners:
            texts = clean_texts([e.text or "" for e in entries], cfg.text_cleaners)
            split.cleaned_filelist = _cleaned_name(filelist)
            _write_cleaned(split.cleaned_filelist, entries, texts)
            entries = [dataclasses.replace(e, text=t) for e, t in zip(entries, texts, strict=True)]
            split_cfg, source = (
                dataclasses.replace(cfg, cleaned_text=True),
                str(split.cleaned_filelist),
            )
        dataset = TextAudioDataset(
            entries,
            split_cfg,
            spec_fn,
            source=source,
            dirs=dirs,
            cache_dir=cache_dir,
            resample=resample,
        )
        split.utterances = len(dataset)
        split.skipped = dataset.skip_report
        _build_specs(dataset, split, progress)
        if key == "training_files":
            split.skipped = split.skipped.merged(_bucket_skips(dataset, config))
        summary.splits.append(split)
    summary.elapsed_s = time.perf_counter() - start
    return summary


def _bucket_skips(dataset: TextAudioDataset, config: Mapping[str, Any]) -> SkipReport:
    """What the trainer's bucket sampler will leave out of the training set."""
    batch = int((config.get("train") or {}).get("batch_size", 1) or 1)
    try:
        sampler = BucketBatchSampler(
            dataset.lengths,
            max(batch, 1),
            VITS_BUCKETS.boundaries,
            seconds_per_frame=dataset.audio.seconds_per_frame,
        )
    except NoUsableUtterances as exc:
        return exc.report
    return sampler.skip_report


def _build_specs(dataset: TextAudioDataset, split: SplitSummary, progress: bool) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn())
    progress_bar = Progress(*columns, TimeRemainingColumn(), disable=not progress, transient=True)
    with _one_torch_thread(), progress_bar as bar:
        task = bar.add_task(f"{split.key}: spectrograms", total=len(dataset))
        for index, item in enumerate(dataset.items):
            wave = load_wave(item.path, dataset.audio, item.header, dataset.resample)
            split.seconds += wave.shape[1] / dataset.audio.sampling_rate
            _, computed = dataset.spectrogram(index, wave)
            if computed:
                split.specs_computed += 1
                if not dataset.cache_file(index).is_file():
                    split.cache_write_failures += 1
            else:
                split.specs_reused += 1
            bar.advance(task)


@contextlib.contextmanager
def _one_torch_thread() -> Iterator[None]:
    """One clip's STFT is far too small to split across threads: on a busy 2-core
    machine intra-op threads made it ~30x slower (measured: 4.1 s vs 0.12 s for 32
    clips). DataLoader workers run single-threaded for the same reason."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run_preprocess(config_path: str, resample: bool) -> int:
    """CLI entry: 0 done, 1 the data or text needs fixing, 2 the config is unusable.
    Every failure is one clear message on stderr, never a traceback."""
    from rich.console import Console

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    out = Console(highlight=False, soft_wrap=True)
    from vitscfg.config.load import UnreadableInput, load
    from vitscfg.diagnostic import Severity

    try:
        doc = load(config_path)
    except UnreadableInput as exc:
        err.print(f"[red]error:[/] {exc}", markup=True)
        return 2
    if not doc.parsed:
        for d in doc.problems:
            if d.severity == Severity.ERROR:
                err.print(
                    f"[red]error:[/] {config_path}:{d.line}:{d.column}: {d.message}", markup=True
                )
        return 2
    try:
        summary = preprocess(
            doc.data, resample=resample, progress=err.is_terminal, config_path=config_path
        )
    except (DataError, TextFrontendError, NoUsableUtterances) as exc:
        err.print(f"[red]error:[/] {exc}", markup=True)
        if "sample rate" in str(exc) and not resample:
            err.print("hint: run again with --resample to resample while caching", markup=False)
        return 1
    except OSError as exc:
        err.print(f"[red]error:[/] {exc.filename or ''}: {exc.strerror or exc}", markup=True)
        return 1
    for line in summary.lines():
        out.print(line, markup=False)
    out.print(
        f"done: {summary.utterances} utterances, {summary.seconds / 60:.1f} min of audio "
        f"in {summary.elapsed_s:.1f} s",
        markup=False,
    )
    if any(s.cleaned_filelist for s in summary.splits):
        out.print(
            "to skip text cleaning at training time, point data.training_files and "
            'data.validation_files at the .cleaned files and set "cleaned_text": true',
            markup=False,
        )
    return 0
