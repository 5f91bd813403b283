"""Length bucketing of the reference `DistributedBucketSampler` (jaywalnut310/vits).

The sampler sorts clips into buckets by spectrogram frames with hard-coded
boundaries, silently drops clips outside them, and divides by the size of the
first bucket, so which clips survive is a property of the data, not the config.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Buckets:
    boundaries: tuple[int, ...]

    @property
    def low(self) -> int:
        """Clips with at most this many frames are dropped."""
        return self.boundaries[0]

    @property
    def high(self) -> int:
        """Clips with more than this many frames are dropped."""
        return self.boundaries[-1]

    def kept(self, frames: int) -> bool:
        return self.low < frames <= self.high

    def in_first(self, frames: int) -> bool:
        """Whether a clip lands in bucket 0, the one the clean-up loop never removes."""
        return self.low < frames <= self.boundaries[1]


VITS_BUCKETS = Buckets((32, 300, 400, 500, 600, 700, 800, 900, 1000))  # vits train.py:70
RVC_BUCKETS = Buckets((100, 200, 300, 400, 500, 600, 700, 800, 900))  # rvc train.py:144
# GPT-SoVITS s2_train.py: lengths are wav samples // hop (its loader's 54 s limit is longer).
GPT_SOVITS_BUCKETS = Buckets((32, *range(300, 2000, 100)))  # 32, 300, 400, ..., 1900

# so-vits-svc has no bucket sampler; rvc/gpt-sovits name no filelist in the config.
_BY_DIALECT = {
    "vits": VITS_BUCKETS,
    "vits2": VITS_BUCKETS,
    "mb-istft-vits": VITS_BUCKETS,
    "mb-istft-vits2": VITS_BUCKETS,
    "bert-vits2": VITS_BUCKETS,
    "style-bert-vits2": VITS_BUCKETS,
    "melotts": VITS_BUCKETS,
    "vitscfg": VITS_BUCKETS,
    "rvc": RVC_BUCKETS,
    "gpt-sovits": GPT_SOVITS_BUCKETS,
}


def buckets_for(dialect: str) -> Buckets | None:
    return _BY_DIALECT.get(dialect)


def spec_frames(samples: int, hop_length: int) -> int:
    """Spectrogram frames for a clip: the STFT pads (n_fft - hop) / 2 per side with
    center=False, which yields exactly samples // hop frames."""
    return samples // hop_length
