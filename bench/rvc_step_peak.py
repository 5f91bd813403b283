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
import contextlib
import copy
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CONFIGS = REPO / "tests" / "fixtures" / "shared_configs"
DEFAULT = "RVC-Project__Retrieval-based-Voice-Conversion-WebUI__configs_v2_48k.json"
META = torch.device("meta")
GIB = 1024**3


def _batch(config: dict[str, Any], version: str, batch: int, frames: int) -> dict[str, Any]:
    hop = config["data"]["hop_length"]
    n_freq = config["data"]["filter_length"] // 2 + 1
    dim = 768 if version == "v2" else 256
    lengths = torch.full((batch,), frames, dtype=torch.long)  # host tensor, as a loader's
    return {
        "phone": torch.empty(batch, frames, dim, device=META),
        "lengths": lengths,
        "pitch": torch.empty(batch, frames, dtype=torch.long, device=META),
        "pitchf": torch.empty(batch, frames, device=META),
        "spec": torch.empty(batch, n_freq, frames, device=META),
        "wave": torch.empty(batch, 1, frames * hop, device=META),
        "sid": torch.empty(batch, dtype=torch.long, device=META),
    }


def _adamw(params: Any, train: dict[str, Any]) -> torch.optim.AdamW:
    return torch.optim.AdamW(
        params, train["learning_rate"], betas=tuple(train["betas"]), eps=train["eps"]
    )


def ours(config: dict[str, Any], version: str, f0: bool) -> Callable[[dict[str, Any]], Any]:
    from vitscfg.model.rvc import RvcVariant, build_rvc_nets
    from vitscfg.train.rvc_step import RvcStepSettings, rvc_trace_batch, rvc_train_step

    variant = RvcVariant(version, f0)  # type: ignore[arg-type]
    with torch.device(META):
        nets = build_rvc_nets(config, variant)
    net_g, net_d = nets["G"], nets["D"]
    optim_g = _adamw(net_g.parameters(), config["train"])
    optim_d = _adamw(net_d.parameters(), config["train"])
    settings = RvcStepSettings.from_config(config)

    def step(b: dict[str, Any]) -> Any:
        return rvc_train_step(net_g, net_d, optim_g, optim_d, b["batch"], settings)  # type: ignore[arg-type]

    def make_batch(batch_size: int, frames: int) -> dict[str, Any]:
        batch = rvc_trace_batch(config, variant, batch_size, frames, META)
        return {"batch": batch, **{k: v for k, v in vars(batch).items() if v is not None}}

    step.params = [*net_g.parameters(), *net_d.parameters()]  # type: ignore[attr-defined]
    step.make_batch = make_batch  # type: ignore[attr-defined]
    return step


def fork(
    config: dict[str, Any], version: str, f0: bool, checkout: Path
) -> Callable[[dict[str, Any]], Any]:
    sys.path.insert(0, str(checkout))
    from infer.module import commons, models
    from train import losses
    from train.mel_processing import mel_spectrogram_torch, spec_to_mel_torch

    def cut(x: torch.Tensor, ids: Any, size: int = 4) -> torch.Tensor:
        ret = torch.zeros_like(x[:, :, :size])
        for i in range(x.size(0)):
            ret[i] = x[i, :, :size]
        return ret

    def cut2(x: torch.Tensor, ids: Any, size: int = 4) -> torch.Tensor:
        ret = torch.zeros_like(x[:, :size])
        for i in range(x.size(0)):
            ret[i] = x[i, :size]
        return ret

    commons.slice_segments, commons.slice_segments2 = cut, cut2
    data, train, model = config["data"], config["train"], config["model"]
    width = "768" if version == "v2" else "256"
    cls_g = getattr(models, f"SynthesizerTrnMs{width}NSFsid" + ("" if f0 else "_nono"))
    extra = {"sr": data["sampling_rate"]} if f0 else {}
    with torch.device(META):
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
    optim_g, optim_d = _adamw(net_g.parameters(), train), _adamw(net_d.parameters(), train)
    seg_frames = train["segment_size"] // data["hop_length"]
    mel_args = (data["filter_length"], data["n_mel_channels"], data["sampling_rate"])

    def step(b: dict[str, Any]) -> Any:
        # train/train.py's step at fp32 (autocast and the scaler disabled there on fp32).
        lengths = b["lengths"].to(META)
        if f0:
            y_hat, ids, x_mask, z_mask, lat = net_g(
                b["phone"], lengths, b["pitch"], b["pitchf"], b["spec"], lengths, b["sid"]
            )
        else:
            y_hat, ids, x_mask, z_mask, lat = net_g(
                b["phone"], lengths, b["spec"], lengths, b["sid"]
            )
        z, z_p, m_p, logs_p, m_q, logs_q = lat
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
        y_d_hat_r, y_d_hat_g, _, _ = net_d(wave, y_hat.detach())
        loss_disc, _, _ = losses.discriminator_loss(y_d_hat_r, y_d_hat_g)
        optim_d.zero_grad()
        loss_disc.backward()
        optim_d.step()
        y_d_hat_r, y_d_hat_g, fmap_r, fmap_g = net_d(wave, y_hat)
        loss_mel = torch.nn.functional.l1_loss(y_mel, y_hat_mel) * train["c_mel"]
        loss_kl = losses.kl_loss(z_p, logs_q, m_p, logs_p, z_mask) * train["c_kl"]
        loss_fm = losses.feature_loss(fmap_r, fmap_g)
        loss_gen, _ = losses.generator_loss(y_d_hat_g)
        loss_gen_all = loss_gen + loss_fm + loss_mel + loss_kl
        optim_g.zero_grad()
        loss_gen_all.backward()
        optim_g.step()
        return loss_gen_all

    step.params = [*net_g.parameters(), *net_d.parameters()]  # type: ignore[attr-defined]
    step.make_batch = lambda n, frames: _batch(config, version, n, frames)  # type: ignore[attr-defined]
    return step


@contextlib.contextmanager
def _meta_items() -> Iterator[None]:
    """``Tensor.item`` on a meta tensor answers 0 (the fork's loss logging reads values)."""
    original = torch.Tensor.item

    def item(self: torch.Tensor) -> Any:
        return 0.0 if self.is_meta else original(self)

    torch.Tensor.item = item  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        torch.Tensor.item = original  # type: ignore[method-assign]


def traced_peak(step: Callable[[dict[str, Any]], Any], batch: dict[str, Any]) -> tuple[int, int]:
    """(peak bytes of the second step, bytes live at its start)."""
    from vitscfg.estimate.tracker import StorageTracker

    tracker = StorageTracker()
    tracker.track(step.params)  # type: ignore[attr-defined]
    tracker.track(t for t in batch.values() if isinstance(t, torch.Tensor) and t.is_meta)
    with tracker, _meta_items():
        step(batch)  # creates Adam state and gradients
        start = tracker.live
        tracker.reset_peak()
        step(batch)
    return tracker.peak, start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=DEFAULT, help="a shared RVC config file name")
    parser.add_argument("--no-f0", action="store_true", help="the model without pitch")
    parser.add_argument("--batches", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument("--fork", type=Path, help="checkout of RVC's code (else vitscfg only)")
    args = parser.parse_args()

    from vitscfg.estimate.meta import meta_mode

    mode = meta_mode("fp32")  # C++ meta kernels, torch.autocast on meta (this process only)
    config = json.loads((CONFIGS / args.config).read_text())
    version = "v2" if "_v2_" in args.config else "v1"
    f0 = not args.no_f0
    rows = []
    for batch_size in args.batches:
        row: dict[str, Any] = {"batch": batch_size, "frames": args.frames}
        sides: list[tuple[str, Callable[[], Callable[[dict[str, Any]], Any]]]] = [
            ("vitscfg", lambda: ours(copy.deepcopy(config), version, f0))
        ]
        if args.fork:
            sides.append(("fork", lambda: fork(copy.deepcopy(config), version, f0, args.fork)))
        for name, build in sides:
            with mode():
                step = build()
                batch = step.make_batch(batch_size, args.frames)  # type: ignore[attr-defined]
                peak, start = traced_peak(step, batch)
            row[name] = {"peak_gib": round(peak / GIB, 3), "start_gib": round(start / GIB, 3)}
        if "fork" in row:
            row["ratio"] = round(row["vitscfg"]["peak_gib"] / row["fork"]["peak_gib"], 4)
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"config {args.config}, {version}, f0={f0}, fp32, meta tensors, second step's peak")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
