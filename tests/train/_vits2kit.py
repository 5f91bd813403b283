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

from _trainkit import REPO, write_micro_config

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
    config = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    return write_micro_config(folder, config, train_lines=train_lines, train=train, model=model)


def seeded_one_batch(example: Path, dialect: str) -> tuple[dict[str, Any], Any, Any, Any]:
    """(config, train settings, a batch of ``example``'s first two val items, the step
    state for ``dialect``) on the CPU in fp32, seeded 0: the losses-fall tests' start."""
    import torch

    from vitscfg.config.typed import trainer_settings
    from vitscfg.data.batch import collate
    from vitscfg.data.dataset import TextAudioDataset
    from vitscfg.train.evaluate import to_step_batch
    from vitscfg.train.state import build_step_state
    from vitscfg.train.vits2_run import spec_options

    config = json.loads(example.read_text())
    train = trainer_settings(config)
    torch.manual_seed(0)
    spec = spec_options(config, train) or {}  # the mel posterior encoder's frames
    data = TextAudioDataset.from_config(config, "val", example, **spec)
    batch = to_step_batch(collate([data[i] for i in range(2)]), torch.device("cpu"), False)
    parts = build_step_state(config, train, "fp32", torch.device("cpu"), dialect=dialect)
    return config, train, batch, parts
