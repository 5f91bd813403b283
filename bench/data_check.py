"""Time the VC3xx data checks on a generated 10,000-clip dataset.

    .venv/bin/python bench/data_check.py            # 10,000 clips
    .venv/bin/python bench/data_check.py --clips 2000 --keep /tmp/ds

Writes 16-bit mono WAVs of 0.4-0.9 s (stdlib `wave`), a `path|text` filelist and
a vits config into a temporary folder, then runs the VC3xx rules through
`vitscfg.lint.run.check_paths` (what `vitscfg check --select VC3` calls) and prints the
wall time. The target is under 10 s for 10,000 clips on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import wave
from pathlib import Path

from vitscfg.lint.run import CheckOptions, check_paths

RATE = 22050


def generate(root: Path, clips: int) -> Path:
    rng = random.Random(1234)
    wavs = root / "wavs"
    wavs.mkdir(parents=True, exist_ok=True)
    silence = bytes(2 * int(0.9 * RATE))
    lines = []
    for i in range(clips):
        frames = int(rng.uniform(0.4, 0.9) * RATE)
        path = wavs / f"clip_{i:05d}.wav"
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes(silence[: 2 * frames])
        lines.append(f"wavs/{path.name}|ðə kwɪk bɹaʊn fɑks.")
    split = max(1, clips // 100)
    (root / "train.txt").write_text("\n".join(lines[split:]) + "\n", encoding="utf-8")
    (root / "val.txt").write_text("\n".join(lines[:split]) + "\n", encoding="utf-8")
    config = {
        "train": {"segment_size": 8192, "batch_size": 16},
        "data": {
            "training_files": "train.txt",
            "validation_files": "val.txt",
            "text_cleaners": ["english_cleaners2"],
            "max_wav_value": 32768.0,
            "sampling_rate": RATE,
            "filter_length": 1024,
            "hop_length": 256,
            "win_length": 1024,
            "n_speakers": 0,
            "cleaned_text": True,
        },
        "model": {},
    }
    path = root / "config.json"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


def check(config: Path) -> tuple[float, list[str]]:
    """`vitscfg check --select VC3 config.json`, as a function call."""
    options = CheckOptions(dialect="vits", select=("VC3",), search_dirs=(config.parent,))
    start = time.perf_counter()
    result = check_paths([config], options)
    found = [d.code for f in result.files for d in f.diagnostics]
    return time.perf_counter() - start, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        start = time.perf_counter()
        config = generate(root, args.clips)
        print(f"generated {args.clips} clips in {time.perf_counter() - start:.1f} s")
        seconds, found = check(config)
        print(f"data checks: {seconds:.2f} s for {args.clips} clips (findings: {found or 'none'})")
        # The check runs as a pre-commit hook with only the core install.
        print("torch imported:", "torch" in sys.modules)


if __name__ == "__main__":
    main()
