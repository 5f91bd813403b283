"""One clip on disk: its samples scaled as the reference scales them, resampled when
allowed, and its linear spectrogram with the cache file that keeps it between runs.

The cache file name carries a hash of the STFT parameters (`<name>.<key>.spec.pt`), so
a cache from other settings is never reused; it is written atomically, so a kill cannot
leave a truncated file, and a cache whose frame count does not fit the audio is
recomputed.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from vitscfg.atomic import atomic_write_bytes
from vitscfg.data.audio_header import AudioHeader

# wave (1, T) -> spectrogram (C, T // hop_length): the reference framing (reflect
# padding of (n_fft - hop) / 2, center=False), which the trainer's crops rely on.
SpecFn = Callable[[torch.Tensor], torch.Tensor]

# The divisor each sample format needs (what scipy.io.wavfile returns, which
# the reference divides by max_wav_value); soundfile reads
# PCM_16 as int16, PCM_24/32 left-aligned in int32, float as float.
_READ_AS = {"PCM_16": ("int16", 32768.0), "PCM_24": ("int32", 2147483648.0)}
_READ_AS |= {"PCM_32": ("int32", 2147483648.0), "FLOAT": ("float32", 1.0)}
_READ_AS |= {"DOUBLE": ("float32", 1.0)}


class DataError(Exception):
    """The data does not fit the config; the message says what and where."""


@dataclass(frozen=True)
class AudioParams:
    sampling_rate: int
    max_wav_value: float
    filter_length: int
    hop_length: int
    win_length: int

    @property
    def seconds_per_frame(self) -> float:
        return self.hop_length / self.sampling_rate

    def cache_key(self, tag: str = "linear") -> str:
        """Short hash of everything the cached spectrogram depends on besides the audio."""
        text = (
            f"{self.filter_length},{self.hop_length},{self.win_length},{self.sampling_rate},{tag}"
        )
        return hashlib.sha256(text.encode()).hexdigest()[:10]


@dataclass(frozen=True)
class LinearSpectrogram:
    """The default spec_fn: `vitscfg.model.mel.spectrogram` for one clip (picklable,
    so DataLoader workers can be spawned as well as forked)."""

    filter_length: int
    hop_length: int
    win_length: int

    @classmethod
    def of(cls, audio: AudioParams) -> LinearSpectrogram:
        return cls(audio.filter_length, audio.hop_length, audio.win_length)

    def __call__(self, wave: torch.Tensor) -> torch.Tensor:
        from vitscfg.model.mel import spectrogram

        return spectrogram(wave, self.filter_length, self.hop_length, self.win_length).squeeze(0)


def cache_path(audio: Path, key: str, cache_dir: Path | None = None) -> Path:
    """`<dir>/<stem>.<key>.spec.pt` next to the audio; in a shared cache_dir the
    stem also gets a hash of the absolute audio path (two folders may hold `1.wav`)."""
    if cache_dir is None:
        return audio.with_name(f"{audio.stem}.{key}.spec.pt")
    where = hashlib.sha256(str(audio.resolve()).encode()).hexdigest()[:8]
    return cache_dir / f"{audio.stem}.{where}.{key}.spec.pt"


def load_wave(
    path: Path, audio: AudioParams, header: AudioHeader, resample: bool = False
) -> torch.Tensor:
    """(1, T) float32: raw samples / max_wav_value, resampled to the config's rate
    when allowed. The header has been validated by the dataset."""
    import soundfile

    dtype, _ = _READ_AS.get(header.subtype, ("float32", 1.0))
    data, rate = soundfile.read(str(path), dtype=dtype, always_2d=True)
    wave = torch.from_numpy(data.T.copy()).float()
    if dtype != "float32" or audio.max_wav_value != 1.0:
        wave = wave / audio.max_wav_value
    if rate != audio.sampling_rate:
        if not resample:
            raise DataError(f"{path}: {rate} Hz, but data.sampling_rate is {audio.sampling_rate}")
        import torchaudio.functional as AF

        wave = AF.resample(wave, rate, audio.sampling_rate)
    return wave[:1]


def save_tensor(path: Path, tensor: torch.Tensor) -> bool:
    """torch.save into memory, then an atomic write. False when the folder is not
    writable (read-only datasets train without a cache)."""
    buffer = io.BytesIO()
    torch.save(tensor.detach().cpu().contiguous(), buffer)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, buffer.getvalue())
    except OSError:
        return False
    return True


def load_cached(path: Path, frames: int) -> torch.Tensor | None:
    """A cached spectrogram with `frames` frames, or None (missing, unreadable, or
    from other audio)."""
    if not path.is_file():
        return None
    try:
        spec = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # truncated or foreign file: rebuild it
        return None
    if isinstance(spec, torch.Tensor) and spec.dim() == 2 and spec.shape[1] == frames:
        return spec.float()
    return None


def full_scale(subtype: str) -> float:
    """The max_wav_value a sample format needs (1.0 for float and unknown formats)."""
    return _READ_AS.get(subtype, ("", 1.0))[1]


def scale_fits(subtype: str, max_wav_value: float) -> bool:
    """Whether max_wav_value scales this format to [-1, 1] (within 1 %)."""
    return subtype not in _READ_AS or abs(max_wav_value / full_scale(subtype) - 1.0) < 0.01
