"""Keys that mean the same thing in different forks.

Forks rename the reference keys (`sampling_rate` is `sample_rate` in Applio and in
daniilrobnikov/vits2, `filter_length` is `n_fft`, `n_mel_channels` is `n_mels` or
`mel_channels`, a `speakers` list stands for `n_speakers`). A renamed key is
evidence about which fork wrote the file; it is never a typo in a fork that reads
it under that name, so the linter must not offer a "did you mean" for it there.

Pure data, no imports: detection (config/) and the field rules (lint/) both read it.
"""

from __future__ import annotations

#: canonical key (the reference VITS name) -> names other forks use for it
SYNONYMS: dict[str, tuple[str, ...]] = {
    "sampling_rate": ("sample_rate", "sr", "sampling_rate_hz"),
    "filter_length": ("n_fft", "fft_size"),
    "n_mel_channels": ("n_mels", "mel_channels", "num_mels"),
    "mel_fmin": ("f_min", "fmin"),
    "mel_fmax": ("f_max", "fmax"),
    "hop_length": ("hop_size",),
    "win_length": ("win_size", "window_length"),
    "n_speakers": ("num_speakers", "speakers", "spk2id", "n_spk"),
    "segment_size": ("segments_size", "segment_length"),
    "training_files": ("train_data_path", "train_filelist"),
    "validation_files": ("eval_data_path", "val_data_path", "validation_filelist"),
    "epochs": ("max_epochs", "total_epoch"),
}

#: alias -> canonical
CANONICAL: dict[str, str] = {alias: key for key, names in SYNONYMS.items() for alias in names}


def canonical(key: str) -> str:
    """The reference name of `key` (itself when it has no known alias)."""
    return CANONICAL.get(key, key)


def is_synonym_of(alias: str, key: str) -> bool:
    """True when `alias` is another fork's name for `key` (e.g. sample_rate, sampling_rate)."""
    return alias != key and canonical(alias) == canonical(key)
