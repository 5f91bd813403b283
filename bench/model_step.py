"""Benchmark one full VITS training step (D step + G step, AdamW, reference losses).

Run (CPU, ljs_base, batch 2, ~100 tokens / ~400 frames):

    .venv/bin/python bench/model_step.py

On a CUDA machine it also measures batch 16 and 32 in fp32 and fp16 (autocast + GradScaler):

    .venv/bin/python bench/model_step.py --device cuda

Reports the median seconds per step after warm-up, steps/s, and the peak memory (process
max RSS on CPU, ``torch.cuda.max_memory_allocated`` on CUDA). The step timed is the
trainer's own ``vitscfg.train.step.train_step`` (the reference D + G iteration).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from torch.amp.grad_scaler import GradScaler

from vitscfg.model import build_models
from vitscfg.model.hparams import ModelHParams
from vitscfg.model.mel import spectrogram
from vitscfg.train.step import Batch, StepState, make_optimizers, train_step

DEFAULT_CONFIG = (
    Path(__file__).resolve().parents[1]
    / "tests/fixtures/shared_configs/jaywalnut310__vits__configs_ljs_base.json"
)


def synthetic_batch(
    hp: ModelHParams, batch_size: int, text_len: int, frames: int, device: torch.device
) -> Batch:
    """Noise audio and random tokens; items shrink by 10% down the batch (sorted like the
    reference collate), the longest has ``text_len`` tokens and ``frames`` frames."""
    scale = torch.linspace(1.0, 0.9, batch_size)
    text_lengths = (scale * text_len).long()
    spec_lengths = (scale * frames).long()
    text = torch.randint(1, hp.n_vocab, (batch_size, text_len))
    text = text * (torch.arange(text_len) < text_lengths[:, None])
    audio = (torch.rand(batch_size, frames * hp.hop_length) * 2 - 1) * 0.3
    audio = audio * (torch.arange(audio.size(1)) < spec_lengths[:, None] * hp.hop_length)
    spec = spectrogram(audio, hp.filter_length, hp.hop_length, hp.win_length)
    sid = torch.arange(batch_size) % hp.n_speakers if hp.n_speakers > 1 else None
    return Batch(
        text,
        text_lengths,
        spec,
        spec_lengths,
        audio.unsqueeze(1),
        spec_lengths * hp.hop_length,
        sid,
    ).to(device)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(
    config: dict[str, Any],
    device: torch.device,
    batch_size: int,
    text_len: int,
    frames: int,
    amp_dtype: torch.dtype | None,
    warmup: int,
    steps: int,
) -> dict[str, float]:
    """Build fresh models and optimizers, run warm-up + timed steps, return the figures."""
    torch.manual_seed(0)
    gen, disc = build_models(config)
    gen, disc = gen.to(device).train(), disc.to(device).train()
    train = config["train"]
    # The trainer's own optimisers and step (vitscfg/train/step.py): what is timed here is
    # exactly what `vitscfg train` runs, minus the loop.
    lr, eps = float(train["learning_rate"]), float(train["eps"])
    betas = (float(train["betas"][0]), float(train["betas"][1]))
    optim_g, optim_d = make_optimizers(gen, disc, lr, betas, eps)
    scaler = GradScaler(device.type, enabled=amp_dtype == torch.float16)
    precision = {None: "fp32", torch.float16: "fp16", torch.bfloat16: "bf16"}[amp_dtype]
    state = StepState(
        gen,
        disc,
        optim_g,
        optim_d,
        scaler,
        gen.hp,
        float(train["c_mel"]),
        float(train["c_kl"]),
        precision,
    )
    batch = synthetic_batch(gen.hp, batch_size, text_len, frames, device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    times: list[float] = []
    for i in range(warmup + steps):
        _sync(device)
        start = time.perf_counter()
        losses = train_step(state, batch).losses
        _sync(device)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    finite = all(bool(torch.isfinite(v)) for v in losses.values())
    median = statistics.median(times)
    result = {"s_per_step": median, "steps_per_s": 1.0 / median, "finite_losses": float(finite)}
    if device.type == "cuda":
        result["peak_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    else:
        # ru_maxrss is KiB on Linux: the process-wide peak, model construction included.
        result["peak_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--text-len", type=int, default=100)
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    config = json.loads(args.config.read_text())
    device = torch.device(args.device)
    if device.type == "cuda":
        runs = [(b, p) for b in (16, 32) for p in ("fp32", "fp16")]
        name = torch.cuda.get_device_name(device)
    else:
        runs = [(2, "fp32")]
        name = f"CPU, {torch.get_num_threads()} threads"
    print(f"config {args.config.name}, device {name}, torch {torch.__version__}")
    print(
        f"text {args.text_len} tokens, {args.frames} frames, {args.warmup} warm-up + {args.steps} timed"
    )
    for batch_size, precision in runs:
        amp = torch.float16 if precision == "fp16" else None
        r = measure(
            config, device, batch_size, args.text_len, args.frames, amp, args.warmup, args.steps
        )
        print(
            f"batch {batch_size:3d} {precision}: {r['s_per_step']:.3f} s/step "
            f"({r['steps_per_s']:.2f} steps/s), peak {r['peak_gib']:.2f} GiB, "
            f"losses finite: {bool(r['finite_losses'])}"
        )


if __name__ == "__main__":
    main()
