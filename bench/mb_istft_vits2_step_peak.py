"""Traced tensor peak of MB-iSTFT-VITS2's training step: FENRlR/MB-iSTFT-VITS2's own code vs
vitscfg's step for it (vitscfg/train/vits2_step.py with the sub-band term), on meta tensors
(fp32), at the same sizes.

    .venv/bin/python bench/mb_istft_vits2_step_peak.py                    # vitscfg only
    PYTHONPATH=/tmp/forkdeps .venv/bin/python bench/mb_istft_vits2_step_peak.py \\
        --fork /tmp/mbistft2                                             # both

(the checkout at b1a49d9 and its dependencies, scipy and librosa, as in
scripts/fixtures_mb_istft.py). Both sides build G, D and the duration discriminator from the
same vendored config (default: mb_istft_vits2_base, the 4-band decoder) on the meta device,
create AdamW as train.py does, and run two steps under vitscfg's storage tracker (the
estimator's byte counter); the figure is the peak of the second step. Every item has
``--text`` token ids and ``--frames`` mel frames.

The fork's step is its train.py body at fp32 (autocast and the scaler off), with these
memory-neutral substitutions: its alignment search (``sma_v1``: per-item indexing with
tensor values) is vitscfg's torch one, which runs under no_grad like it; ``torch.istft`` in
its decoder (no meta kernel) is vitscfg's fold-based inverse STFT, the same transform; its per-item
slicing (``commons.slice_segments``) cuts at frame 0 (start indices would be read on the
host; the copy sizes are unchanged); the mel spectrogram's range warning and
``Tensor.item`` read False / 0 on meta tensors; the gradient-norm logging is left out.
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

CONFIGS = REPO / "tests" / "model" / "fixtures" / "mb_istft_vits2"
N_VOCAB = 178  # token ids drawn below this (either side's table is larger)


def _nets_params(nets: dict[str, Any]) -> list[torch.Tensor]:
    return [p for net in nets.values() for p in net.parameters()]


def ours(config: dict[str, Any], text_len: int) -> Step:
    from vitscfg.model import build_nets
    from vitscfg.train.subband import subband_loss_for
    from vitscfg.train.vits2_step import vits2_trace_batch, vits2_train_step

    with torch.device(META):
        nets = build_nets(config, dialect="mb-istft-vits2")
    for net in nets.values():
        net.train()
    optimizers = {name: adamw(net.parameters(), config["train"]) for name, net in nets.items()}
    subband = subband_loss_for(config, META)
    train = config["train"]

    def step(b: dict[str, Any]) -> Any:
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
        hp = nets["G"].hp  # type: ignore[union-attr]
        batch = vits2_trace_batch(hp, batch_size, text_len, frames, META)  # type: ignore[arg-type]
        return {"batch": batch, **vars(batch)}

    step.params = _nets_params(nets)  # type: ignore[attr-defined]
    step.make_batch = make_batch  # type: ignore[attr-defined]
    return step


def fork(config: dict[str, Any], checkout: Path, text_len: int) -> Step:
    from scripts.fixtures_mb_istft import Fork
    from vitscfg.model.istft_decoder import inverse_stft
    from vitscfg.model.mas import maximum_path

    f = Fork("mb-istft-vits2", checkout)
    f.commons.slice_segments = first_frames

    def sma(logp: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # The fork's layout is (B, T_text, T_spec); vitscfg's (B, T_spec, T_text).
        return maximum_path(logp.transpose(-1, -2), mask.transpose(-1, -2)).transpose(-1, -2)

    f.models.sma.maximum_path1 = sma

    def inverse(self: Any, magnitude: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
        # torch.istft has no meta kernel: the same transform, as vitscfg's decoder writes it.
        window = self.window.to(magnitude.device)
        return inverse_stft(magnitude * torch.exp(phase * 1j), self.hop_length, window).unsqueeze(
            -2
        )

    sys.modules["stft"].TorchSTFT.inverse = inverse
    data, train, model = config["data"], config["train"], config["model"]
    with torch.device(META):
        nets = f.nets(config, 80)  # train.py: 80 posterior channels with the mel encoder
    for net in nets.values():
        net.train()
    net_g, net_d, net_dd = nets["G"], nets["D"], nets["DurDisc"]
    optim = {name: adamw(net.parameters(), train) for name, net in nets.items()}
    hop, seg = data["hop_length"], train["segment_size"]
    hps = SimpleNamespace(train=SimpleNamespace(**train))
    L = f.losses
    mel_args = (
        data["filter_length"],
        data["n_mel_channels"],
        data["sampling_rate"],
        hop,
        data["win_length"],
        data["mel_fmin"],
        data["mel_fmax"],
    )

    def step(b: dict[str, Any]) -> Any:
        net_g.current_mas_noise_scale = net_g.mas_noise_scale_initial
        out = net_g(b["x"], b["x_lengths"], b["spec"], b["spec_lengths"])
        y_hat, y_hat_mb, l_length, _, ids_slice, x_mask, z_mask = out[:7]
        _, z_p, m_p, logs_p, _, logs_q = out[7]
        hidden_x, logw, logw_ = out[8]
        y_mel = f.commons.slice_segments(b["spec"], ids_slice, seg // hop)
        truth = torch.Tensor.__bool__
        torch.Tensor.__bool__ = lambda t: False if t.is_meta else truth(t)  # type: ignore[method-assign,assignment]
        try:  # its range warning (min < -1, max > 1) reads values
            y_hat_mel = f.mel.mel_spectrogram_torch(y_hat.squeeze(1), *mel_args)
        finally:
            torch.Tensor.__bool__ = truth  # type: ignore[method-assign]
        y = f.commons.slice_segments(b["y"], ids_slice * hop, seg)
        y_d_hat_r, y_d_hat_g, _, _ = net_d(y, y_hat.detach())
        loss_disc, _, _ = L.discriminator_loss(y_d_hat_r, y_d_hat_g)
        p_real, p_fake = net_dd(hidden_x.detach(), x_mask.detach(), logw_.detach(), logw.detach())
        loss_dur_disc, _, _ = L.discriminator_loss(p_real, p_fake)
        optim["DurDisc"].zero_grad()
        loss_dur_disc.backward()
        optim["DurDisc"].step()
        optim["D"].zero_grad()
        loss_disc.backward()
        optim["D"].step()

        _, y_d_hat_g, fmap_r, fmap_g = net_d(y, y_hat)
        _, y_dur_hat_g = net_dd(hidden_x, x_mask, logw_, logw)
        loss_dur = torch.sum(l_length.float())
        loss_mel = torch.nn.functional.l1_loss(y_mel, y_hat_mel) * train["c_mel"]
        loss_kl = L.kl_loss(z_p, logs_q, m_p, logs_p, z_mask) * train["c_kl"]
        loss_fm = L.feature_loss(fmap_r, fmap_g)
        loss_gen, _ = L.generator_loss(y_d_hat_g)
        loss_gen_all = loss_gen + loss_fm + loss_mel + loss_dur + loss_kl
        if model["mb_istft_vits"] is True:  # train.py's sub-band term (else a 0 constant)
            y_mb = f.pqmf.PQMF(y.device).analysis(y)
            loss_gen_all = loss_gen_all + L.subband_stft_loss(hps, y_mb, y_hat_mb)
        loss_gen_all = loss_gen_all + L.generator_loss(y_dur_hat_g)[0]
        optim["G"].zero_grad()
        loss_gen_all.backward()
        optim["G"].step()
        return loss_gen_all

    def make_batch(batch_size: int, frames: int) -> dict[str, Any]:
        return {
            "x": torch.zeros(batch_size, text_len, dtype=torch.long, device=META),
            "x_lengths": torch.full((batch_size,), text_len, dtype=torch.long, device=META),
            "spec": torch.empty(batch_size, data["n_mel_channels"], frames, device=META),
            "spec_lengths": torch.full((batch_size,), frames, dtype=torch.long, device=META),
            "y": torch.empty(batch_size, 1, frames * hop, device=META),
        }

    step.params = _nets_params(nets)  # type: ignore[attr-defined]
    step.make_batch = make_batch  # type: ignore[attr-defined]
    return step


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--config", default="mb_istft_vits2_base", help="a vendored config")
    parser.add_argument("--batches", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--frames", type=int, default=400)
    parser.add_argument("--text", type=int, default=100, help="token ids per item")
    parser.add_argument("--fork", type=Path, help="checkout of MB-iSTFT-VITS2 (else ours only)")
    args = parser.parse_args()

    config = json.loads((CONFIGS / f"{args.config}.json").read_text())
    sides: list[tuple[str, Callable[[], Step]]] = [
        ("vitscfg", lambda: ours(copy.deepcopy(config), args.text))
    ]
    if args.fork:
        sides.append(("fork", lambda: fork(copy.deepcopy(config), args.fork, args.text)))
    peak_rows(sides, args.batches, args.frames)
    print(f"config {args.config}, fp32, meta tensors, second step's peak")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
