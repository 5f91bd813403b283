"""How loud a WAV file is, from a few windows of its samples, without numpy or torch.

The linter must flag silent or near-silent clips (a dead microphone, a failed
export, a clip cut in a pause) on datasets of thousands of files, so it reads
WINDOWS windows of WINDOW_FRAMES frames spread evenly over the data chunk (about
16 KB per 16-bit mono file) and decodes them with the stdlib `array` module.
A clip is judged by its loudest sampled window: speech that is silent in every
one of them is silent or nearly so.
"""

from __future__ import annotations

import math
import os
import struct
import sys
from array import array
from pathlib import Path

from vitscfg.data.audio_header import AudioHeader, read_header

WINDOWS = 8
WINDOW_FRAMES = 1024
# Sample formats this reader decodes: array typecode, bytes per sample, full scale.
_DECODE = {
    "PCM_16": ("h", 2, 32768.0),
    "PCM_24": ("h", 3, 32768.0),  # top two bytes of each sample, as int16
    "PCM_32": ("i", 4, 2147483648.0),
    "FLOAT": ("f", 4, 1.0),
    "DOUBLE": ("d", 8, 1.0),
}


def _data_offset(path: Path) -> int | None:
    """Byte offset of the `data` chunk's payload, or None when it cannot be found."""
    with path.open("rb") as f:
        if f.read(12)[8:12] != b"WAVE":
            return None
        size = os.fstat(f.fileno()).st_size
        offset = 12
        for _ in range(64):
            head = f.read(8)
            if len(head) < 8:
                return None
            chunk_size = struct.unpack("<I", head[4:])[0]
            offset += 8
            if head[:4] == b"data":
                return offset
            offset += chunk_size + (chunk_size & 1)
            if offset >= size:
                return None
            f.seek(offset)
    return None


def _window_peak(raw: bytes, subtype: str) -> float:
    """The largest |sample| / full scale in `raw` (0.0 when it holds no whole sample)."""
    code, width, scale = _DECODE[subtype]
    usable = len(raw) - len(raw) % width
    raw = raw[:usable]
    if subtype == "PCM_24":
        top = bytearray(len(raw) // 3 * 2)
        top[0::2], top[1::2] = raw[1::3], raw[2::3]
        raw = bytes(top)
    values = array(code, raw)
    if not values:
        return 0.0
    if sys.byteorder == "big":
        values.byteswap()
    return max(max(values), -min(values)) / scale


def peak_dbfs(path: str | os.PathLike[str], header: AudioHeader | None = None) -> float | None:
    """The loudest sampled value of a WAV in dBFS (-inf for digital silence), or None
    when the file is not a WAV this reader decodes (it is then simply not judged)."""
    p = Path(path)
    head = header if header is not None else read_header(p)
    if not isinstance(head, AudioHeader) or head.container != "wav":
        return None
    if head.subtype not in _DECODE or head.frames <= 0:
        return None
    _, width, _ = _DECODE[head.subtype]
    frame_bytes = width * head.channels
    try:
        start = _data_offset(p)
        if start is None:
            return None
        span = min(WINDOW_FRAMES, head.frames)
        step = max((head.frames - span) // max(WINDOWS - 1, 1), 1)
        firsts = sorted({min(i * step, head.frames - span) for i in range(WINDOWS)})
        peak = 0.0
        with p.open("rb") as f:
            for first in firsts:
                f.seek(start + first * frame_bytes)
                peak = max(peak, _window_peak(f.read(span * frame_bytes), head.subtype))
    except OSError:
        return None
    if not math.isfinite(peak):
        return 0.0
    return 20 * math.log10(peak) if peak > 0 else -math.inf
