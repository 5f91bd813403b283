"""GPT-SoVITS stage 2's worst case from its own experiment folder.

GPT-SoVITS names no filelist in its config: its dataset formatting writes the experiment
folder (``data.exp_dir``; ``s2_train.py`` also saves the config there as ``config.json``):
``2-name2text.txt`` (one line per clip: name, phones separated by spaces, word-to-phone
counts, normalised text; tab-separated), ``4-cnhubert/<name>.pt`` (SSL features),
``5-wav32k/<name>`` (the audio) and, for v2Pro, ``7-sv_cn/<name>.pt``. Its loader keeps the
clips present in all of them whose duration (file size / sampling rate / 2) is between 0.6
and 54 seconds, counts each one ``file size // (2 * hop_length)`` frames, and its bucket
sampler drops those outside 32 < frames <= 1900. The step reads every phone (no blanks).
Torch-free, like the rest of the estimator's data reading.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vitscfg.data.buckets import GPT_SOVITS_BUCKETS
from vitscfg.estimate.data import Lengths, _with_note

NAME2TEXT = "2-name2text.txt"
SSL_DIR, WAV_DIR, SV_DIR = "4-cnhubert", "5-wav32k", "7-sv_cn"
#: The loader's duration window, in seconds (exclusive).
MIN_SECONDS, MAX_SECONDS = 0.6, 54.0
#: A dataset smaller than this is repeated up to it (at least twice) by the loader.
MIN_ITEMS = 100


def experiment_dir(config: Mapping[str, Any], config_path: str | os.PathLike[str]) -> Path | None:
    """The folder holding ``2-name2text.txt``: the config's own folder (where s2_train.py
    saves it), else ``data.exp_dir`` (absolute, or relative to the config's folder or the
    working directory)."""
    here = Path(config_path).parent
    candidates = [here]
    exp = (config.get("data") or {}).get("exp_dir")
    if isinstance(exp, str) and exp.strip():
        p = Path(exp)
        candidates += [p] if p.is_absolute() else [here / p, Path.cwd() / p]
    return next((c for c in candidates if (c / NAME2TEXT).is_file()), None)


def _names(folder: Path, suffix: str = "") -> set[str]:
    if not folder.is_dir():
        return set()
    return {n[: len(n) - len(suffix)] if suffix else n for n in os.listdir(folder)}


def read_experiment(
    folder: Path, sampling_rate: int, hop_length: int, pro: bool
) -> tuple[list[tuple[int, int]], int]:
    """``([(frames, phones) per kept clip], utterances per epoch)`` as the loader and the
    bucket sampler see ``folder``."""
    phones: dict[str, int] = {}
    text = (folder / NAME2TEXT).read_text(encoding="utf-8").strip("\n")
    for line in text.split("\n"):
        cols = line.split("\t")
        if len(cols) == 4:  # the loader skips other lines
            phones[cols[0]] = len(cols[1].split(" "))
    names = set(phones) & _names(folder / SSL_DIR, ".pt") & _names(folder / WAV_DIR)
    if pro:
        names &= _names(folder / SV_DIR, ".pt")
    kept: list[tuple[int, int]] = []
    for name in sorted(names):
        size = os.path.getsize(folder / WAV_DIR / name)
        seconds = size / sampling_rate / 2
        frames = size // (2 * hop_length)
        if MIN_SECONDS < seconds < MAX_SECONDS and GPT_SOVITS_BUCKETS.kept(frames):
            kept.append((frames, phones[name]))
    copies = 1 if len(names) >= MIN_ITEMS or not names else max(2, MIN_ITEMS // len(names))
    return kept, len(kept) * copies


def gpt_sovits_lengths(
    config: Mapping[str, Any], config_path: str | os.PathLike[str], limits: Lengths
) -> Lengths:
    """The experiment folder's worst case (phones, SSL frames), or ``limits`` with a note
    saying why there is none to read."""
    # Lazy: the model package imports torch; the version rule lives with the model.
    from vitscfg.model.gpt_sovits import PRO_VERSIONS, gpt_sovits_version

    folder = experiment_dir(config, config_path)
    if folder is None:
        why = (
            f"no {NAME2TEXT} beside the config or in data.exp_dir (GPT-SoVITS's dataset "
            "formatting writes it into the experiment folder): using the loader limits"
        )
        return _with_note(limits, why)
    data = config.get("data") or {}
    try:
        pro = gpt_sovits_version(config) in PRO_VERSIONS
    except ValueError:  # v3/v4: estimate refuses those configs before their data matters
        pro = False
    kept, utterances = read_experiment(
        folder, int(data["sampling_rate"]), int(data["hop_length"]), pro
    )
    if not kept:
        why = (
            f"{folder}: no clip of {NAME2TEXT} has its SSL features, its audio and a length "
            f"the loader keeps ({MIN_SECONDS}-{MAX_SECONDS:g} s, {GPT_SOVITS_BUCKETS.low + 1}-"
            f"{GPT_SOVITS_BUCKETS.high} frames): using the loader limits"
        )
        return _with_note(limits, why)
    frames = tuple(f for f, _ in kept)
    return Lengths(max(p for _, p in kept), max(frames), "data", utterances, frames)
