"""Traced tensor peak of the MB-iSTFT forks' training steps: the fork's own code vs vitscfg's
step for it, on meta tensors (fp32), at the same sizes.

    .venv/bin/python bench/mb_istft_step_peak.py                      # vitscfg only
    PYTHONPATH=/tmp/forkdeps .venv/bin/python bench/mb_istft_step_peak.py \\
        --fork /tmp/mbistft2                                         # MB-iSTFT-VITS2, both
    PYTHONPATH=/tmp/forkdeps .venv/bin/python bench/mb_istft_step_peak.py --v1 \\
        --config ljs_mb_istft_vits --fork /tmp/mbistft                # MB-iSTFT-VITS, both

(the checkouts, FENRlR/MB-iSTFT-VITS2 at b1a49d9 and MasayaKawamura/MB-iSTFT-VITS at
df2f8d3, and their dependencies, scipy and librosa, as in scripts/fixtures_mb_istft.py).
Both sides build the fork's networks from the same config (MB-iSTFT-VITS2: the vendored
tests/model/fixtures/mb_istft_vits2/NAME.json, default mb_istft_vits2_base; MB-iSTFT-VITS:
the shared MasayaKawamura__MB-iSTFT-VITS__configs_NAME.json) on the meta device, create
AdamW as the train scripts do, and run two steps under vitscfg's storage tracker (the
estimator's byte counter); the figure is the peak of the second step. Every item has
``--text`` token ids and ``--frames`` spectrogram frames.

The fork's step is its train script's body (MB-iSTFT-VITS2: train.py; MB-iSTFT-VITS:
train_latest.py) at fp32 (autocast and the scaler off), with these memory-neutral
substitutions: its alignment search (tensor-valued indexing, or a Cython extension) is
vitscfg's torch one, which runs under no_grad like it; ``torch.istft`` in its decoder (no
meta kernel) is vitscfg's fold-based inverse STFT, the same transform; its per-item slicing
(``commons.slice_segments``) cuts at frame 0 (start indices would be read on the host; the
copy sizes are unchanged); the mel spectrogram's range warning and ``Tensor.item`` read
False / 0 on meta tensors; the gradient-norm logging is left out.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
from step_peak_common import META, Step, adamw, first_frames, peak_rows  # noqa: E402

V2_CONFIGS = REPO / "tests" / "model" / "fixtures" / "mb_istft_vits2"
V1_CONFIGS = REPO / "tests" / "fixtures" / "shared_configs"
V1, V2 = "mb-istft-vits", "mb-istft-vits2"


def _params(nets: dict[str, Any]) -> list[torch.Tensor]:
    return [p for net in nets.values() for p in net.parameters()]


def ours(config: dict[str, Any], dialect: str, text_len: int) -> Step:
    from vitscfg.model import build_nets
    from vitscfg.train.step import Batch
    from vitscfg.train.subband import subband_loss_for
    from vitscfg.train.vits2_step import vits2_trace_batch, vits2_train_step

    with torch.device(META):
        nets = build_nets(config, dialect=dialect)
    for net in nets.values():
        net.train()
    optimizers = {name: adamw(net.parameters(), config["train"]) for name, net in nets.items()}
    subband = subband_loss_for(config, META)
    train = config["train"]
    hp = nets["G"].hp  # type: ignore[union-attr]

    def step(b: dict[str, Any]) -> Any:
        # Both forks' step (fork_steps.py); MB-iSTFT-VITS's without the VITS2 parts.
        return vits2_train_step(
            nets,
            optimizers,
            b["batch"],
            c_mel=float(train["c_mel"]),
            c_kl=float(train["c_kl"]),
            global_step=0,
            subband=subband,
        )

    def make_batch(batch_size: int, frames: int) -> dict[str, Any]:
        batch: Batch = vits2_trace_batch(hp, batch_size, text_len, frames, META)  # type: ignore[arg-type]
        return {"batch": batch, **vars(batch)}

    step.params = _params(nets)  # type: ignore[attr-defined]
    step.make_batch = make_batch  # type: ignore[attr-defined]
    return step


def _patched_fork(dialect: str, checkout: Path) -> Any:
    """The fork's modules, with the meta-tensor stand-ins of the module docstring."""
    from scripts.fixtures_mb_istft import Fork
    from vitscfg.model.istft_decoder import inverse_stft
    from vitscfg.model.mas import maximum_path

    f = Fork(dialect, checkout)
    f.commons.slice_segments = first_frames
    if dialect == V2:

        def sma(logp: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            # The fork's layout is (B, T_text, T_spec); vitscfg's (B, T_spec, T_text).
            path = maximum_path(logp.transpose(-1, -2), mask.transpose(-1, -2))
            return path.transpose(-1, -2)

        f.models.sma.maximum_path1 = sma
    else:
        f.models.monotonic_align.maximum_path = maximum_path

    def inverse(self: Any, magnitude: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
        window = self.window.to(magnitude.device)
        spec = magnitude * torch.exp(phase * 1j)
        return inverse_stft(spec, self.hop_length, window).unsqueeze(-2)

    sys.modules["stft"].TorchSTFT.inverse = inverse
    return f


def fork(config: dict[str, Any], dialect: str, checkout: Path, text_len: int) -> Step:
    f = _patched_fork(dialect, checkout)
    data, train, model = config["data"], config["train"], config["model"]
    mel_posterior = dialect == V2 and model.get("use_mel_posterior_encoder") is True
    with torch.device(META):
        # train.py: 80 posterior channels with the mel encoder, else the linear bins.
        nets = f.nets(config, 80 if mel_posterior else None)
    for net in nets.values():
        net.train()
    net_g, net_d, net_dd = nets["G"], nets["D"], nets.get("DurDisc")
    optim = {name: adamw(net.parameters(), train) for name, net in nets.items()}
    hop, seg = data["hop_length"], train["segment_size"]
    hps = SimpleNamespace(train=SimpleNamespace(**train))
    L = f.losses
    n_mels, rate, fmin, fmax = (data[k] for k in ("n_mel_channels", "sampling_rate", "mel_fmin", "mel_fmax"))  # fmt: skip

    def step(b: dict[str, Any]) -> Any:
        if dialect == V2:
            net_g.current_mas_noise_scale = net_g.mas_noise_scale_initial
        out = net_g(b["x"], b["x_lengths"], b["spec"], b["spec_lengths"])
        y_hat, y_hat_mb, l_length, _, ids_slice, x_mask, z_mask = out[:7]
        _, z_p, m_p, logs_p, _, logs_q = out[7]
        mel = b["spec"]
        if not mel_posterior:
            mel = f.mel.spec_to_mel_torch(mel, data["filter_length"], n_mels, rate, fmin, fmax)
        y_mel = f.commons.slice_segments(mel, ids_slice, seg // hop)
        truth = torch.Tensor.__bool__
        torch.Tensor.__bool__ = lambda t: False if t.is_meta else truth(t)  # type: ignore[method-assign,assignment]
        try:  # its range warning (min < -1, max > 1) reads values
            y_hat_mel = f.mel.mel_spectrogram_torch(
                y_hat.squeeze(1), data["filter_length"], n_mels, rate, hop,
                data["win_length"], fmin, fmax,
            )  # fmt: skip
        finally:
            torch.Tensor.__bool__ = truth  # type: ignore[method-assign]
        y = f.commons.slice_segments(b["y"], ids_slice * hop, seg)
        y_d_hat_r, y_d_hat_g, _, _ = net_d(y, y_hat.detach())
        loss_disc, _, _ = L.discriminator_loss(y_d_hat_r, y_d_hat_g)
        if net_dd is not None:
            hidden_x, logw, logw_ = out[8]
            p_real, p_fake = net_dd(
                hidden_x.detach(), x_mask.detach(), logw_.detach(), logw.detach()
            )
            loss_dur_disc, _, _ = L.discriminator_loss(p_real, p_fake)
            optim["DurDisc"].zero_grad()
            loss_dur_disc.backward()
            optim["DurDisc"].step()
        optim["D"].zero_grad()
        loss_disc.backward()
        optim["D"].step()

        _, y_d_hat_g, fmap_r, fmap_g = net_d(y, y_hat)
        if net_dd is not None:
            _, y_dur_hat_g = net_dd(hidden_x, x_mask, logw_, logw)
        loss_dur = torch.sum(l_length.float())
        loss_mel = torch.nn.functional.l1_loss(y_mel, y_hat_mel) * train["c_mel"]
        loss_kl = L.kl_loss(z_p, logs_q, m_p, logs_p, z_mask) * train["c_kl"]
        loss_fm = L.feature_loss(fmap_r, fmap_g)
        loss_gen, _ = L.generator_loss(y_d_hat_g)
        loss_gen_all = loss_gen + loss_fm + loss_mel + loss_dur + loss_kl
        if model["mb_istft_vits"] is True:  # the sub-band term (else a 0 constant)
            y_mb = f.pqmf.PQMF(y.device).analysis(y)
            loss_gen_all = loss_gen_all + L.subband_stft_loss(hps, y_mb, y_hat_mb)
        if net_dd is not None:
            loss_gen_all = loss_gen_all + L.generator_loss(y_dur_hat_g)[0]
        optim["G"].zero_grad()
        loss_gen_all.backward()
        optim["G"].step()
        return loss_gen_all

    spec_bins = n_mels if mel_posterior else data["filter_length"] // 2 + 1

    def make_batch(batch_size: int, frames: int) -> dict[str, Any]:
        return {
            "x": torch.zeros(batch_size, text_len, dtype=torch.long, device=META),
            "x_lengths": torch.full((batch_size,), text_len, dtype=torch.long, device=META),
            "spec": torch.empty(batch_size, spec_bins, frames, device=META),
            "spec_lengths": torch.full((batch_size,), frames, dtype=torch.long, device=META),
            "y": torch.empty(batch_size, 1, frames * hop, device=META),
        }

    step.params = _params(nets)  # type: ignore[attr-defined]
    step.make_batch = make_batch  # type: ignore[attr-defined]
    return step


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--v1", action="store_true", help="MB-iSTFT-VITS (else MB-iSTFT-VITS2)")
    parser.add_argument("--config", help="config NAME (module docstring)")
    parser.add_argument("--batches", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument("--text", type=int, default=100, help="token ids per item")
    parser.add_argument("--fork", type=Path, help="checkout of the fork (else ours only)")
    args = parser.parse_args()

    dialect = V1 if args.v1 else V2
    if args.v1:
        name = args.config or "ljs_mb_istft_vits"
        path = V1_CONFIGS / f"MasayaKawamura__MB-iSTFT-VITS__configs_{name}.json"
    else:
        name = args.config or "mb_istft_vits2_base"
        path = V2_CONFIGS / f"{name}.json"
    config = json.loads(path.read_text())
    sides: list[tuple[str, Callable[[], Step]]] = [
        ("vitscfg", lambda: ours(copy.deepcopy(config), dialect, args.text))
    ]
    if args.fork:
        sides.append(("fork", lambda: fork(copy.deepcopy(config), dialect, args.fork, args.text)))
    peak_rows(sides, args.batches, args.frames)
    print(f"{dialect} config {name}, fp32, meta tensors, second step's peak")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
