#!/usr/bin/env python3
"""Tensor peak of one VITS2 training step: p0p4k/vits2_pytorch's own step vs vitscfg's
(vitscfg/train/vits2_step.py), both traced the same way (StorageTracker), fp32, CPU.

    PYTHONPATH=/tmp/forkdeps .venv/bin/python bench/vits2_step_peak.py --fork /tmp/vits2 \\
        --config ljs_nosdp --batch 4 --mode fake

(the checkout and its dependencies as in scripts/fixtures_vits2.py). ``--mode fake`` traces
under FakeTensorMode (seconds); ``real`` runs the step on real CPU tensors (minutes at
ljs_base). The fork's SDP spline indexes with boolean masks, which fake tensors cannot
follow, so fake mode needs a config with ``use_sdp: false`` (ljs_nosdp, vctk_*).

The fork's step is written as its train_ms.py body, with the fork's modules, and four
substitutions that allocate the same tensors: vitscfg's MAS (the fork's Cython needs numpy
values), its loss helpers without their ``.item()`` log calls, and in fake mode vitscfg's
gather-based segment slicing and mel spectrogram (the fork's index with tensor values and
check the audio's range). Both steps start from the steady state of a loop: every parameter
has a gradient and AdamW moments; batch of ``--batch`` items of 100 tokens and 400 frames.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from step_peak_common import steady_adamw, warm_filterbank  # noqa: E402

TEXT_LEN, FRAMES = 100, 400


def _patch_fork(fork: Any, fake: bool) -> None:
    from vitscfg.model.commons import slice_segments
    from vitscfg.model.mas import maximum_path
    from vitscfg.model.mel import mel_spectrogram

    fork.models.monotonic_align.maximum_path = maximum_path

    def discriminator_loss(real: Any, fake_: Any) -> tuple[torch.Tensor, list[Any], list[Any]]:
        loss = torch.zeros(())
        for dr, dg in zip(real, fake_, strict=True):
            loss = loss + torch.mean((1 - dr.float()) ** 2) + torch.mean(dg.float() ** 2)
        return loss, [], []

    fork.losses.discriminator_loss = discriminator_loss
    if fake:
        fork.commons.slice_segments = slice_segments
        fork.mel.mel_spectrogram_torch = mel_spectrogram


def _fork_step(fork: Any, config: dict[str, Any], batch: int, fake: bool) -> int:
    from scripts.fixtures_vits2 import fork_nets
    from vitscfg.estimate.tracker import StorageTracker

    data, train = config["data"], config["train"]
    hop, frames = data["hop_length"], train["segment_size"] // data["hop_length"]
    nets = fork_nets(fork, config, data["n_mel_channels"])
    opts, live = steady_adamw(nets)
    x = torch.randint(1, 170, (batch, TEXT_LEN))
    lengths = torch.full((batch,), TEXT_LEN)
    spec, spec_lengths = (
        torch.randn(batch, data["n_mel_channels"], FRAMES),
        torch.full((batch,), FRAMES),
    )
    wav, sid = torch.rand(batch, 1, FRAMES * hop) - 0.5, torch.zeros(batch, dtype=torch.long)
    tracker = StorageTracker()
    tracker.track([*live, x, lengths, spec, spec_lengths, wav, sid])
    net_g, net_d, net_dd = nets["G"], nets["D"], nets["DurDisc"]
    losses, commons = fork.losses, fork.commons
    mel_args = (
        data["filter_length"],
        data["n_mel_channels"],
        data["sampling_rate"],
        hop,
        data["win_length"],
        data["mel_fmin"],
        data["mel_fmax"],
    )
    with tracker:
        net_g.current_mas_noise_scale = 0.01
        y_hat, l_length, _, ids, x_mask, z_mask, stats, (hidden_x, logw, logw_) = net_g(
            x, lengths, spec, spec_lengths, sid
        )
        _, z_p, m_p, logs_p, _, logs_q = stats
        y_mel = commons.slice_segments(spec, ids, frames)
        y_hat_mel = fork.mel.mel_spectrogram_torch(y_hat.squeeze(1), *mel_args)
        y = commons.slice_segments(wav, ids * hop, train["segment_size"])
        real, fake_, _, _ = net_d(y, y_hat.detach())
        loss_disc, _, _ = losses.discriminator_loss(real, fake_)
        p_real, p_fake = net_dd(hidden_x.detach(), x_mask.detach(), logw_.detach(), logw.detach())
        loss_dd, _, _ = losses.discriminator_loss(p_real, p_fake)
        opts["DurDisc"].zero_grad()
        loss_dd.backward()
        opts["DurDisc"].step()
        opts["D"].zero_grad()
        loss_disc.backward()
        opts["D"].step()
        _, fake_, fmap_r, fmap_g = net_d(y, y_hat)
        _, p_fake = net_dd(hidden_x, x_mask, logw_, logw)
        loss_g = (
            torch.sum(l_length.float())
            + torch.nn.functional.l1_loss(y_mel, y_hat_mel) * train["c_mel"]
            + losses.kl_loss(z_p, logs_q, m_p, logs_p, z_mask) * train["c_kl"]
            + losses.feature_loss(fmap_r, fmap_g)
            + losses.generator_loss(fake_)[0]
            + losses.generator_loss(p_fake)[0]
        )
        opts["G"].zero_grad()
        loss_g.backward()
        opts["G"].step()
    return tracker.peak


def _vitscfg_step(config: dict[str, Any], batch: int, fake: bool) -> int:
    from vitscfg.estimate.tracker import StorageTracker
    from vitscfg.model import build_nets
    from vitscfg.train.vits2_step import vits2_trace_batch, vits2_train_step

    nets = build_nets(config, dialect="vits2")
    b = vits2_trace_batch(nets["G"].hp, batch, TEXT_LEN, FRAMES, torch.device("cpu"))  # type: ignore[arg-type]
    if not fake:
        b.text.random_(1, 170)
        b.spec.normal_()
        b.wav.uniform_(-0.5, 0.5)
    opts, live = steady_adamw(nets)
    tracker = StorageTracker()
    tracker.track(
        [*live, b.text, b.text_lengths, b.spec, b.spec_lengths, b.wav, b.wav_lengths, b.sid]
    )
    with tracker:
        vits2_train_step(
            nets,
            opts,
            b,
            c_mel=float(config["train"]["c_mel"]),
            c_kl=float(config["train"]["c_kl"]),
            global_step=0,
        )
    return tracker.peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fork", type=Path, required=True)
    parser.add_argument("--config", default="ljs_nosdp", help="shared vits2 config name")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--mode", choices=("fake", "real"), default="fake")
    parser.add_argument("--impl", choices=("both", "fork", "vitscfg"), default="both")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    torch.set_num_threads(1)
    from scripts.fixtures_vits2 import Fork

    name = f"p0p4k__vits2_pytorch__configs_vits2_{args.config}.json"
    config = json.loads((ROOT / "tests" / "fixtures" / "shared_configs" / name).read_text())
    data = config["data"]
    # The cached filterbank is real data, made outside the fake mode.
    warm_filterbank(data)
    fake = args.mode == "fake"
    fork = Fork(args.fork.resolve())
    _patch_fork(fork, fake)
    from torch._subclasses.fake_tensor import FakeTensorMode

    impls = ("fork", "vitscfg") if args.impl == "both" else (args.impl,)
    for impl in impls:
        start = time.perf_counter()
        mode = FakeTensorMode(allow_non_fake_inputs=True) if fake else contextlib.nullcontext()
        with mode:
            peak = (
                _fork_step(fork, config, args.batch, fake)
                if impl == "fork"
                else _vitscfg_step(config, args.batch, fake)
            )
        print(
            json.dumps(
                {
                    "config": args.config,
                    "impl": impl,
                    "batch": args.batch,
                    "mode": args.mode,
                    "peak_bytes": peak,
                    "seconds": round(time.perf_counter() - start, 1),
                }
            )
        )


if __name__ == "__main__":
    main()
