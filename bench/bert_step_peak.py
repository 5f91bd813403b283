#!/usr/bin/env python3
"""Tensor peak of one Bert-VITS2-family training step: the fork's own step vs vitscfg's
(vitscfg/train/bert_step.py), both traced the same way (StorageTracker under
FakeTensorMode), fp32, CPU.

    cd /tmp/bv2 && PYTHONPATH=/tmp/forkdeps /work/main/.venv/bin/python \\
        /work/main/bench/bert_step_peak.py --fork /tmp/bv2 --dialect bert-vits2 --batch 4

(checkouts and dependencies as in scripts/fixtures_bert_vits2.py; Bert-VITS2's config.py
reads config.yml from the working directory, hence the ``cd``). ``--config``: a
Style-Bert-VITS2 JP-Extra config selects that model (the default is the fork's shipped
config among the vendored ones).

The fork's step is scripts/fixtures_bert_vits2.py's ``fork_train_step`` (the train script's
loop body with the fork's networks, losses, commons and mel functions) with these
substitutions, each allocating the same tensors or (the spline) tensors of the same order:
vitscfg's alignment search (the fork's needs numpy values), its gather-based segment slicing
and mel spectrogram (the fork's index with, and check, tensor values), its mask-free SDP
spline (the fork's indexes with boolean masks, which fake tensors cannot follow) and loss
helpers without ``.item()`` (the fork's log calls). The frozen WavLM is vitscfg's on both
sides, built before the step. Both steps start from the steady state of a loop (every
parameter with a gradient and AdamW moments); batch of ``--batch`` items of 100 phones and
400 frames. The LSTM duration discriminator runs as the CPU's composite LSTM on both sides
(per-timestep ops); a cuDNN reserve is not modelled by either trace.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from step_peak_common import steady_adamw, warm_filterbank  # noqa: E402

SHARED = ROOT / "tests" / "fixtures" / "shared_configs"
UNSEEN = ROOT / "tests" / "fixtures" / "unseen_configs"
TEXT_LEN, FRAMES = 100, 400
CONFIGS = {
    "bert-vits2": SHARED / "fishaudio__Bert-VITS2__configs_config.json",
    "style-bert-vits2": UNSEEN / "litagin02__Style-Bert-VITS2__configs_config.json",
    "melotts": SHARED / "myshell-ai__MeloTTS__melo_configs_config.json",
}
#: fork -> (its modules.py, its alignment module) as the train script imports them.
_MODULES = {
    "bert-vits2": ("modules", "monotonic_align"),
    "style-bert-vits2": (
        "style_bert_vits2.models.modules",
        "style_bert_vits2.models.monotonic_alignment",
    ),
    "melotts": ("melo.modules", "melo.monotonic_align"),
}


def _spline(
    inputs: torch.Tensor,
    unnormalized_widths: torch.Tensor,
    unnormalized_heights: torch.Tensor,
    unnormalized_derivatives: torch.Tensor,
    inverse: bool = False,
    tails: str | None = None,
    tail_bound: float = 1.0,
    **_: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    from vitscfg.model.spline import rational_quadratic_spline

    return rational_quadratic_spline(
        inputs,
        unnormalized_widths,
        unnormalized_heights,
        unnormalized_derivatives,
        inverse=inverse,
        tail_bound=tail_bound,
    )


def _patch_fork(fork: Any, modules: Any) -> None:
    from vitscfg.model.commons import slice_segments
    from vitscfg.model.mas import maximum_path
    from vitscfg.model.mel import mel_spectrogram

    def discriminator_loss(real: Any, fake: Any) -> tuple[torch.Tensor, list[Any], list[Any]]:
        loss = torch.zeros(())
        for dr, dg in zip(real, fake, strict=True):
            loss = loss + torch.mean((1 - dr.float()) ** 2) + torch.mean(dg.float() ** 2)
        return loss, [], []

    def no_norm(parameters: Any, clip_value: Any) -> float:
        return 0.0

    modules_name, align_name = _MODULES[fork.name]
    sys.modules[modules_name].piecewise_rational_quadratic_transform = _spline
    sys.modules[align_name].maximum_path = maximum_path
    modules.losses.discriminator_loss = discriminator_loss
    modules.commons.slice_segments = slice_segments
    modules.commons.clip_grad_value_ = no_norm
    modules.mel.mel_spectrogram_torch = mel_spectrogram


def _inputs(generator: Any, batch: int, config: dict[str, Any]) -> dict[str, Any]:
    from vitscfg.train.bert_step import bert_trace_batch

    b = bert_trace_batch(
        generator.hp, generator.options, batch, TEXT_LEN, FRAMES, torch.device("cpu")
    )
    return {
        "text": b.text,
        "text_lengths": b.text_lengths,
        "spec": b.spec,
        "spec_lengths": b.spec_lengths,
        "wav": b.wav,
        "wav_lengths": b.wav_lengths,
        "sid": b.sid if b.sid is not None else torch.zeros(batch, dtype=torch.long),
        "tone": b.inputs.tone,
        "language": b.inputs.language,
        "berts": list(b.inputs.berts),
        "style": b.inputs.style,
    }


def _fork_step(fork: Any, dialect: str, config: dict[str, Any], batch: int) -> int:
    from scripts.fixtures_bert_vits2 import ForkStepModules, _wavlm_loss, fork_train_step
    from vitscfg.estimate.tracker import StorageTracker
    from vitscfg.model import build_nets

    modules = ForkStepModules.of(fork)
    _patch_fork(fork, modules)
    nets = fork.nets(config)
    opts, live = steady_adamw(nets)
    wl = _wavlm_loss(modules.losses, nets["WavLMDisc"], config) if "WavLMDisc" in nets else None
    if wl is not None:
        live += [*wl.wavlm.parameters(), *wl.resample.buffers()]
    shapes = build_nets(config, dialect)["G"]  # vitscfg's, for the batch's widths only
    b = _inputs(shapes, batch, config)
    del shapes
    tracker = StorageTracker()
    tracker.track([*live, *[t for t in b.values() if isinstance(t, torch.Tensor)], *b["berts"]])
    with tracker:
        fork_train_step(fork, modules, config, nets, opts, wl, b, 0.01)
    return tracker.peak


def _vitscfg_step(dialect: str, config: dict[str, Any], batch: int) -> int:
    from vitscfg.estimate.tracker import StorageTracker
    from vitscfg.model import build_nets
    from vitscfg.model.bert_slm import build_slm_judge
    from vitscfg.train.bert_step import BertStepSettings, bert_trace_batch, bert_train_step

    nets = build_nets(config, dialect)
    g: Any = nets["G"]
    b = bert_trace_batch(g.hp, g.options, batch, TEXT_LEN, FRAMES, torch.device("cpu"))
    opts, live = steady_adamw(nets)
    judge = build_slm_judge(config) if "WavLMDisc" in nets else None
    if judge is not None:
        live += [*judge.parameters(), *judge.buffers()]
    settings = BertStepSettings.from_config(config, dialect)
    scaler = torch.amp.GradScaler("cpu", enabled=False)  # type: ignore[attr-defined]
    tracker = StorageTracker()
    tracker.track([*live, *b.tensors()])
    with tracker:
        bert_train_step(nets, opts, b, settings, scaler, judge)
    return tracker.peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fork", type=Path, required=True, help="the dialect's fork checkout")
    parser.add_argument("--dialect", choices=sorted(CONFIGS), default="bert-vits2")
    parser.add_argument("--config", type=Path, help="default: the fork's vendored config")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--impl", choices=("both", "fork", "vitscfg"), default="both")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    torch.set_num_threads(1)
    importlib.import_module("torch._dynamo")  # before the fork's front-end stand-ins
    from scripts.fixtures_bert_vits2 import Fork
    from vitscfg.model.mel import hann_window

    path = args.config or CONFIGS[args.dialect]
    config = json.loads(path.read_text(encoding="utf-8"))
    data = config["data"]
    # The cached filterbank and window are real data, made outside the fake mode.
    warm_filterbank(data)
    hann_window(data["win_length"], torch.device("cpu"))
    fork = Fork(args.dialect, args.fork.resolve())
    os.chdir(args.fork.resolve())
    from torch._subclasses.fake_tensor import FakeTensorMode

    impls = ("fork", "vitscfg") if args.impl == "both" else (args.impl,)
    for impl in impls:
        start = time.perf_counter()
        with FakeTensorMode(allow_non_fake_inputs=True):
            peak = (
                _fork_step(fork, args.dialect, config, args.batch)
                if impl == "fork"
                else _vitscfg_step(args.dialect, config, args.batch)
            )
        print(
            json.dumps(
                {
                    "config": path.name,
                    "impl": impl,
                    "batch": args.batch,
                    "peak_bytes": peak,
                    "seconds": round(time.perf_counter() - start, 1),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
