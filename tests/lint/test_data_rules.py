"""VC3xx data rules: each fires on a small dataset built in tmp_path and stays quiet
on a correct one. WAVs are written with stdlib `wave` (16-bit) or as raw RIFF bytes."""

from __future__ import annotations

import json
import math
import struct
import sys
import wave
from array import array
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from vitscfg.config.load import load_bytes
from vitscfg.diagnostic import Severity
from vitscfg.lint.registry import _RULES, Context, Finding
from vitscfg.lint.rules import data as rules

RATE = 22050
HOP = 256


def write_wav(
    path: Path, seconds: float = 1.0, rate: int = RATE, channels: int = 1, peak: int = 8000
) -> Path:
    """A 16-bit WAV holding a 220 Hz tone of amplitude `peak` (0: digital silence)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = int(seconds * rate)
    tone = array("h", (int(peak * math.sin(2 * math.pi * 220 * i / rate)) for i in range(frames)))
    if sys.byteorder == "big":
        tone.byteswap()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(array("h", (v for v in tone for _ in range(channels)))))
    return path


def write_riff(path: Path, tag: int, bits: int, seconds: float = 1.0, rate: int = RATE) -> Path:
    frames = int(seconds * rate)
    align = bits // 8
    fmt = struct.pack("<HHIIHH", tag, 1, rate, rate * align, align, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
    body += b"data" + struct.pack("<I", frames * align) + bytes(frames * align)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def config(**data: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "training_files": "train.txt",
        "validation_files": "val.txt",
        "max_wav_value": 32768.0,
        "sampling_rate": RATE,
        "filter_length": 1024,
        "hop_length": HOP,
        "win_length": 1024,
        "n_speakers": 0,
        "cleaned_text": True,
    }
    base.update(data)
    return {"train": {"segment_size": 8192}, "data": base, "model": {}}


def run(
    tmp_path: Path,
    func: Callable[[Context], Iterable[Finding]],
    cfg: dict[str, Any] | None = None,
    dialect: str = "vits",
    **top: Any,
) -> list[Finding]:
    body = cfg or config()
    body.update(top)
    doc = load_bytes(json.dumps(body).encode(), str(tmp_path / "config.json"))
    ctx = Context(doc=doc, dialect=dialect, check_data=True, search_dirs=[tmp_path])
    return list(func(ctx))


def dataset(tmp_path: Path, train: list[str], val: list[str] | None = None) -> None:
    (tmp_path / "train.txt").write_text("".join(line + "\n" for line in train), encoding="utf-8")
    val_lines = val if val is not None else ["wavs/v.wav|ðə"]
    (tmp_path / "val.txt").write_text("".join(line + "\n" for line in val_lines), encoding="utf-8")
    if val is None:
        write_wav(tmp_path / "wavs/v.wav")


@pytest.fixture
def good(tmp_path: Path) -> Path:
    """A small correct single-speaker vits dataset."""
    for i in range(3):
        write_wav(tmp_path / f"wavs/{i}.wav", seconds=1.0 + i)
    dataset(tmp_path, [f"wavs/{i}.wav|hɛloʊ wɜːld." for i in range(3)])
    return tmp_path


def only(findings: list[Finding], severity: Severity, pointer: str) -> Finding:
    assert len(findings) == 1, findings
    f = findings[0]
    assert f.pointer == pointer
    assert (f.severity or severity) is severity
    return f


def code_of(func: Callable[..., Any]) -> tuple[str, Severity]:
    rule_ = next(r for r in _RULES.values() if r.func is func)
    return rule_.code, rule_.severity


ALL = [
    rules.filelist_not_found,
    rules.filelist_line_malformed,
    rules.validation_set_empty,
    rules.training_set_empty,
    rules.audio_file_missing,
    rules.sample_rate_mismatch,
    rules.audio_not_mono,
    rules.max_wav_value_mismatch,
    rules.audio_header_unreadable,
    rules.speaker_id_out_of_range,
    rules.clips_dropped_by_length,
    rules.first_bucket_empty,
    rules.clip_shorter_than_segment,
    rules.unknown_text_symbols,
    rules.stale_spectrogram_cache,
    rules.silent_audio,
]


def test_codes_and_docstrings() -> None:
    codes = [code_of(f)[0] for f in ALL]
    assert codes == [f"VC3{i:02d}" for i in range(1, 17)]
    for f in ALL:
        doc = f.__doc__ or ""
        for section in ("## What it does", "## Why is this bad?", "## Example"):
            assert section in doc, (f.__name__, section)


@pytest.mark.parametrize("func", ALL, ids=lambda f: f.__name__)
def test_negative_on_good_dataset(good: Path, func: Callable[[Context], Iterable[Finding]]) -> None:
    assert run(good, func) == []


@pytest.mark.parametrize("dialect", ["rvc", "gpt-sovits", "piper-voice"])
def test_no_filelist_dialects_are_skipped(tmp_path: Path, dialect: str) -> None:
    assert run(tmp_path, rules.filelist_not_found, dialect=dialect) == []


def test_vc301_missing_and_empty(tmp_path: Path) -> None:
    dataset(tmp_path, [])
    found = run(tmp_path, rules.filelist_not_found, config(training_files="nope/train.txt"))
    f = only(found, Severity.ERROR, "/data/training_files")
    assert "no such file" in f.message
    found = run(tmp_path, rules.filelist_not_found, config(training_files=""))
    f = only(found, Severity.ERROR, "/data/training_files")
    assert "empty string" in f.message


def test_vc301_dataset_elsewhere_is_info(tmp_path: Path) -> None:
    found = run(tmp_path, rules.filelist_not_found)
    assert [(f.pointer, f.severity) for f in found] == [
        ("/data/training_files", Severity.INFO),
        ("/data/validation_files", Severity.INFO),
    ]
    assert "skipped" in found[0].message


def test_vc301_empty_is_error_even_without_data(tmp_path: Path) -> None:
    found = run(tmp_path, rules.filelist_not_found, config(training_files="", validation_files=""))
    assert [(f.pointer, f.severity) for f in found] == [
        ("/data/training_files", None),
        ("/data/validation_files", None),
    ]


def test_vc301_not_utf8(good: Path) -> None:
    (good / "val.txt").write_bytes(b"wavs/v.wav|\xe9\n")
    f = only(run(good, rules.filelist_not_found), Severity.ERROR, "/data/validation_files")
    assert "UTF-8" in f.message


def test_vc302_wrong_columns(good: Path) -> None:
    found = run(good, rules.filelist_line_malformed, config(n_speakers=4))
    assert [x.pointer for x in found] == ["/data/training_files", "/data/validation_files"]
    f = only(found[:1], Severity.ERROR, "/data/training_files")
    assert "path|sid|text" in f.message and "2 columns" in f.message
    assert f.hint and "single-speaker" in f.hint


def test_vc302_blank_line(good: Path) -> None:
    (good / "train.txt").write_text("wavs/0.wav|a\n\nwavs/1.wav|b|c\n", encoding="utf-8")
    f = only(run(good, rules.filelist_line_malformed), Severity.ERROR, "/data/training_files")
    assert f.message.startswith("2 of 3 lines") and "line 2: blank line" in f.message


def test_vc303_vc304_empty_lists(good: Path) -> None:
    (good / "val.txt").write_text("", encoding="utf-8")
    only(run(good, rules.validation_set_empty), Severity.ERROR, "/data/validation_files")
    assert run(good, rules.training_set_empty) == []
    (good / "train.txt").write_text("", encoding="utf-8")
    only(run(good, rules.training_set_empty), Severity.ERROR, "/data/training_files")


def test_vc305_missing_audio(good: Path) -> None:
    (good / "wavs/1.wav").unlink()
    f = only(run(good, rules.audio_file_missing), Severity.ERROR, "/data/training_files")
    assert f.message.startswith("1 of 3") and "line 2: wavs/1.wav" in f.message


def test_vc306_sample_rate(good: Path) -> None:
    for i in range(3):
        write_wav(good / f"wavs/{i}.wav", rate=44100)
    f = only(run(good, rules.sample_rate_mismatch), Severity.ERROR, "/data/training_files")
    assert "IndexError" in f.message and "3 at 44100 Hz" in f.message
    assert f.hint and "set data.sampling_rate to 44100" in f.hint and "sox" in f.hint
    assert run(good, rules.sample_rate_mismatch, config(sampling_rate=44100), "melotts") == []


def test_vc307_stereo(good: Path) -> None:
    write_wav(good / "wavs/1.wav", channels=2)
    f = only(run(good, rules.audio_not_mono), Severity.ERROR, "/data/training_files")
    assert "line 2" in f.message


@pytest.mark.parametrize(("tag", "bits", "right"), [(1, 24, 2147483648.0), (3, 32, 1.0)])
def test_vc308_bit_depth(good: Path, tag: int, bits: int, right: float) -> None:
    write_riff(good / "wavs/0.wav", tag, bits)
    f = only(run(good, rules.max_wav_value_mismatch), Severity.WARNING, "/data/training_files")
    assert "max_wav_value" in f.message
    assert run(good, rules.max_wav_value_mismatch, config(max_wav_value=right)) != []  # 16-bit ones
    for i in (1, 2):
        write_riff(good / f"wavs/{i}.wav", tag, bits)
    write_riff(good / "wavs/v.wav", tag, bits)
    assert run(good, rules.max_wav_value_mismatch, config(max_wav_value=right)) == []
    assert run(good, rules.max_wav_value_mismatch, dialect="melotts") == []


def test_vc309_unreadable_and_no_reader(good: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (good / "wavs/0.wav").write_bytes(b"RIFF\x00\x00")
    (good / "wavs/x.flac").write_bytes(b"fLaC" + bytes(100))
    (good / "train.txt").write_text("wavs/0.wav|a\nwavs/x.flac|b\nwavs/1.wav|c\n", encoding="utf-8")
    monkeypatch.setitem(__import__("sys").modules, "soundfile", None)  # core install
    found = run(good, rules.audio_header_unreadable)
    assert [(f.pointer, f.severity) for f in found] == [
        ("/data/training_files", None),
        ("/data/training_files", Severity.INFO),
    ]
    assert "line 1" in found[0].message and "soundfile" in found[1].message


def test_vc310_speaker_ids(good: Path) -> None:
    (good / "train.txt").write_text("wavs/0.wav|0|a\nwavs/1.wav|4|b\n", encoding="utf-8")
    (good / "val.txt").write_text("wavs/2.wav|1|c\n", encoding="utf-8")
    f = only(
        run(good, rules.speaker_id_out_of_range, config(n_speakers=4)),
        Severity.ERROR,
        "/data/training_files",
    )
    assert "line 2: id 4" in f.message and f.hint == "set data.n_speakers to 5"
    assert run(good, rules.speaker_id_out_of_range, config(n_speakers=5)) == []


def test_vc310_spk2id_names(good: Path) -> None:
    line = "wavs/{}.wav|{}|EN|hi|h i|0 0|1 1"
    (good / "train.txt").write_text(
        line.format(0, "amy") + "\n" + line.format(1, "bob") + "\n", encoding="utf-8"
    )
    (good / "val.txt").write_text(line.format(2, "amy") + "\n", encoding="utf-8")
    cfg = config(n_speakers=2, spk2id={"amy": 0})
    f = only(
        run(good, rules.speaker_id_out_of_range, cfg, "bert-vits2"),
        Severity.ERROR,
        "/data/training_files",
    )
    assert "'bob' not in data.spk2id" in f.message
    cfg = config(n_speakers=2, spk2id={"amy": 0, "bob": 1})
    assert run(good, rules.speaker_id_out_of_range, cfg, "bert-vits2") == []


def test_vc310_svc_speaker_folder(good: Path) -> None:
    (good / "train.txt").write_text("wavs/0.wav\n", encoding="utf-8")
    (good / "val.txt").write_text("wavs/1.wav\n", encoding="utf-8")
    found = run(good, rules.speaker_id_out_of_range, config(), "so-vits-svc", spk={"nen": 0})
    assert len(found) == 2 and "folder 'wavs'" in found[0].message
    assert run(good, rules.speaker_id_out_of_range, config(), "so-vits-svc", spk={"wavs": 0}) == []


def test_vc311_dropped_clips(good: Path) -> None:
    write_wav(good / "wavs/0.wav", seconds=0.2)
    write_wav(good / "wavs/1.wav", seconds=14.0)
    f = only(run(good, rules.clips_dropped_by_length), Severity.WARNING, "/data/training_files")
    assert "2 of 3" in f.message and "1 too short, 1 too long" in f.message
    assert run(good, rules.clips_dropped_by_length, dialect="so-vits-svc") == []


def test_vc312_first_bucket_empty(good: Path) -> None:
    for i in range(3):
        write_wav(good / f"wavs/{i}.wav", seconds=5.0)  # 430 frames: bucket 2
    f = only(run(good, rules.first_bucket_empty), Severity.ERROR, "/data/training_files")
    assert "ZeroDivisionError" in f.message
    # The bundled trainer's sampler drops empty buckets: an info, not a blocking error.
    f = only(
        run(good, rules.first_bucket_empty, dialect="vitscfg"),
        Severity.INFO,
        "/data/training_files",
    )
    assert f.severity is Severity.INFO and "`vitscfg train` copes" in f.message


def test_vc313_shorter_than_segment(good: Path) -> None:
    write_wav(good / "wavs/0.wav", seconds=0.5)  # 43 frames: kept, but < 50
    cfg = config()
    cfg["train"]["segment_size"] = 12800
    f = only(
        run(good, rules.clip_shorter_than_segment, cfg), Severity.ERROR, "/data/training_files"
    )
    assert "43 frames" in f.message and f.hint and "8192" in f.hint
    assert run(good, rules.clip_shorter_than_segment) == []  # 8192 = 32 frames: safe


def test_vc314_unknown_symbols(good: Path) -> None:
    (good / "train.txt").write_text("wavs/0.wav|Hello 2024!\nwavs/1.wav|ok\n", encoding="utf-8")
    f = only(run(good, rules.unknown_text_symbols), Severity.ERROR, "/data/training_files")
    assert "'2' ×2" in f.message and "line 1" in f.message
    assert run(good, rules.unknown_text_symbols, config(cleaned_text=False)) == []
    found = run(good, rules.unknown_text_symbols, symbols=list("_ Helo!ok0123456789ðə"))
    assert found == []
    f = only(
        run(good, rules.unknown_text_symbols, symbols=list("_ Helo!ðə")),
        Severity.WARNING,
        "/data/training_files",
    )
    assert "silently" in f.message


def test_vc315_stale_cache(good: Path) -> None:
    torch = pytest.importorskip("torch")
    torch.save(torch.zeros(513, 86), good / "wavs/0.spec.pt")  # 1 s at hop 256: 86 frames
    assert run(good, rules.stale_spectrogram_cache) == []
    f = only(
        run(good, rules.stale_spectrogram_cache, config(filter_length=2048)),
        Severity.ERROR,
        "/data/training_files",
    )
    assert "513 channels" in f.message and "1025" in f.message
    f = only(
        run(good, rules.stale_spectrogram_cache, config(hop_length=128)),
        Severity.WARNING,
        "/data/training_files",
    )
    assert "frame counts" in f.message


def test_vc316_silent_and_near_silent_clips(good: Path) -> None:
    write_wav(good / "wavs/0.wav", peak=0)  # digital silence
    write_wav(good / "wavs/2.wav", seconds=3.0, peak=60)  # about -55 dBFS
    f = only(run(good, rules.silent_audio), Severity.WARNING, "/data/training_files")
    assert "2 of 3 clips" in f.message and "1 digitally silent" in f.message
    assert "line 1: wavs/0.wav" in f.message and "wavs/2.wav" in f.message
    write_wav(good / "wavs/0.wav", peak=200)  # about -44 dBFS: quiet, not silent
    write_wav(good / "wavs/2.wav", seconds=3.0)
    assert run(good, rules.silent_audio) == []


@pytest.mark.parametrize(("tag", "bits"), [(1, 24), (1, 32), (3, 32)])
def test_vc316_reads_wide_formats(good: Path, tag: int, bits: int) -> None:
    write_riff(good / "wavs/1.wav", tag, bits)  # all-zero samples
    f = only(run(good, rules.silent_audio), Severity.WARNING, "/data/training_files")
    assert "wavs/1.wav" in f.message


def test_vc308_is_an_error_where_vitscfg_train_refuses(good: Path) -> None:
    """vitscfg's trainer stops on a header that does not fit max_wav_value
    (data/dataset.py), so `check` must call it an error in that dialect."""
    write_riff(good / "wavs/0.wav", 3, 32)  # float WAV, max_wav_value 32768
    f = only(
        run(good, rules.max_wav_value_mismatch, dialect="vitscfg"),
        Severity.ERROR,
        "/data/training_files",
    )
    assert "refuses" in f.message
