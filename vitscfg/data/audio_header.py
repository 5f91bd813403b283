"""Read just enough of an audio file to know its rate, channels, sample format and
length, without decoding samples.

WAV is parsed here (RIFF chunks: `fmt ` then `data`, seeking over everything
else) because the linter must work without soundfile; other containers go through
`soundfile.info` when it happens to be installed. Problems are returned as values:
a dataset of 10,000 files must give one summary, not one traceback.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

WAVE_FORMAT_PCM = 0x0001
WAVE_FORMAT_IEEE_FLOAT = 0x0003
WAVE_FORMAT_ALAW = 0x0006
WAVE_FORMAT_MULAW = 0x0007
WAVE_FORMAT_EXTENSIBLE = 0xFFFE

# The tail every standard KSDATAFORMAT_SUBTYPE_* GUID shares; the first two bytes
# of the GUID carry the plain format tag.
_GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"

# A RIFF file whose `data` chunk is not within this many chunks is not a WAV we
# should trust (and bounds the work done on hostile input).
_MAX_CHUNKS = 64

ProblemKind = Literal["missing", "unreadable", "unsupported", "no-reader"]


@dataclass(frozen=True)
class AudioHeader:
    sample_rate: int
    channels: int
    bits_per_sample: int
    subtype: str  # soundfile's names: "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", ...
    frames: int  # samples per channel
    container: str = "wav"  # "wav" is what scipy.io.wavfile (the reference loader) reads

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate > 0 else 0.0


@dataclass(frozen=True)
class HeaderProblem:
    kind: ProblemKind
    message: str


def read_header(path: str | os.PathLike[str]) -> AudioHeader | HeaderProblem:
    """The header of one audio file, or why it could not be read. Never raises."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            magic = f.read(12)
            if magic[:4] in (b"RIFF", b"RIFX", b"RF64"):
                size = os.fstat(f.fileno()).st_size
                return _read_riff(f, magic, size)
            if p.suffix.lower() == ".wav":
                return HeaderProblem("unreadable", "named .wav but not a RIFF/WAVE file")
    except FileNotFoundError:
        return HeaderProblem("missing", "no such file")
    except IsADirectoryError:
        return HeaderProblem("unreadable", "is a directory")
    except OSError as exc:
        return HeaderProblem("unreadable", exc.strerror or str(exc))
    return _read_other(p)


def _read_riff(f: BinaryIO, magic: bytes, file_size: int) -> AudioHeader | HeaderProblem:
    if magic[:4] != b"RIFF":
        kind = "big-endian RIFX" if magic[:4] == b"RIFX" else "RF64"
        return HeaderProblem("unsupported", f"{kind} WAV: scipy.io.wavfile cannot read it")
    if len(magic) < 12 or magic[8:12] != b"WAVE":
        return HeaderProblem("unreadable", "RIFF file that is not WAVE")
    fmt: bytes | None = None
    offset = 12
    for _ in range(_MAX_CHUNKS):
        head = f.read(8)
        if len(head) < 8:
            break
        chunk_id, chunk_size = head[:4], struct.unpack("<I", head[4:])[0]
        offset += 8
        if chunk_id == b"fmt ":
            fmt = f.read(min(chunk_size, 64))
            if len(fmt) < 16:
                return HeaderProblem("unreadable", "truncated fmt chunk")
        elif chunk_id == b"data":
            if fmt is None:
                return HeaderProblem("unreadable", "data chunk before fmt chunk")
            # Streaming writers leave 0 or 0xFFFFFFFF here; the file size is the truth.
            available = max(file_size - offset, 0)
            data_size = chunk_size if 0 < chunk_size <= available else available
            return _from_fmt(fmt, data_size)
        offset += chunk_size + (chunk_size & 1)
        if offset > file_size:
            break
        f.seek(offset)
    if fmt is None:
        return HeaderProblem("unreadable", "no fmt chunk (truncated or not a WAV file)")
    return HeaderProblem("unreadable", "no data chunk (truncated file)")


def _from_fmt(fmt: bytes, data_size: int) -> AudioHeader | HeaderProblem:
    tag, channels, rate, _byte_rate, block_align, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == WAVE_FORMAT_EXTENSIBLE:
        if len(fmt) < 40:
            return HeaderProblem("unreadable", "truncated WAVE_FORMAT_EXTENSIBLE fmt chunk")
        valid_bits = struct.unpack("<H", fmt[18:20])[0]
        guid = fmt[24:40]
        if guid[2:] != _GUID_TAIL:
            return HeaderProblem(
                "unsupported", "WAVE_FORMAT_EXTENSIBLE with a non-standard sub-format"
            )
        tag = struct.unpack("<H", guid[:2])[0]
        # The container width decides how scipy reads the samples, not valid_bits.
        bits = bits or valid_bits
    if channels == 0 or rate == 0 or bits == 0:
        return HeaderProblem(
            "unreadable", f"fmt chunk with channels={channels}, rate={rate}, bits={bits}"
        )
    subtype = _subtype(tag, bits)
    if subtype is None:
        return HeaderProblem("unsupported", f"WAV format tag 0x{tag:04x} with {bits} bits")
    align = block_align or channels * ((bits + 7) // 8)
    return AudioHeader(rate, channels, bits, subtype, data_size // align, "wav")


def _subtype(tag: int, bits: int) -> str | None:
    if tag == WAVE_FORMAT_PCM:
        return {8: "PCM_U8", 16: "PCM_16", 24: "PCM_24", 32: "PCM_32", 64: "PCM_64"}.get(bits)
    if tag == WAVE_FORMAT_IEEE_FLOAT:
        return {32: "FLOAT", 64: "DOUBLE"}.get(bits)
    if tag == WAVE_FORMAT_ALAW:
        return "ALAW"
    if tag == WAVE_FORMAT_MULAW:
        return "ULAW"
    return None


_SUBTYPE_BITS = {
    "PCM_S8": 8,
    "PCM_U8": 8,
    "PCM_16": 16,
    "PCM_24": 24,
    "PCM_32": 32,
    "FLOAT": 32,
    "DOUBLE": 64,
    "ALAW": 8,
    "ULAW": 8,
}


def _read_other(p: Path) -> AudioHeader | HeaderProblem:
    """Non-WAV containers: only with soundfile, which the core install lacks."""
    try:
        import soundfile  # type: ignore[import-untyped,unused-ignore]
    except Exception:  # ImportError, or OSError when libsndfile itself is missing
        return HeaderProblem("no-reader", "not a WAV file and soundfile is not installed")
    try:
        info = soundfile.info(str(p))
    except Exception as exc:  # soundfile raises its own LibsndfileError (a RuntimeError)
        return HeaderProblem("unreadable", f"not a readable audio file ({exc})")
    subtype = str(info.subtype)
    return AudioHeader(
        int(info.samplerate),
        int(info.channels),
        _SUBTYPE_BITS.get(subtype, 0),
        subtype,
        int(info.frames),
        str(info.format).lower(),
    )
