"""Traced tensor peak of so-vits-svc's training step: its own code vs vitscfg's so-vits-svc
step, on meta tensors (fp32), at the same sizes.

    .venv/bin/python bench/svc_step_peak.py                        # vitscfg only
    /tmp/rvcenv/bin/python bench/svc_step_peak.py --fork /tmp/svc41  # both (the fork's
        modules need librosa to import; see scripts/fixtures_svc.py)

Both sides build G and D from the same shared config (default: the 4.1 template) on the meta
device, create AdamW as train.py does, and run two steps under vitscfg's storage tracker
(the estimator's byte counter, as bench/rvc_step_peak.py); the figure is the peak of the
second step. Every item is ``--frames`` content frames long.

What the fork's step is traced with instead of its exact code (memory-neutral): its
per-item slicing (``commons.slice_segments``, ``slice_pitch_segments``) cuts at frame 0
(start indices would be read on the host); ``utils.normalize_f0`` is replaced by the same
arithmetic without its in-place masked fill and NaN check (both read values); the
spectrogram's range warning and ``Tensor.item`` read 0 / False on meta tensors; the
gradient-norm logging is left out.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
import step_peak_common as sp  # noqa: E402

CONFIGS = REPO / "tests" / "fixtures" / "shared_configs"
DEFAULT = "svc-develop-team__so-vits-svc__configs_template_config_template.json"


def ours(config: dict[str, Any]) -> sp.Step:
    from vitscfg.model.svc import build_svc_nets
    from vitscfg.train.svc_step import SvcStepSettings, svc_trace_batch, svc_train_step

    with torch.device(sp.META):
        nets = build_svc_nets(config)
    net_g, net_d = nets["G"], nets["D"]
    optim_g = sp.adamw(net_g.parameters(), config["train"])
    optim_d = sp.adamw(net_d.parameters(), config["train"])
    settings = SvcStepSettings.from_config(config)

    def step(b: dict[str, Any]) -> Any:
        return svc_train_step(net_g, net_d, optim_g, optim_d, b["batch"], settings)  # type: ignore[arg-type]

    def make_batch(batch_size: int, frames: int) -> dict[str, Any]:
        batch = svc_trace_batch(config, batch_size, frames, sp.META)
        return {"batch": batch, **vars(batch)}

    step.params = [*net_g.parameters(), *net_d.parameters()]  # type: ignore[attr-defined]
    step.make_batch = make_batch  # type: ignore[attr-defined]
    return step


def _fork_batch(config: dict[str, Any], batch: int, frames: int) -> dict[str, Any]:
    data, model = config["data"], config["model"]
    n_freq = data["filter_length"] // 2 + 1
    return {
        "c": torch.empty(batch, model["ssl_dim"], frames, device=sp.META),
        "f0": torch.empty(batch, frames, device=sp.META),
        "spec": torch.empty(batch, n_freq, frames, device=sp.META),
        "wave": torch.empty(batch, 1, frames * data["hop_length"], device=sp.META),
        "sid": torch.empty(batch, 1, dtype=torch.long, device=sp.META),
        "lengths": torch.full((batch,), frames, dtype=torch.long),  # host, as a loader's
        "uv": torch.empty(batch, frames, device=sp.META),
        "vol": torch.empty(batch, frames, device=sp.META),
    }


def fork(config: dict[str, Any], checkout: Path) -> sp.Step:
    sys.path.insert(0, str(checkout))
    for optional in ("faiss", "matplotlib", "matplotlib.pylab"):
        try:
            __import__(optional)
        except ImportError:
            sys.modules[optional] = types.ModuleType(optional)
    import models
    import utils
    from modules import commons, losses
    from modules.mel_processing import mel_spectrogram_torch, spec_to_mel_torch

    def normalize_f0(f0: Any, x_mask: Any, uv: Any, random_scale: bool = True) -> Any:
        uv_sum = torch.sum(uv, dim=1, keepdim=True)
        means = torch.sum(f0[:, 0, :] * uv, dim=1, keepdim=True) / uv_sum
        factor = torch.Tensor(f0.shape[0], 1).uniform_(0.8, 1.2).to(f0.device)
        return (f0 - means.unsqueeze(-1)) * factor.unsqueeze(-1) * x_mask

    commons.slice_segments, commons.slice_pitch_segments = sp.first_frames, sp.first_frames_2d
    utils.normalize_f0 = normalize_f0
    data, train, model = config["data"], config["train"], config["model"]
    with torch.device(sp.META):
        net_g = models.SynthesizerTrn(
            data["filter_length"] // 2 + 1, train["segment_size"] // data["hop_length"], **model
        )
        net_d = models.MultiPeriodDiscriminator(model["use_spectral_norm"])
    optim_g, optim_d = sp.adamw(net_g.parameters(), train), sp.adamw(net_d.parameters(), train)
    seg_frames = train["segment_size"] // data["hop_length"]
    mel_args = (data["filter_length"], data["n_mel_channels"], data["sampling_rate"])

    def step(b: dict[str, Any]) -> Any:
        # train.py's step at fp32 (autocast and the scaler disabled there without fp16_run).
        lengths = b["lengths"].to(sp.META)
        mel = spec_to_mel_torch(b["spec"], *mel_args, data["mel_fmin"], data["mel_fmax"])
        y_hat, ids, z_mask, lat, pred_lf0, norm_lf0, lf0 = net_g(
            b["c"], b["f0"], b["uv"], b["spec"], g=b["sid"], c_lengths=lengths,
            spec_lengths=lengths, vol=b["vol"],
        )  # fmt: skip
        y_mel = commons.slice_segments(mel, ids, seg_frames)
        truth = torch.Tensor.__bool__
        torch.Tensor.__bool__ = lambda t: False if t.is_meta else truth(t)  # type: ignore[method-assign,assignment]
        try:  # its range warning (min < -1, max > 1) reads values
            y_hat_mel = mel_spectrogram_torch(
                y_hat.squeeze(1),
                *mel_args,
                data["hop_length"],
                data["win_length"],
                data["mel_fmin"],
                data["mel_fmax"],
            )
        finally:
            torch.Tensor.__bool__ = truth  # type: ignore[method-assign]
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
            extra_loss=torch.nn.functional.mse_loss(pred_lf0, lf0),
        )

    step.params = [*net_g.parameters(), *net_d.parameters()]  # type: ignore[attr-defined]
    step.make_batch = lambda n, frames: _fork_batch(config, n, frames)  # type: ignore[attr-defined]
    return step


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--config", default=DEFAULT, help="a shared so-vits-svc config name")
    parser.add_argument("--batches", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument("--fork", type=Path, help="checkout of so-vits-svc 4.1 (else ours only)")
    args = parser.parse_args()

    config = json.loads((CONFIGS / args.config).read_text())
    sides: list[tuple[str, Callable[[], sp.Step]]] = [
        ("vitscfg", lambda: ours(copy.deepcopy(config)))
    ]
    if args.fork:
        sides.append(("fork", lambda: fork(copy.deepcopy(config), args.fork)))
    sp.peak_rows(sides, args.batches, args.frames)
    print(f"config {args.config}, fp32, meta tensors, second step's peak")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
