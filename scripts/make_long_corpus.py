"""A synthetic corpus at the worst-case lengths of a config's loader, for memory checks.

Why: the estimator sizes the batch for the longest utterance the bucket sampler keeps
(last bucket boundary in frames, ``max_text_len`` characters); a real run only proves the
recommendation safe when its batches reach those lengths. This writes ``--clips`` 16-bit
mono WAVs whose spectrograms fall in the last bucket (``--min-frames``..``--max-frames``)
(after ``--short`` clips for the first bucket) and phoneme-like texts of ``--chars`` symbols (cleaned_text), plus train/val filelists and a
copy of the config pointing at them with ``use_gpu`` kept. Deterministic (seeded);
regenerate rather than commit (~150 MB for 300 clips of 11 s).

    python scripts/make_long_corpus.py examples/ljs_base.json OUT_DIR --clips 300
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import soundfile as sf

from vitscfg.data.symbols import LETTERS_IPA


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--clips", type=int, default=300)
    parser.add_argument("--val", type=int, default=4)
    parser.add_argument("--min-frames", type=int, default=940)
    parser.add_argument("--max-frames", type=int, default=995)
    parser.add_argument("--chars", type=int, default=190)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--short",
        type=int,
        default=4,
        help="clips of 100-250 frames (the first bucket must "
        "not be empty: the reference sampler divides by zero, and `check` says so)",
    )
    args = parser.parse_args()
    config = json.loads(args.config.read_text(encoding="utf-8"))
    config.pop("$schema", None)
    data = config["data"]
    sr, hop = int(data["sampling_rate"]), int(data["hop_length"])
    rng = np.random.default_rng(args.seed)
    wavs = args.out / "wavs"
    wavs.mkdir(parents=True, exist_ok=True)
    alphabet = np.array(list(LETTERS_IPA.replace(" ", "")) + [" "] * 8)
    lines = []
    for i in range(args.clips + args.val):
        short = i < args.short
        frames = int(
            rng.integers(100, 251) if short else rng.integers(args.min_frames, args.max_frames + 1)
        )
        n = frames * hop - hop // 2  # floor(n / hop) + 1 = frames
        t = np.arange(n) / sr
        f0 = rng.uniform(100, 250) * (1 + 0.2 * np.sin(2 * np.pi * rng.uniform(0.2, 1) * t))
        wave = 0.3 * np.sin(2 * np.pi * np.cumsum(f0) / sr) + 0.02 * rng.standard_normal(n)
        path = wavs / f"long{i:04d}.wav"
        sf.write(path, (wave * 32767).astype(np.int16), sr, subtype="PCM_16")
        text = "".join(rng.choice(alphabet, args.chars // 4 if short else args.chars)).strip()
        lines.append(f"{path.resolve()}|{text}")
    (args.out / "train.txt").write_text("\n".join(lines[: args.clips]) + "\n", encoding="utf-8")
    (args.out / "val.txt").write_text("\n".join(lines[args.clips :]) + "\n", encoding="utf-8")
    data.update(
        training_files=str((args.out / "train.txt").resolve()),
        validation_files=str((args.out / "val.txt").resolve()),
        cleaned_text=True,
    )
    (args.out / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    print(
        f"{args.clips} + {args.val} clips of {args.min_frames}-{args.max_frames} frames in {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
