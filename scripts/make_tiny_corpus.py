#!/usr/bin/env python3
"""Generate the tiny bundled corpus `examples/tiny/` (wavs + filelists), deterministically.

Each sentence is spoken by espeak-ng (`-w`, 22050 Hz), then sox converts it to
16-bit mono 16000 Hz without dither (dither is random noise: it would make the
bytes differ between runs), trims leading and trailing silence and adds 50 ms of
silence at both ends. Same espeak-ng and sox versions => same bytes; the script
checks every clip's duration and prints a SHA-256 over all outputs so two runs
can be compared.

    apt-get install -y espeak-ng sox
    python scripts/make_tiny_corpus.py            # writes examples/tiny/{wavs,filelists}

The config `examples/tiny/config.json` is written by hand and not touched here.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

SAMPLE_RATE = 16000
MIN_SECONDS, MAX_SECONDS = 0.6, 2.5
VOICE = "en-us"
WORDS_PER_MINUTE = 165
N_VAL = 4

# Our own simple sentences. A few digits and one abbreviation exercise english_cleaners
# (espeak reads them the same way); nothing outside the vits symbol set after cleaning.
SENTENCES = (
    "The cat sat on the warm mat.",
    "Please open the window.",
    "It is raining again today.",
    "We walked to the old bridge.",
    "The coffee is too hot.",
    "She reads a book every night.",
    "My brother plays the drums.",
    "The train leaves at noon.",
    "Turn left at the big tree.",
    "I have 3 red apples.",
    "The sky is very blue.",
    "Dr. Brown lives next door.",
    "Bring your coat, it is cold.",
    "He fixed the broken chair.",
    "Birds sing in the morning.",
    "The soup needs more salt.",
    "Where did you park the car?",
    "The little dog ran away.",
    "We planted 12 small trees.",
    "This road leads to the sea.",
    "Can you hear the music?",
    "The lamp is on the desk.",
    "Our team won the game!",
    "The baker sells fresh bread.",
    "Snow covered the quiet town.",
    "Close the door behind you.",
    "The river is wide and slow.",
    "I like green tea with honey.",
    "The clock stopped at four.",
    "They sang a happy song.",
    "Wash your hands before lunch.",
    "The moon is bright tonight.",
)


def _run(args: list[str]) -> None:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()}")


def _seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        assert w.getframerate() == SAMPLE_RATE and w.getnchannels() == 1 and w.getsampwidth() == 2
        return w.getnframes() / SAMPLE_RATE


def render(text: str, out: Path, tmp: Path) -> float:
    raw = tmp / (out.stem + ".raw.wav")
    _run(["espeak-ng", "-v", VOICE, "-s", str(WORDS_PER_MINUTE), "-w", str(raw), text])
    # -D: no dither; silence trims the start, reverse+silence+reverse the end.
    effects = ["silence", "1", "0.02", "0.5%", "reverse", "silence", "1", "0.02", "0.5%"]
    effects += ["reverse", "pad", "0.05", "0.05"]
    _run(["sox", "-D", str(raw), "-r", str(SAMPLE_RATE), "-b", "16", "-c", "1", str(out), *effects])
    return _seconds(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = Path(__file__).resolve().parent.parent
    parser.add_argument("--out", type=Path, default=root / "examples" / "tiny")
    args = parser.parse_args(argv)
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            print(f"error: {tool} is not installed (apt-get install -y espeak-ng sox)")
            return 1
    wavs = args.out / "wavs"
    lists = args.out / "filelists"
    wavs.mkdir(parents=True, exist_ok=True)
    lists.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    total = 0.0
    digest = hashlib.sha256()
    with tempfile.TemporaryDirectory() as tmp:
        for i, text in enumerate(SENTENCES):
            out = wavs / f"tiny_{i:03d}.wav"
            seconds = render(text, out, Path(tmp))
            if not MIN_SECONDS <= seconds <= MAX_SECONDS:
                print(
                    f"error: {out.name} lasts {seconds:.2f} s, outside {MIN_SECONDS}-{MAX_SECONDS}"
                )
                return 1
            total += seconds
            # Relative to the config's folder: vitscfg check and the trainer look there first.
            lines.append(f"wavs/{out.name}|{text}\n")
            digest.update(out.read_bytes())
    train, val = lines[:-N_VAL], lines[-N_VAL:]
    (lists / "train.txt").write_text("".join(train), encoding="utf-8")
    (lists / "val.txt").write_text("".join(val), encoding="utf-8")
    digest.update("".join(lines).encode())
    size = sum(p.stat().st_size for p in wavs.glob("*.wav"))
    print(
        f"{len(lines)} clips ({len(train)} train, {len(val)} val), {total:.1f} s, "
        f"{size / 1e6:.2f} MB in {wavs}; sha256 {digest.hexdigest()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
