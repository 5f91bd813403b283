"""Traced tensor peak of GPT-SoVITS stage 2's training step: the fork's own code vs vitscfg's
step (vitscfg/train/gpt_sovits_step.py), on FakeTensors (fp32), at the same sizes.

    .venv/bin/python bench/gpt_sovits_step_peak.py                       # vitscfg only
    PYTHONPATH=/tmp/gsv_deps .venv/bin/python bench/gpt_sovits_step_peak.py --fork /tmp/gsv
        # both (the fork's model modules import einops and tqdm, its mel helpers librosa;
        # see scripts/fixtures_gpt_sovits.py)

Both sides build G and D from the vendored s2.json (as v2) on FakeTensors, make AdamW as the
fork does (one optimizer per network; the fork's parameter groups change learning rates,
not memory), and run two steps in s2_train.py's order under vitscfg's storage tracker
(vitscfg/estimate/tracker.py); the figure is the peak of the second step (gradients and
AdamW moments exist, as in a long run). Every item is ``--frames`` SSL frames and
``--phones`` phones long, padded as the fork's collate pads.

What the fork's step is traced with instead of its exact code (memory-equal): its
``slice_segments`` / ``rand_slice_segments`` (a per-item loop reading start indices on the
host) by vitscfg's gather-based ones, its mel helpers (which print a warning when audio
leaves [-1.2, 1.2], a host read) by vitscfg's with the fork's floors, its
``discriminator_loss`` (which logs ``.item()`` per term) by vitscfg's; the gradient-norm
logging (``clip_grad_value_(..., None)``, one scalar per parameter) is left out.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch._subclasses.fake_tensor import FakeTensorMode

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from step_peak_common import adamw  # noqa: E402

from vitscfg.estimate.tracker import StorageTracker  # noqa: E402
from vitscfg.model import losses as L  # noqa: E402
from vitscfg.model.commons import rand_slice_segments, slice_segments  # noqa: E402
from vitscfg.model.gpt_sovits import GptSovitsSynthesizer, build_gpt_sovits_nets  # noqa: E402
from vitscfg.model.mel import hann_window, mel_filterbank  # noqa: E402
from vitscfg.train.gpt_sovits_step import (  # noqa: E402
    GptSovitsBatch,
    GptSovitsStepSettings,
    gpt_sovits_trace_batch,
    gpt_sovits_train_step,
    gsv_mel_spectrogram,
    gsv_spec_to_mel,
)

CONFIG = REPO / "tests/fixtures/unseen_configs/RVC-Boss__GPT-SoVITS__GPT_SoVITS_configs_s2.json"
CPU = torch.device("cpu")


def _fork_modules(fork: Path) -> tuple[Any, Any, Any]:
    sys.path.insert(0, str(fork / "GPT_SoVITS"))
    stub = types.ModuleType("f5_tts.model")
    stub.DiT = object  # type: ignore[attr-defined]  # the v3 decoder, unused by s2
    sys.modules.setdefault("f5_tts", types.ModuleType("f5_tts"))
    sys.modules["f5_tts.model"] = stub
    from module import commons, losses, models

    commons.slice_segments = lambda x, ids, size=4: slice_segments(x, ids, size)
    commons.rand_slice_segments = lambda x, lengths=None, size=4: rand_slice_segments(
        x, lengths, size
    )
    losses.discriminator_loss = L.discriminator_loss
    return models, commons, losses


def _state(nets: list[torch.nn.Module], opts: list[Any], batch: GptSovitsBatch) -> list[Any]:
    """What exists before a step: weights, buffers, tensor attributes, gradients, AdamW
    moments and the batch."""
    out: list[Any] = []
    for net in nets:
        out += [*net.parameters(), *net.buffers()]
        for module in net.modules():
            out += [v for v in vars(module).values() if isinstance(v, torch.Tensor)]
        out += [p.grad for p in net.parameters() if p.grad is not None]
    for opt in opts:
        for s in opt.state.values():
            out += [v for v in s.values() if isinstance(v, torch.Tensor)]
    return out + [t for t in vars(batch).values() if isinstance(t, torch.Tensor)]


def _peak(nets: list[torch.nn.Module], opts: list[Any], batch: Any, step: Callable[[], Any]) -> int:
    step()  # the steady state: gradients and AdamW moments exist
    gc.collect()
    counter = StorageTracker()
    counter.track(_state(nets, opts, batch))
    with counter:
        step()
    return counter.peak


def ours(config: dict[str, Any], batch: GptSovitsBatch) -> int:
    nets = build_gpt_sovits_nets(config)
    net_g, net_d = nets["G"], nets["D"]
    assert isinstance(net_g, GptSovitsSynthesizer)
    net_g.train()
    net_d.train()
    og, od = (
        adamw(net_g.parameters(), config["train"]),
        adamw(net_d.parameters(), config["train"]),
    )
    s = GptSovitsStepSettings.from_config(config)
    return _peak(
        [net_g, net_d],
        [og, od],
        batch,
        lambda: gpt_sovits_train_step(
            net_g,
            net_d,
            og,
            od,
            batch,
            s,
        ),
    )


def fork_peak(config: dict[str, Any], batch: GptSovitsBatch, mods: tuple[Any, Any, Any]) -> int:
    models, commons, losses = mods
    data, train, model = config["data"], config["train"], config["model"]
    s = GptSovitsStepSettings.from_config(config)
    net_g = models.SynthesizerTrn(
        data["filter_length"] // 2 + 1,
        train["segment_size"] // data["hop_length"],
        n_speakers=data["n_speakers"],
        **model,
    )
    net_d = models.MultiPeriodDiscriminator(model["use_spectral_norm"], version=model["version"])
    net_g.quantizer.vq.layers[0]._codebook.inited.fill_(1)  # a trained codebook (no k-means)
    net_g.train()
    net_d.train()
    og, od = adamw(net_g.parameters(), train), adamw(net_d.parameters(), train)
    seg = train["segment_size"] // data["hop_length"]
    b = batch

    def step() -> None:  # s2_train.py's order, fp32
        y_hat, kl_ssl, ids, _, z_mask, lat, _ = net_g(
            b.ssl, b.spec, b.spec_lengths, b.text, b.text_lengths
        )
        z, z_p, m_p, logs_p, m_q, logs_q = lat
        y_mel = commons.slice_segments(gsv_spec_to_mel(b.spec, s), ids, seg)
        y_hat_mel = gsv_mel_spectrogram(y_hat.squeeze(1), s)
        y = commons.slice_segments(b.wave, ids * data["hop_length"], train["segment_size"])
        real, fake, _, _ = net_d(y, y_hat.detach())
        loss_disc, _, _ = losses.discriminator_loss(real, fake)
        od.zero_grad()
        loss_disc.backward()
        od.step()
        real, fake, fmap_r, fmap_g = net_d(y, y_hat)
        loss_mel = torch.nn.functional.l1_loss(y_mel, y_hat_mel) * train["c_mel"]
        loss_kl = losses.kl_loss(z_p, logs_q, m_p, logs_p, z_mask) * train["c_kl"]
        loss_fm = losses.feature_loss(fmap_r, fmap_g)
        loss_gen, _ = losses.generator_loss(fake)
        total = loss_gen + loss_fm + loss_mel + kl_ssl * 1 + loss_kl
        og.zero_grad()
        total.backward()
        og.step()

    return _peak([net_g, net_d], [og, od], batch, step)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fork", type=Path, help="a GPT-SoVITS checkout (omit: vitscfg only)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument("--phones", type=int, default=100)
    args = parser.parse_args()
    config: dict[str, Any] = json.loads(CONFIG.read_text())
    config["model"]["version"] = "v2"
    s = GptSovitsStepSettings.from_config(config)
    # Filter banks and windows are made from real tensors before the fake mode (cached).
    mel_filterbank(s.filter_length, s.n_mel_channels, s.sampling_rate, s.mel_fmin, s.mel_fmax, CPU)
    hann_window(s.win_length, CPU)
    mods = _fork_modules(args.fork) if args.fork else None
    print("| batch | vitscfg (GB) | fork (GB) | difference |")
    print("|---|---|---|---|")
    for size in args.batch_sizes:
        row = []
        for side in ("ours", "fork") if mods else ("ours",):
            torch.manual_seed(0)
            with FakeTensorMode(allow_non_fake_inputs=True):
                batch = gpt_sovits_trace_batch(config, size, args.frames, args.phones, CPU)
                if side == "ours" or mods is None:
                    row.append(ours(config, batch))
                else:
                    row.append(fork_peak(config, batch, mods))
            gc.collect()
        diff = f"{(row[0] / row[1] - 1) * 100:+.2f} %" if len(row) == 2 else "-"
        theirs = f"{row[1] / 1e9:.3f}" if len(row) == 2 else "-"
        print(f"| {size} | {row[0] / 1e9:.3f} | {theirs} | {diff} |", flush=True)


if __name__ == "__main__":
    main()
