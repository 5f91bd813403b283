"""Traced tensor peak of RVC's training step: RVC's own code vs vitscfg's RVC step, on meta
tensors (fp32), at the same sizes.

    .venv/bin/python bench/rvc_step_peak.py                      # vitscfg only
    /tmp/rvcenv/bin/python bench/rvc_step_peak.py --fork /tmp/rvc  # both (the fork's
        train/train.py step needs scipy and librosa to import; see scripts/fixtures_rvc.py)

Both sides build G and D from the same shared config (default: RVC v2 48k with f0) on the
meta device, create AdamW as RVC does, and run two steps under vitscfg's storage tracker
(vitscfg/estimate/tracker.py, the estimator's byte counter); the figure is the peak of the
second step (Adam state and last step's G gradients exist, as in a long run). The batch
is ``--frames`` content frames per item, all items full length.

What the fork's step is traced with instead of its exact code (memory-neutral):
``commons.slice_segments`` / ``slice_segments2`` cut at frame 0 (their per-item slicing
reads start indices on the host, which meta tensors cannot give; the copy sizes are
unchanged), ``Tensor.item`` answers 0 on meta tensors (the losses' logging values), and
the gradient-norm logging (``clip_grad_value_(…, None)``: one scalar per parameter) is
left out.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
import step_peak_common as sp  # noqa: E402

CONFIGS = REPO / "tests" / "fixtures" / "shared_configs"
DEFAULT = "RVC-Project__Retrieval-based-Voice-Conversion-WebUI__configs_v2_48k.json"


def _batch(config: dict[str, Any], version: str, batch: int, frames: int) -> dict[str, Any]:
    hop = config["data"]["hop_length"]
    n_freq = config["data"]["filter_length"] // 2 + 1
    dim = 768 if version == "v2" else 256
    lengths = torch.full((batch,), frames, dtype=torch.long)  # host tensor, as a loader's
    return {
        "phone": torch.empty(batch, frames, dim, device=sp.META),
        "lengths": lengths,
        "pitch": torch.empty(batch, frames, dtype=torch.long, device=sp.META),
        "pitchf": torch.empty(batch, frames, device=sp.META),
        "spec": torch.empty(batch, n_freq, frames, device=sp.META),
        "wave": torch.empty(batch, 1, frames * hop, device=sp.META),
        "sid": torch.empty(batch, dtype=torch.long, device=sp.META),
    }


def ours(config: dict[str, Any], version: str, f0: bool) -> sp.Step:
    from vitscfg.model.rvc import RvcVariant, build_rvc_nets
    from vitscfg.train.rvc_step import RvcStepSettings, rvc_trace_batch, rvc_train_step

    variant = RvcVariant(version, f0)  # type: ignore[arg-type]
    with torch.device(sp.META):
        nets = build_rvc_nets(config, variant)
    net_g, net_d = nets["G"], nets["D"]
    optim_g = sp.adamw(net_g.parameters(), config["train"])
    optim_d = sp.adamw(net_d.parameters(), config["train"])
    settings = RvcStepSettings.from_config(config)

    def step(b: dict[str, Any]) -> Any:
        return rvc_train_step(net_g, net_d, optim_g, optim_d, b["batch"], settings)  # type: ignore[arg-type]

    def make_batch(batch_size: int, frames: int) -> dict[str, Any]:
        batch = rvc_trace_batch(config, variant, batch_size, frames, sp.META)
        return {"batch": batch, **{k: v for k, v in vars(batch).items() if v is not None}}

    step.params = [*net_g.parameters(), *net_d.parameters()]  # type: ignore[attr-defined]
    step.make_batch = make_batch  # type: ignore[attr-defined]
    return step


def fork(config: dict[str, Any], version: str, f0: bool, checkout: Path) -> sp.Step:
    sys.path.insert(0, str(checkout))
    from infer.module import commons, models
    from train import losses
    from train.mel_processing import mel_spectrogram_torch, spec_to_mel_torch

    commons.slice_segments, commons.slice_segments2 = sp.first_frames, sp.first_frames_2d
    data, train, model = config["data"], config["train"], config["model"]
    width = "768" if version == "v2" else "256"
    cls_g = getattr(models, f"SynthesizerTrnMs{width}NSFsid" + ("" if f0 else "_nono"))
    extra = {"sr": data["sampling_rate"]} if f0 else {}
    with torch.device(sp.META):
        net_g = cls_g(
            data["filter_length"] // 2 + 1,
            train["segment_size"] // data["hop_length"],
            **model,
            is_half=False,
            **extra,
        )
        cls_d = (
            models.MultiPeriodDiscriminatorV2
            if version == "v2"
            else models.MultiPeriodDiscriminator
        )
        net_d = cls_d(model["use_spectral_norm"])
    optim_g, optim_d = sp.adamw(net_g.parameters(), train), sp.adamw(net_d.parameters(), train)
    seg_frames = train["segment_size"] // data["hop_length"]
    mel_args = (data["filter_length"], data["n_mel_channels"], data["sampling_rate"])

    def step(b: dict[str, Any]) -> Any:
        # train/train.py's step at fp32 (autocast and the scaler disabled there on fp32).
        lengths = b["lengths"].to(sp.META)
        if f0:
            y_hat, ids, x_mask, z_mask, lat = net_g(
                b["phone"], lengths, b["pitch"], b["pitchf"], b["spec"], lengths, b["sid"]
            )
        else:
            y_hat, ids, x_mask, z_mask, lat = net_g(
                b["phone"], lengths, b["spec"], lengths, b["sid"]
            )
        mel = spec_to_mel_torch(b["spec"], *mel_args, data["mel_fmin"], data["mel_fmax"])
        y_mel = commons.slice_segments(mel, ids, seg_frames)
        y_hat_mel = mel_spectrogram_torch(
            y_hat.float().squeeze(1),
            *mel_args,
            data["hop_length"],
            data["win_length"],
            data["mel_fmin"],
            data["mel_fmax"],
        )
        wave = commons.slice_segments(b["wave"], ids * data["hop_length"], train["segment_size"])
        return sp.gan_step(
            losses,
            (net_g, net_d),
            (optim_g, optim_d),
            train,
            wave,
            y_hat,
            (y_mel, y_hat_mel),
            lat,
            z_mask,
        )

    step.params = [*net_g.parameters(), *net_d.parameters()]  # type: ignore[attr-defined]
    step.make_batch = lambda n, frames: _batch(config, version, n, frames)  # type: ignore[attr-defined]
    return step


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=DEFAULT, help="a shared RVC config file name")
    parser.add_argument("--no-f0", action="store_true", help="the model without pitch")
    parser.add_argument("--batches", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument("--fork", type=Path, help="checkout of RVC's code (else vitscfg only)")
    args = parser.parse_args()

    config = json.loads((CONFIGS / args.config).read_text())
    version = "v2" if "_v2_" in args.config else "v1"
    f0 = not args.no_f0
    sides: list[tuple[str, Callable[[], sp.Step]]] = [
        ("vitscfg", lambda: ours(copy.deepcopy(config), version, f0))
    ]
    if args.fork:
        sides.append(("fork", lambda: fork(copy.deepcopy(config), version, f0, args.fork)))
    sp.peak_rows(sides, args.batches, args.frames)
    print(f"config {args.config}, {version}, f0={f0}, fp32, meta tensors, second step's peak")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
