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
  ``torch.load(weights_only=True)``) and restored from the pair's step by a resume and by
  the NaN guard's rollback; its scheduler steps once per epoch like the others.
- What VITS's path has, with its semantics (vits2_step.py): the NaN guard (a non-finite step
  is skipped, all ranks agreeing), ``grad_accum_steps``, fp16/bf16 autocast, and DDP, where
  the duration discriminator is wrapped too and G and it find their unused parameters
  (VITS2's ``pre_conv`` flow and ``dur_disc_1`` have parameters their forward never uses).

MB-iSTFT-VITS2 and MB-iSTFT-VITS configs run here too (`vitscfg.train.run` picks this
trainer for them): their forks' steps are the same order, with the sub-band STFT loss the
builder makes (``parts.step.subband``) and, for MB-iSTFT-VITS, without the VITS2 parts.
"""

from __future__ import annotations

import dataclasses
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
from vitscfg.train import TrainError, distributed
from vitscfg.train import checkpoint as ckpt
from vitscfg.train.loop import Trainer, TrainOptions
from vitscfg.train.resume import Trainables
from vitscfg.train.step import Batch, StepResult
from vitscfg.train.vits2_step import vits2_train_step

#: The networks a VITS2 run trains besides G and D, by build_nets name -> file prefix.
EXTRA_FILES = {"DurDisc": "DUR"}
_EXTRA = re.compile(r"^DUR_(\d+)\.pth$")


def spec_options(config: Mapping[str, Any], t: VitscfgTrain) -> dict[str, Any] | None:
    """The datasets' spec_fn/spec_tag for this VITS2 config (None: the linear spectrogram)."""
    hp = vits2_hparams(config)
    if hp.vits2 is None or not hp.vits2.use_mel_posterior_encoder:
        return None
    frames = LogMelFrames.of(config["data"])
    return {"spec_fn": frames, "spec_tag": frames.tag}


def run_step(
    parts: Any,
    batch: Batch,
    t: VitscfgTrain,
    global_step: int,
    precision: str,
    *,
    nets: Mapping[str, nn.Module] | None = None,
    micro: int = 0,
    guard: bool = False,
) -> StepResult:
    """One VITS2 micro-batch on the builder's parts (``optimizers``, ``scaler``; ``nets``:
    the networks the step runs, DDP-wrapped in a multi-process run, default
    ``parts.nets``), as a StepResult for the loop; the duration discriminator's gradient
    norm is logged with the losses (``dur_disc/grad_norm``). ``micro``: this micro-batch's
    index of ``t.grad_accum_steps``; ``guard``: the NaN guard (vits2_step.py)."""
    out = vits2_train_step(
        parts.nets if nets is None else nets,
        parts.optimizers,
        batch,
        c_mel=t.c_mel,
        c_kl=t.c_kl,
        global_step=global_step,
        precision=precision,
        scaler=parts.scaler,
        micro_index=micro,
        micro_batches=t.grad_accum_steps,
        guard=guard,
        subband=parts.step.subband,  # MB-iSTFT-VITS2's multi-band decoder: its sub-band loss
    )
    losses = dict(out.losses)
    if "DurDisc" in out.grad_norms:
        losses["dur_disc/grad_norm"] = out.grad_norms["DurDisc"].detach()
    norm_g, norm_d = out.grad_norms.get("G"), out.grad_norms.get("D")
    return StepResult(losses, norm_g, norm_d, stepped=out.stepped, skipped=out.skipped)


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

    find_unused = True  # G's pre_conv flow has a transformer its forward never calls

    def __init__(
        self,
        config: Mapping[str, Any],
        train: VitscfgTrain,
        options: TrainOptions,
        console: Console,
    ) -> None:
        super().__init__(config, train, options, console)
        self.data_spec = spec_options(config, train)
        self.step_nets: dict[str, nn.Module] = {}
        self.started = False  # setup done: a note is printed now, not collected

    def setup(self) -> None:
        super().setup()  # resumed: DUR_<step>.pth too (_trainables' extras)
        # VITS2's generator has its own widths (a mel posterior input): its hp, not VITS's.
        net_hp = getattr(self.net_g, "hp", None)
        assert isinstance(net_hp, ModelHParams)
        self.hp = net_hp
        # What the step runs: G and D as the builder wrapped them, each extra network
        # wrapped here (after its weights were resumed: DDP broadcasts rank 0's).
        self.step_nets = {"G": self.parts.step.net_g, "D": self.parts.step.net_d}
        for name in EXTRA_FILES:
            if name in self.parts.nets:
                net = self.parts.nets[name]
                self.step_nets[name] = distributed.wrap(net, self.dist, find_unused=True)
        self.started = True

    def _trainables(self) -> Trainables:
        return dataclasses.replace(super()._trainables(), extras=self._load_extras)

    def _load_extras(self, point: ckpt.ResumePoint) -> None:
        for note in load_extras(point.g_path.parent, point.step, self.parts):
            if not self.started:
                self.notes.append(note)
            elif self.main:  # a NaN rollback
                self.console.print(note.replace("starts fresh", "is not rolled back"))

    def _step(self, batch: Batch, micro: int) -> StepResult:
        return run_step(
            self.parts,
            batch,
            self.t,
            self.run.step,
            self.precision,
            nets=self.step_nets,
            micro=micro,
            guard=True,
        )

    def _save(self) -> None:
        super()._save()  # G/D, best mark, rotation
        if self.main:
            save_extras(
                self.run_dir, self.run.step, self.run.epoch, self.parts, self.t.learning_rate
            )
            prune_extras(self.run_dir)
