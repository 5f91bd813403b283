"""vitscfg/data/convert.py on real little files: kept, converted (resampled, downmixed,
float overs scaled, trimmed) or dropped with a reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

sf = pytest.importorskip("soundfile")
pytest.importorskip("soxr")

from vitscfg.data.convert import Job, Target, process, process_all, trim_silence  # noqa: E402


def _tone(rate: int, seconds: float, channels: int, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    mono = amp * np.sin(2 * np.pi * 220 * t)
    return np.stack([mono] * channels, axis=1).astype(np.float32)


def test_right_clip_is_kept_and_nothing_written(tmp_path: Path) -> None:
    src = tmp_path / "a.wav"
    sf.write(src, _tone(22050, 1.0, 1), 22050, subtype="PCM_16")
    outcome = process(Job(src, tmp_path / "out" / "a.wav"), Target(22050))
    assert (outcome.action, outcome.samples) == ("kept", 22050)
    assert not (tmp_path / "out").exists()


def test_float_stereo_overs_are_resampled_downmixed_and_scaled(tmp_path: Path) -> None:
    src, dst = tmp_path / "a.wav", tmp_path / "out" / "a.wav"
    sf.write(src, _tone(44100, 1.0, 2, amp=1.6), 44100, subtype="FLOAT")
    outcome = process(Job(src, dst), Target(22050))
    assert outcome.action == "converted" and "FLOAT 44100 Hz stereo" in outcome.reason
    data, rate = sf.read(str(dst), dtype="int16")
    info = sf.info(str(dst))
    assert (rate, info.channels, info.subtype) == (22050, 1, "PCM_16")
    assert abs(len(data) - 22050) <= 1
    assert 32000 < int(np.abs(data).max()) < 32767  # scaled under full scale, not clipped


def test_drops_say_why(tmp_path: Path) -> None:
    short, silent, bad = tmp_path / "s.wav", tmp_path / "z.wav", tmp_path / "b.wav"
    sf.write(short, _tone(22050, 0.1, 1), 22050, subtype="PCM_16")
    sf.write(silent, np.zeros((11025, 1)), 22050, subtype="PCM_16")
    bad.write_bytes(b"garbage")
    target = Target(22050, min_samples=4000, max_samples=20000)
    jobs = [Job(p, tmp_path / "o" / p.name) for p in (short, silent, bad)]
    reasons = [o.reason for o in process_all(jobs, target, progress=False)]
    assert reasons[0].startswith("too short (0.10 s")
    assert reasons[1].startswith("silent")
    assert reasons[2].startswith("unreadable")
    long = tmp_path / "l.wav"
    sf.write(long, _tone(22050, 1.0, 1), 22050, subtype="PCM_16")
    assert process(Job(long, tmp_path / "o" / "l.wav"), target).reason.startswith("too long")


def test_trim_keeps_speech_and_a_margin() -> None:
    rate = 1000
    audio = np.concatenate([np.zeros(500), _tone(rate, 0.3, 1)[:, 0], np.zeros(700)])
    trimmed = trim_silence(audio, rate, 40.0)
    assert 300 <= len(trimmed) <= 300 + 2 * 100 + 20
