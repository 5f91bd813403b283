"""What `vitscfg train` does differently for VITS2 configs: ``Vits2Trainer``, the one loop
(loop.py's Trainer) with VITS2's step, frames and extra checkpoints in its hooks.

- The step is the fork's (`vitscfg.train.vits2_step`): duration discriminator, D, then G,
  the alignment noise at the scale of the global step. The noise scale is a function of the
  global step alone, so a resumed run continues the schedule from the checkpoint's step.
- With ``model.use_mel_posterior_encoder`` the datasets make log-mel frames instead of the
  linear spectrogram (`vitscfg.data.mel_frames`): the posterior encoder's input and the mel
  loss's target, as in the fork's data loader.
- The duration discriminator ("DurDisc") is saved with each G/D pair as ``DUR_<step>.pth``
  (the fork's file name; the reference checkpoint keys, loadable with
  ``torch.load(weights_only=True)``) and resumed from the pair's step; its scheduler steps
  once per epoch like the others.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from torch import nn

from vitscfg.atomic import atomic_write_bytes
from vitscfg.config.schema.train import VitscfgTrain
from vitscfg.data.mel_frames import LogMelFrames
from vitscfg.model.checkpoint_compat import model_state_from_checkpoint
from vitscfg.model.hparams import ModelHParams
from vitscfg.model.vits2 import vits2_hparams
from vitscfg.train import TrainError
from vitscfg.train.loop import Trainer, TrainOptions
from vitscfg.train.step import Batch, StepResult
from vitscfg.train.vits2_step import vits2_train_step

#: The networks a VITS2 run trains besides G and D, by build_nets name -> file prefix.
EXTRA_FILES = {"DurDisc": "DUR"}
_EXTRA = re.compile(r"^DUR_(\d+)\.pth$")


def spec_options(config: Mapping[str, Any], t: VitscfgTrain) -> dict[str, Any] | None:
    """The datasets' spec_fn/spec_tag for this VITS2 config (None: the linear spectrogram);
    raises TrainError for a train setting the VITS2 step does not have."""
    if t.grad_accum_steps > 1:
        raise TrainError(
            "train.grad_accum_steps > 1 is not supported for VITS2 configs (the fork's step "
            "has no accumulation): set it to 1 and raise batch_size instead"
        )
    hp = vits2_hparams(config)
    if hp.vits2 is None or not hp.vits2.use_mel_posterior_encoder:
        return None
    frames = LogMelFrames.of(config["data"])
    return {"spec_fn": frames, "spec_tag": frames.tag}


def run_step(
    parts: Any, batch: Batch, t: VitscfgTrain, global_step: int, precision: str
) -> StepResult:
    """One VITS2 step on the builder's parts (``nets``, ``optimizers``, ``scaler``), as a
    StepResult for the loop; the duration discriminator's gradient norm is logged with the
    losses (``dur_disc/grad_norm``)."""
    out = vits2_train_step(
        parts.nets,
        parts.optimizers,
        batch,
        c_mel=t.c_mel,
        c_kl=t.c_kl,
        global_step=global_step,
        precision=precision,
        scaler=parts.scaler,
    )
    losses = dict(out.losses)
    if "DurDisc" in out.grad_norms:
        losses["dur_disc/grad_norm"] = out.grad_norms["DurDisc"].detach()
    return StepResult(losses, out.grad_norms.get("G"), out.grad_norms.get("D"), stepped=True)


def _unwrap(net: nn.Module) -> nn.Module:
    inner = getattr(net, "module", net)
    assert isinstance(inner, nn.Module)
    return inner


def save_extras(
    folder: Path,
    step: int,
    epoch: int,
    parts: Any,
    learning_rate: float,
) -> list[Path]:
    """Write ``DUR_<step>.pth`` (each extra network the parts hold) atomically."""
    written = []
    for name, prefix in EXTRA_FILES.items():
        if name not in parts.nets:
            continue
        payload = {
            "model": _unwrap(parts.nets[name]).state_dict(),
            "iteration": epoch,
            "optimizer": parts.optimizers[name].state_dict(),
            "learning_rate": learning_rate,
            "scheduler": parts.schedulers[name].state_dict(),
        }
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        path = folder / f"{prefix}_{step}.pth"
        atomic_write_bytes(path, buffer.getvalue())
        written.append(path)
    return written


def load_extras(folder: Path, step: int, parts: Any) -> list[str]:
    """Load ``DUR_<step>.pth`` into the extra networks; returns notes for the user (a
    missing file: that network starts fresh)."""
    notes = []
    for name, prefix in EXTRA_FILES.items():
        if name not in parts.nets:
            continue
        path = folder / f"{prefix}_{step}.pth"
        if not path.is_file():
            notes.append(f"[yellow]checkpoint:[/] no {path.name}: {name} starts fresh")
            continue
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
            _unwrap(parts.nets[name]).load_state_dict(
                model_state_from_checkpoint(saved), strict=True
            )
            parts.optimizers[name].load_state_dict(saved["optimizer"])
            if "scheduler" in saved:
                parts.schedulers[name].load_state_dict(saved["scheduler"])
        except (RuntimeError, ValueError, KeyError, OSError, EOFError) as err:
            first = (str(err).strip().splitlines() or ["unreadable"])[0][:300]
            raise TrainError(
                f"{path} does not fit the {name} this config builds ({first}); move it "
                "away to train that network from scratch"
            ) from None
    return notes


def prune_extras(folder: Path) -> list[Path]:
    """Delete ``DUR_<step>.pth`` whose G_<step>.pth is gone (after the pair rotation)."""
    removed = []
    for path in folder.glob("DUR_*.pth"):
        found = _EXTRA.match(path.name)
        if found and not (folder / f"G_{found.group(1)}.pth").exists():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


class Vits2Trainer(Trainer):
    """The bundled loop running VITS2's step (see the module docstring)."""

    def __init__(
        self,
        config: Mapping[str, Any],
        train: VitscfgTrain,
        options: TrainOptions,
        console: Console,
    ) -> None:
        super().__init__(config, train, options, console)
        self.data_spec = spec_options(config, train)

    def setup(self) -> None:
        super().setup()
        # VITS2's generator has its own widths (a mel posterior input): its hp, not VITS's.
        net_hp = getattr(self.net_g, "hp", None)
        assert isinstance(net_hp, ModelHParams)
        self.hp = net_hp

    def _resume_or_init(self) -> None:
        super()._resume_or_init()
        if self.run.step > 0 and self.run.last_saved == self.run.step:  # resumed, not warm
            self.notes.extend(load_extras(self.run_dir, self.run.step, self.parts))

    def _step(self, batch: Batch, micro: int) -> StepResult:
        return run_step(self.parts, batch, self.t, self.run.step, self.precision)

    def _save(self) -> None:
        super()._save()  # G/D, best mark, rotation
        if self.main:
            save_extras(
                self.run_dir, self.run.step, self.run.epoch, self.parts, self.t.learning_rate
            )
            prune_extras(self.run_dir)
