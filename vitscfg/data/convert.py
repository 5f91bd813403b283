"""Audio made right for training: one mono 16-bit PCM WAV at the target rate per clip.

``process`` looks at one recording and either keeps it (already mono PCM16 WAV at the
target rate), converts it (soxr resampling, downmix by averaging the channels, float
overs scaled back under full scale, optional silence trimming, 16-bit PCM) into its
destination atomically, or drops it with a reason (unreadable, silent, too short for the
segment, too long for the sampler's buckets). ``process_all`` runs it over the cores
with a rich progress bar. It never writes next to the source.

Threads, not processes: libsndfile and libsoxr release the GIL while they work, and a
thread pool needs no pickling of the jobs (bench/init_convert.py measures it).
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vitscfg.atomic import atomic_write_bytes

# Below -80 dBFS peak a clip holds no speech (a muted or empty take).
SILENT_PEAK = 1e-4
# Trimmed clips keep this much audio around the speech (seconds).
TRIM_MARGIN_S = 0.1


@dataclass(frozen=True)
class Target:
    """What training needs: the rate, the kept length range in samples at that rate
    (min exclusive, max inclusive), and the silence-trim threshold (None: no trimming)."""

    rate: int
    min_samples: int = 0
    max_samples: int | None = None
    trim_db: float | None = None


@dataclass(frozen=True)
class Job:
    source: Path
    dest: Path  # where a converted copy goes (only written when conversion is needed)


@dataclass(frozen=True)
class Outcome:
    source: Path
    action: str  # "kept" (used in place), "converted" (written to dest), "dropped"
    samples: int = 0  # at the target rate, after trimming
    reason: str = ""  # why dropped, or what was converted
    peak: float = 0.0


def describe(rate: int, channels: int, fmt: str, subtype: str) -> str:
    layout = "mono" if channels == 1 else "stereo" if channels == 2 else f"{channels} ch"
    return f"{fmt} {subtype} {rate} Hz {layout}"


def _needs(rate: int, channels: int, fmt: str, subtype: str, target: Target) -> bool:
    return (
        fmt != "WAV"
        or subtype != "PCM_16"
        or channels != 1
        or rate != target.rate
        or target.trim_db is not None
    )


def _length_problem(samples: int, target: Target) -> str | None:
    seconds = samples / target.rate
    if samples <= target.min_samples:
        return f"too short ({seconds:.2f} s <= {target.min_samples / target.rate:.2f} s)"
    if target.max_samples is not None and samples > target.max_samples:
        return f"too long ({seconds:.2f} s > {target.max_samples / target.rate:.2f} s)"
    return None


def trim_silence(audio: np.ndarray, rate: int, trim_db: float) -> np.ndarray:
    """Cut leading and trailing audio quieter than ``trim_db`` below the peak, keeping
    TRIM_MARGIN_S around what is left (10 ms frames, peak per frame)."""
    frame = max(1, rate // 100)
    usable = len(audio) // frame * frame
    if usable == 0:
        return audio
    levels = np.abs(audio[:usable]).reshape(-1, frame).max(axis=1)
    threshold = float(levels.max()) * 10 ** (-trim_db / 20)
    loud = np.flatnonzero(levels > threshold)
    if loud.size == 0:
        return audio
    margin = int(TRIM_MARGIN_S * rate)
    start = max(0, int(loud[0]) * frame - margin)
    stop = min(len(audio), (int(loud[-1]) + 1) * frame + margin)
    return audio[start:stop]


def process(job: Job, target: Target) -> Outcome:
    import soundfile as sf

    try:
        info = sf.info(str(job.source))
        fmt, subtype = str(info.format), str(info.subtype)
        rate, channels = int(info.samplerate), int(info.channels)
        expected = int(round(info.frames * target.rate / rate)) if rate else 0
        if target.trim_db is None:
            problem = _length_problem(expected, target)
            if problem:
                return Outcome(job.source, "dropped", expected, problem)
        data, _ = sf.read(str(job.source), dtype="float32", always_2d=True)
    except (RuntimeError, OSError, ValueError) as exc:  # sf.LibsndfileError is a RuntimeError
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Outcome(job.source, "dropped", 0, f"unreadable ({reason[:120]})")
    mono = data.mean(axis=1) if channels > 1 else data[:, 0]
    peak = float(np.abs(mono).max()) if mono.size else 0.0
    if peak < SILENT_PEAK:
        return Outcome(job.source, "dropped", expected, "silent (peak below -80 dBFS)", peak)
    if not _needs(rate, channels, fmt, subtype, target):
        return Outcome(job.source, "kept", len(mono), "", peak)
    if rate != target.rate:
        import soxr

        mono = soxr.resample(mono, rate, target.rate, quality="HQ")
    if target.trim_db is not None:
        mono = trim_silence(mono, target.rate, target.trim_db)
    problem = _length_problem(len(mono), target)
    if problem:
        return Outcome(job.source, "dropped", len(mono), problem, peak)
    out_peak = float(np.abs(mono).max())
    if out_peak > 1.0:  # float recordings may exceed full scale: scale, do not clip
        mono = mono * (0.999 / out_peak)
    pcm = np.clip(np.round(mono * 32767.0), -32768, 32767).astype(np.int16)
    buffer = io.BytesIO()
    sf.write(buffer, pcm, target.rate, subtype="PCM_16", format="WAV")
    job.dest.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(job.dest, buffer.getvalue())
    return Outcome(job.source, "converted", len(pcm), describe(rate, channels, fmt, subtype), peak)


def process_all(
    jobs: Sequence[Job],
    target: Target,
    *,
    workers: int | None = None,
    progress: bool = True,
    label: str = "audio",
) -> list[Outcome]:
    """``process`` over every job, in the jobs' order, on ``workers`` threads (default:
    the CPU count), with a progress bar on stderr."""
    if not jobs:
        return []
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    count = workers or os.cpu_count() or 1
    results: list[Outcome] = []
    with (
        ThreadPoolExecutor(max_workers=count) as pool,
        Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            disable=not progress,
            transient=True,
        ) as bar,
    ):
        task = bar.add_task(label, total=len(jobs))
        for outcome in pool.map(lambda job: process(job, target), jobs):
            results.append(outcome)
            bar.advance(task)
    return results
