"""Helpers for the trainer tests: a micro config over the bundled tiny corpus.

The tiny config's model (2.3 M G + 47 M D) takes seconds per CPU step; these tests
shrink every width (discriminator_width 1/16, 32 channels, 2048-sample segments) so a
step costs a fraction of a second on 2 cores, while keeping every code path: MAS, the
duration predictor, the flow, the decoder and all six discriminators.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "examples" / "tiny"

MICRO_MODEL: dict[str, Any] = {
    "inter_channels": 32,
    "hidden_channels": 32,
    "filter_channels": 64,
    "n_layers": 1,
    "p_dropout": 0.0,
    "resblock": "2",
    "resblock_kernel_sizes": [3],
    "resblock_dilation_sizes": [[1, 3]],
    "upsample_initial_channel": 32,
    "use_sdp": False,
    "discriminator_width": 0.0625,
}


def lines(name: str) -> list[str]:
    return (TINY / "filelists" / name).read_text(encoding="utf-8").splitlines()


def make_config(
    folder: Path,
    *,
    train_lines: list[str] | None = None,
    val_lines: list[str] | None = None,
    train: dict[str, Any] | None = None,
    model: dict[str, Any] | None = None,
) -> Path:
    """Write ``folder/config.json`` with filelists next to it and ``wavs`` linked to the
    tiny corpus (relative paths resolve against the config's folder)."""
    config = json.loads((TINY / "config.json").read_text(encoding="utf-8"))
    config["$schema"] = str(REPO / "schemas" / "vitscfg.schema.json")
    return write_micro_config(
        folder, config, train_lines=train_lines, val_lines=val_lines, train=train, model=model
    )


def write_micro_config(
    folder: Path,
    config: dict[str, Any],
    *,
    train_lines: list[str] | None = None,
    val_lines: list[str] | None = None,
    train: dict[str, Any] | None = None,
    model: dict[str, Any] | None = None,
) -> Path:
    """Write ``config`` shrunk to the micro model (then ``model``/``train`` on top) as
    ``folder/config.json``, with filelists next to it and ``wavs`` linked to the tiny
    corpus; ``config`` is updated in place (the caller's fresh copy)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "filelists").mkdir(exist_ok=True)
    wavs = folder / "wavs"
    if not wavs.exists():
        wavs.symlink_to(TINY / "wavs", target_is_directory=True)
    (folder / "filelists" / "train.txt").write_text(
        "\n".join(train_lines or lines("train.txt")) + "\n", encoding="utf-8"
    )
    (folder / "filelists" / "val.txt").write_text(
        "\n".join(val_lines or lines("val.txt")[:1]) + "\n", encoding="utf-8"
    )
    config["model"].update(MICRO_MODEL)
    config["model"].update(model or {})
    config["train"].update(
        {"segment_size": 2048, "batch_size": 2, "log_interval": 1, "eval_interval": 1000}
    )
    config["train"].update(train or {})
    path = folder / "config.json"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


def nan_mel_from_second_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``vitscfg.model.losses.mel_loss`` NaN from its second call on (one good step,
    then a non-finite g/mel in every step)."""
    import vitscfg.model.losses as losses

    real = losses.mel_loss
    calls = {"n": 0}

    def nan_after_first_step(a: Any, b: Any) -> Any:
        calls["n"] += 1
        value = real(a, b)
        return value if calls["n"] == 1 else value * float("nan")

    monkeypatch.setattr(losses, "mel_loss", nan_after_first_step)


def recording_console() -> tuple[Console, io.StringIO]:
    """A wide console that writes into the returned buffer (the run's output, unwrapped)."""
    buffer = io.StringIO()
    return Console(file=buffer, width=300, highlight=False, soft_wrap=True), buffer


def write_rank_report(
    out_dir: Path,
    dist: Any,
    before: Any,
    after: Any,
    losses: list[float],
    skipped: list[bool],
    **extra: Any,
) -> None:
    """A DDP test worker's ``out_dir/rank<r>.json``: its rank, the world size, the parameter
    digests before and after, its losses and skips per step (then ``extra``)."""
    report = {
        "rank": dist.rank,
        "world_size": dist.world_size,
        "before": before,
        "after": after,
        "losses": losses,
        "skipped": skipped,
        **extra,
    }
    (out_dir / f"rank{dist.rank}.json").write_text(json.dumps(report), encoding="utf-8")
