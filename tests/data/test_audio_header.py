"""read_header on WAVs written by stdlib `wave` and by hand (24-bit, float,
stereo, WAVE_FORMAT_EXTENSIBLE, odd chunk order), and on arbitrary bytes."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vitscfg.data.audio_header import AudioHeader, HeaderProblem, read_header

GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"


def riff(
    tag: int,
    bits: int,
    channels: int = 1,
    rate: int = 22050,
    frames: int = 100,
    extensible: bool = False,
    extra: bytes = b"",
    data_size: int | None = None,
) -> bytes:
    align = channels * bits // 8
    fmt = struct.pack(
        "<HHIIHH", 0xFFFE if extensible else tag, channels, rate, rate * align, align, bits
    )
    if extensible:
        fmt += struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", tag) + GUID_TAIL
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra
    size = frames * align if data_size is None else data_size
    body += b"data" + struct.pack("<I", size) + bytes(frames * align)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_stdlib_wave_16bit(tmp_path: Path) -> None:
    p = tmp_path / "a.wav"
    with wave.open(str(p), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(bytes(2 * 1600))
    assert read_header(p) == AudioHeader(16000, 1, 16, "PCM_16", 1600, "wav")


@pytest.mark.parametrize(
    ("tag", "bits", "channels", "extensible", "subtype"),
    [
        (1, 24, 1, False, "PCM_24"),
        (1, 32, 1, False, "PCM_32"),
        (3, 32, 1, False, "FLOAT"),
        (3, 64, 1, False, "DOUBLE"),
        (1, 16, 2, False, "PCM_16"),
        (1, 24, 2, True, "PCM_24"),
        (3, 32, 1, True, "FLOAT"),
        (1, 8, 1, False, "PCM_U8"),
    ],
)
def test_hand_written(
    tmp_path: Path, tag: int, bits: int, channels: int, extensible: bool, subtype: str
) -> None:
    p = tmp_path / "a.wav"
    p.write_bytes(riff(tag, bits, channels, 44100, 321, extensible))
    h = read_header(p)
    assert h == AudioHeader(44100, channels, bits, subtype, 321, "wav")
    assert isinstance(h, AudioHeader) and h.seconds == pytest.approx(321 / 44100)


def test_skips_unknown_chunks_and_odd_padding(tmp_path: Path) -> None:
    p = tmp_path / "a.wav"
    p.write_bytes(riff(1, 16, frames=50, extra=b"LIST" + struct.pack("<I", 3) + b"abc\x00"))
    assert read_header(p) == AudioHeader(22050, 1, 16, "PCM_16", 50, "wav")


def test_streaming_size_uses_file_size(tmp_path: Path) -> None:
    p = tmp_path / "a.wav"
    p.write_bytes(riff(1, 16, frames=70, data_size=0xFFFFFFFF))
    h = read_header(p)
    assert isinstance(h, AudioHeader) and h.frames == 70


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (b"", "unreadable"),
        (b"RIFF\x00\x00", "unreadable"),
        (b"RIFF\x10\x00\x00\x00WAVEdata", "unreadable"),
        (b"RIFX" + bytes(40), "unsupported"),
        (b"hello world", "unreadable"),
    ],
)
def test_problems(tmp_path: Path, content: bytes, kind: str) -> None:
    p = tmp_path / "a.wav"
    p.write_bytes(content)
    h = read_header(p)
    assert isinstance(h, HeaderProblem) and h.kind == kind, h


def test_missing_and_directory(tmp_path: Path) -> None:
    assert read_header(tmp_path / "nope.wav") == HeaderProblem("missing", "no such file")
    h = read_header(tmp_path)
    assert isinstance(h, HeaderProblem) and h.kind == "unreadable"


def test_alaw_and_unknown_tag(tmp_path: Path) -> None:
    p = tmp_path / "a.wav"
    p.write_bytes(riff(6, 8))
    assert isinstance(read_header(p), AudioHeader)
    p.write_bytes(riff(0x55, 16))  # MPEG layer 3 inside RIFF
    h = read_header(p)
    assert isinstance(h, HeaderProblem) and h.kind == "unsupported"


def test_non_wav_without_soundfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "soundfile", None)
    p = tmp_path / "a.flac"
    p.write_bytes(b"fLaC" + bytes(64))
    h = read_header(p)
    assert isinstance(h, HeaderProblem) and h.kind == "no-reader"


def test_non_wav_with_soundfile(tmp_path: Path) -> None:
    sf = pytest.importorskip("soundfile")
    p = tmp_path / "a.flac"
    sf.write(str(p), [0.0] * 800, 16000, subtype="PCM_24", format="FLAC")
    assert read_header(p) == AudioHeader(16000, 1, 24, "PCM_24", 800, "flac")


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.binary(max_size=200),
        st.binary(max_size=120).map(lambda b: b"RIFF" + b[:4] + b"WAVE" + b[4:]),
    )
)
def test_never_raises(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "fuzz.wav"
    p.write_bytes(content)
    assert isinstance(read_header(p), (AudioHeader, HeaderProblem))
