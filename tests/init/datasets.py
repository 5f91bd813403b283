"""Small synthetic datasets in each layout `vitscfg init` reads: a few seconds of
44.1 kHz stereo per clip (16-bit, some 32-bit float WAVs, a FLAC), several speakers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 44100
SENTENCES = (
    "The cat sat on the warm mat.",
    "It was a bright cold day in April.",
    "She sells sea shells by the sea shore.",
    "A quick brown fox jumps over the lazy dog.",
    "The rain in Spain stays mainly in the plain.",
    "He said that it was the end of the day.",
)


def write_clip(path: Path, index: int, *, seconds: float = 1.2, fmt: str = "PCM_16") -> None:
    """Stereo speech-like audio: a pitched buzz with a syllable envelope plus noise."""
    rng = np.random.default_rng(index)
    t = np.arange(int(RATE * seconds)) / RATE
    pitch = 110 + 15 * (index % 7)
    tone = sum(np.sin(2 * np.pi * pitch * k * t) / k for k in range(1, 6))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2
    mono = 0.2 * tone * envelope + 0.003 * rng.standard_normal(len(t))
    stereo = np.stack([mono, 0.9 * mono], axis=1).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    kind = "FLAC" if path.suffix == ".flac" else "WAV"
    sf.write(path, stereo, RATE, subtype=fmt if kind == "WAV" else "PCM_16", format=kind)


def _fmt(i: int) -> str:
    return "FLOAT" if i % 3 == 0 else "PCM_16"


def ljspeech(root: Path, clips: int = 6) -> Path:
    lines = []
    for i in range(clips):
        write_clip(root / "wavs" / f"LJ001-{i:04d}.wav", i, fmt=_fmt(i))
        text = SENTENCES[i % len(SENTENCES)]
        lines.append(f"LJ001-{i:04d}|{text}|{text}\n")
    (root / "metadata.csv").write_text("".join(lines), encoding="utf-8")
    return root


def vctk(root: Path, speakers: int = 3, clips: int = 3) -> Path:
    for s in range(speakers):
        spk = f"p{225 + s}"
        for i in range(1, clips + 1):
            n = s * clips + i
            text = SENTENCES[n % len(SENTENCES)]
            (root / "txt" / spk).mkdir(parents=True, exist_ok=True)
            (root / "txt" / spk / f"{spk}_{i:03d}.txt").write_text(text + "\n", encoding="utf-8")
            folder = root / "wav48_silence_trimmed" / spk
            write_clip(folder / f"{spk}_{i:03d}_mic1.flac", n)
            write_clip(folder / f"{spk}_{i:03d}_mic2.flac", n + 100)
    return root


def speaker_folders(root: Path, speakers: int = 2, clips: int = 3) -> Path:
    for s in range(speakers):
        for i in range(clips):
            n = s * clips + i
            folder = root / f"speaker{s}"
            write_clip(folder / f"clip{i}.wav", n, fmt=_fmt(n))
            suffix = ".lab" if i % 2 else ".txt"
            (folder / f"clip{i}{suffix}").write_text(SENTENCES[n % 6], encoding="utf-8")
    return root


def filelists(root: Path, speakers: int = 2, clips: int = 4) -> Path:
    train, val = [], []
    for s in range(speakers):
        for i in range(clips):
            n = s * clips + i
            rel = f"audio/s{s}_{i}.wav"
            write_clip(root / rel, n, fmt=_fmt(n))
            (val if i == 0 else train).append(f"{rel}|{s}|{SENTENCES[n % 6]}\n")
    (root / "train.txt").write_text("".join(train), encoding="utf-8")
    (root / "val.txt").write_text("".join(val), encoding="utf-8")
    return root


LAYOUTS = {
    "ljspeech": ljspeech,
    "vctk": vctk,
    "speaker-folders": speaker_folders,
    "filelists": filelists,
}


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file below root, by relative path, with its bytes."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
