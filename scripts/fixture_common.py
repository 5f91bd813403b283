"""What the fork fixture scripts (scripts/fixtures_*.py) share: where the fixtures live, a
checkout's commit and symbol table, the gzipped JSON they write, a tensor's JSON form, and the
steps every VITS-family train script takes the same way (its mel pair and sliced waveform, its
AdamW, its generator loss terms).

The scripts run a fork's own code from a checkout given on the command line; this module holds
only vitscfg's side of that (it imports nothing from a fork: the fork's modules are arguments).
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "tests" / "fixtures" / "shared_configs"
FIXTURES = ROOT / "tests" / "model" / "fixtures"


def git_commit(path: Path, *, check: bool = True) -> str:
    """The commit a checkout is at (empty where ``check`` is off and it is no git checkout)."""
    return subprocess.run(
        ["git", "-C", str(path), "rev-parse", "HEAD"], check=check, capture_output=True, text=True
    ).stdout.strip()


def symbol_count(path: Path) -> int:
    """How many text symbols a checkout's ``text/symbols.py`` lists (its ``n_vocab``); loaded
    alone because ``text/__init__`` pulls in the phonemizer."""
    spec = importlib.util.spec_from_file_location("fork_symbols", path / "text" / "symbols.py")
    assert spec is not None and spec.loader is not None
    symbols: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(symbols)
    return len(symbols.symbols)


def write_gz_json(path: Path, payload: dict[str, Any], indent: int | None = None) -> Path:
    """``payload`` as gzipped JSON with sorted keys; mtime=0: the same content gives the same
    bytes (no churn in git)."""
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
        f.write(json.dumps(payload, indent=indent, sort_keys=True).encode())
    return path


def shapes(module: torch.nn.Module) -> dict[str, list[int]]:
    """Every state_dict key of ``module`` with its shape (the files sort them when written)."""
    return {k: list(v.shape) for k, v in module.state_dict().items()}


def floats(t: torch.Tensor, digits: int | None = None) -> dict[str, Any]:
    """A tensor's JSON form: its shape and float values (to ``digits`` significant digits)."""
    values = t.detach().float().flatten().tolist()
    if digits is not None:
        values = [float(f"{v:.{digits}g}") for v in values]
    return {"shape": list(t.shape), "values": values}


def adamw(net: torch.nn.Module, train: dict[str, Any]) -> torch.optim.Optimizer:
    """The train scripts' optimizer, from the config's train section."""
    return torch.optim.AdamW(
        net.parameters(), train["learning_rate"], betas=train["betas"], eps=train["eps"]
    )


@dataclass
class Segments:
    """What a VITS train script compares in its generator step: the target mel of the sliced
    frames, the generated audio's mel and the sliced real waveform."""

    y_mel: torch.Tensor
    y_hat_mel: torch.Tensor
    wave: torch.Tensor


def segments(
    mel: Any,
    commons: Any,
    config: dict[str, Any],
    spec: torch.Tensor,
    y_hat: torch.Tensor,
    ids: torch.Tensor,
    wave: torch.Tensor,
    *,
    spec_is_mel: bool = False,
) -> Segments:
    """The fork's mel of ``spec`` (itself where it is a mel already) sliced at ``ids``, the
    fork's mel of ``y_hat`` and the waveform's slice; ``mel`` / ``commons``: the fork's
    mel_processing and commons modules."""
    data, train = config["data"], config["train"]
    if spec_is_mel:
        spec_mel = spec
    else:
        spec_mel = mel.spec_to_mel_torch(
            spec,
            data["filter_length"],
            data["n_mel_channels"],
            data["sampling_rate"],
            data["mel_fmin"],
            data["mel_fmax"],
        )
    frames = train["segment_size"] // data["hop_length"]
    y_hat_mel = mel.mel_spectrogram_torch(
        y_hat.squeeze(1),
        data["filter_length"],
        data["n_mel_channels"],
        data["sampling_rate"],
        data["hop_length"],
        data["win_length"],
        data["mel_fmin"],
        data["mel_fmax"],
    )
    return Segments(
        commons.slice_segments(spec_mel, ids, frames),
        y_hat_mel,
        commons.slice_segments(wave, ids * data["hop_length"], train["segment_size"]),
    )


@dataclass
class GenLosses:
    """The generator loss terms every VITS train script adds (weighted as it weights them)."""

    mel: torch.Tensor
    kl: torch.Tensor
    fm: torch.Tensor
    gen: torch.Tensor

    def total(self) -> torch.Tensor:
        """Their sum, in the scripts' order (gen + fm + mel, then the fork's own terms)."""
        return self.gen + self.fm + self.mel


def gen_losses(
    losses: Any,
    train: dict[str, Any],
    seg: Segments,
    latents: tuple[torch.Tensor, ...],
    z_mask: torch.Tensor,
    d_fake: Any,
    fmap_r: Any,
    fmap_g: Any,
) -> GenLosses:
    """``losses``: the fork's losses module; ``latents``: (z, z_p, m_p, logs_p, m_q, logs_q)."""
    _, z_p, m_p, logs_p, _, logs_q = latents
    loss_gen, _ = losses.generator_loss(d_fake)
    return GenLosses(
        mel=torch.nn.functional.l1_loss(seg.y_mel, seg.y_hat_mel) * train["c_mel"],
        kl=losses.kl_loss(z_p, logs_q, m_p, logs_p, z_mask) * train["c_kl"],
        fm=losses.feature_loss(fmap_r, fmap_g),
        gen=loss_gen,
    )
