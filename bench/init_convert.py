"""Time `vitscfg init`'s audio conversion: 44.1 kHz stereo PCM16 -> 22.05 kHz mono PCM16.

    .venv/bin/python bench/init_convert.py               # 1,000 clips of 3 s
    .venv/bin/python bench/init_convert.py --clips 200 --peer-clips 100

Generates the clips (a tone plus noise, stereo, 16-bit) into a temporary folder, then
converts them with ``vitscfg.data.convert.process_all`` (soxr, a thread per core) and,
in the same run, with a peer on the same thread pool: the same read/downmix/write with
torchaudio's ``functional.resample`` (sinc interpolation) in place of soxr. Prints the
wall time, seconds per audio hour and the x real time of each, and the CPU seconds (a
figure other load on a shared machine does not inflate). Goal: >= 200x real time.
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

from vitscfg.atomic import atomic_write_bytes
from vitscfg.data.convert import Job, Target, process_all

SOURCE_RATE, TARGET_RATE, SECONDS = 44100, 22050, 3.0


def generate(folder: Path, clips: int) -> list[Path]:
    rng = np.random.default_rng(1234)
    t = np.arange(int(SOURCE_RATE * SECONDS)) / SOURCE_RATE
    paths = []
    for i in range(clips):
        tone = 0.3 * np.sin(2 * np.pi * (120 + i % 200) * t)
        stereo = np.stack([tone, tone], axis=1) + 0.01 * rng.standard_normal((len(t), 2))
        path = folder / f"clip_{i:05d}.wav"
        sf.write(path, stereo.astype(np.float32), SOURCE_RATE, subtype="PCM_16")
        paths.append(path)
    return paths


def torchaudio_convert(source: Path, dest: Path) -> None:
    import torch
    import torchaudio.functional as AF

    data, rate = sf.read(str(source), dtype="float32", always_2d=True)
    mono = torch.from_numpy(data.mean(axis=1))
    out = AF.resample(mono, rate, TARGET_RATE).numpy()
    pcm = np.clip(np.round(out * 32767.0), -32768, 32767).astype(np.int16)
    buffer = io.BytesIO()
    sf.write(buffer, pcm, TARGET_RATE, subtype="PCM_16", format="WAV")
    atomic_write_bytes(dest, buffer.getvalue())


def report(name: str, clips: int, seconds: float, cpu: float) -> None:
    """Wall figures, and CPU seconds (all threads of this process), which other load on
    the machine does not inflate: cpu / cores is the wall time of an idle machine."""
    audio_hours = clips * SECONDS / 3600
    print(
        f"{name:<22} {clips:>5} clips  {seconds:7.2f} s wall  "
        f"{seconds / audio_hours:7.1f} s per audio hour  {clips * SECONDS / seconds:6.0f}x real time"
        f"  | {cpu:7.2f} CPU s, {clips * SECONDS / cpu:5.0f}x real time per core"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=1000)
    parser.add_argument("--peer-clips", type=int, default=200, help="clips the peer converts")
    args = parser.parse_args()
    workers = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="vitscfg-bench-") as tmp:
        root = Path(tmp)
        (root / "src").mkdir()
        sources = generate(root / "src", args.clips)
        print(
            f"{args.clips} clips of {SECONDS:g} s, 44.1 kHz stereo PCM16 -> 22.05 kHz mono PCM16, "
            f"{workers} threads"
        )
        jobs = [Job(p, root / "out" / p.name) for p in sources]
        start, cpu = time.perf_counter(), time.process_time()
        outcomes = process_all(jobs, Target(TARGET_RATE), progress=False)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        assert all(o.action == "converted" for o in outcomes), outcomes[0]
        report("vitscfg (soxr HQ)", len(jobs), elapsed, cpu)

        peer = sources[: args.peer_clips]
        (root / "peer").mkdir()
        torchaudio_convert(peer[0], root / "peer" / "warmup.wav")  # import cost out of the timing
        start, cpu = time.perf_counter(), time.process_time()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda p: torchaudio_convert(p, root / "peer" / p.name), peer))
        report(
            "torchaudio resample",
            len(peer),
            time.perf_counter() - start,
            time.process_time() - cpu,
        )


if __name__ == "__main__":
    main()
