"""Config templates for `vitscfg init`: the bundled examples' model shapes (``tiny`` as
examples/tiny, ``base`` as examples/ljs_base) with an STFT, hop and decoder upsampling
that fit the sample rate.

Per rate: the hop is about 11.6 ms (256 samples at 22.05 kHz, as the reference), the FFT
and window four hops rounded up to a power of two or the hop's multiple the forks use, and
the decoder's upsampling factors multiply to the hop (each kernel twice its factor, so
the transposed convolutions tile without gaps). Fields not set here take the schema's
defaults (vitscfg/config/schema), which `check` and the trainer read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Stft:
    filter_length: int
    hop_length: int
    upsample_rates: tuple[int, ...]

    @property
    def upsample_kernel_sizes(self) -> list[int]:
        return [2 * r for r in self.upsample_rates]


# 22050/24000 as jaywalnut310/vits; 32000, 40000, 48000 as the 32k/40k/48k configs of
# so-vits-svc and RVC; 44100 as Bert-VITS2's.
STFT: dict[int, Stft] = {
    22050: Stft(1024, 256, (8, 8, 2, 2)),
    24000: Stft(1024, 256, (8, 8, 2, 2)),
    32000: Stft(1280, 320, (10, 8, 2, 2)),
    40000: Stft(2048, 400, (10, 10, 2, 2)),
    44100: Stft(2048, 512, (8, 8, 2, 2, 2)),
    48000: Stft(2048, 480, (10, 6, 2, 2, 2)),
}
RATES: tuple[int, ...] = tuple(STFT)
TEMPLATES: tuple[str, ...] = ("tiny", "base")
SEGMENT_FRAMES = 32  # segment_size = 32 hops, the reference's 8192 at hop 256

_MODEL: dict[str, dict[str, Any]] = {
    "tiny": {
        "inter_channels": 64,
        "hidden_channels": 64,
        "filter_channels": 256,
        "n_heads": 2,
        "n_layers": 2,
        "upsample_initial_channel": 64,
        # A 2.3 M-parameter generator does not need the 46.7 M-parameter discriminator:
        # at 0.25 it has 1/16 of the parameters (README "A light first run").
        "discriminator_width": 0.25,
    },
    "base": {
        "inter_channels": 192,
        "hidden_channels": 192,
        "filter_channels": 768,
        "n_heads": 2,
        "n_layers": 6,
        "upsample_initial_channel": 512,
    },
}
_TRAIN: dict[str, dict[str, Any]] = {
    "tiny": {"log_interval": 10, "eval_interval": 200, "batch_size": 4, "keep_ckpts": 2},
    "base": {"log_interval": 200, "eval_interval": 1000, "batch_size": 16, "keep_ckpts": 3},
}


def gin_channels(template: str) -> int:
    return 64 if template == "tiny" else 256


def build_config(
    *,
    rate: int,
    template: str,
    cleaners: list[str],
    n_speakers: int,
    use_gpu: bool,
    schema_ref: str,
) -> dict[str, Any]:
    """The config `vitscfg init` writes (filelists at filelists/train.txt and val.txt)."""
    stft = STFT[rate]
    model: dict[str, Any] = {
        **_MODEL[template],
        "kernel_size": 3,
        "p_dropout": 0.1,
        "resblock": "1",
        "resblock_kernel_sizes": [3, 7, 11],
        "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
        "upsample_rates": list(stft.upsample_rates),
        "upsample_kernel_sizes": stft.upsample_kernel_sizes,
        "use_spectral_norm": False,
        "use_sdp": True,
        "gin_channels": gin_channels(template) if n_speakers > 1 else 0,
    }
    return {
        "$schema": schema_ref,
        "train": {
            "use_gpu": use_gpu,
            **_TRAIN[template],
            "seed": 1234,
            "epochs": 10000,
            "learning_rate": 2e-4,
            "betas": [0.8, 0.99],
            "eps": 1e-9,
            "fp16_run": False,
            "lr_decay": 0.999875,
            "segment_size": SEGMENT_FRAMES * stft.hop_length,
            "c_mel": 45,
            "c_kl": 1.0,
        },
        "data": {
            "training_files": "filelists/train.txt",
            "validation_files": "filelists/val.txt",
            "text_cleaners": cleaners,
            "max_wav_value": 32768.0,
            "sampling_rate": rate,
            "filter_length": stft.filter_length,
            "hop_length": stft.hop_length,
            "win_length": stft.filter_length,
            "n_mel_channels": 80,
            "mel_fmin": 0.0,
            "mel_fmax": None,
            "add_blank": True,
            "n_speakers": n_speakers if n_speakers > 1 else 0,
            "cleaned_text": False,
        },
        "model": model,
    }
