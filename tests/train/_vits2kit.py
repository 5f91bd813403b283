"""Helpers for the VITS2 trainer tests: a micro VITS2 config over the bundled tiny corpus.

examples/tiny_vits2 costs seconds per CPU step; these tests shrink its widths to
_trainkit's micro model (32 channels, one layer, 2048-sample segments) while keeping every
VITS2 path: the ``pre_conv`` transformer flow, the mel posterior encoder, the noise-scaled
alignment search and the ``dur_disc_1`` duration discriminator.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from _trainkit import MICRO_MODEL, REPO, TINY, lines

EXAMPLE = REPO / "examples" / "tiny_vits2" / "config.json"


def make_vits2_config(
    folder: Path,
    *,
    train_lines: list[str] | None = None,
    train: dict[str, Any] | None = None,
    model: dict[str, Any] | None = None,
) -> Path:
    """Write ``folder/config.json`` (a vits2 config: no ``$schema``, the fork's keys) with
    filelists next to it and ``wavs`` linked to the tiny corpus."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "filelists").mkdir(exist_ok=True)
    wavs = folder / "wavs"
    if not wavs.exists():
        wavs.symlink_to(TINY / "wavs", target_is_directory=True)
    (folder / "filelists" / "train.txt").write_text(
        "\n".join(train_lines or lines("train.txt")) + "\n", encoding="utf-8"
    )
    (folder / "filelists" / "val.txt").write_text(
        "\n".join(lines("val.txt")[:1]) + "\n", encoding="utf-8"
    )
    config = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    config["model"].update(MICRO_MODEL)
    config["model"].update(model or {})
    config["train"].update(
        {"segment_size": 2048, "batch_size": 2, "log_interval": 1, "eval_interval": 1000}
    )
    config["train"].update(train or {})
    path = folder / "config.json"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path
