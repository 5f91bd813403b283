"""Numerical parity with MB-iSTFT-VITS / MB-iSTFT-VITS2's own code: same weights, inputs and
noise give the same generator outputs (incl. the decoder's sub-band signals) and the same
losses of one training step (incl. the sub-band STFT loss), to float tolerance.

The goldens (``fixtures/mb_istft_parity.json.gz``) come from scripts/fixtures_mb_istft.py, run
on checkouts of the two forks (commits recorded in the file); tests/model/mb_istft_golden.py
says how weights, inputs and noise are made. The step is written here from vitscfg's parts in
the forks' train-script order, with the trainer's own sub-band term (train/subband.py).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

import torch  # noqa: E402
from torch import nn  # noqa: E402

from tests.model.golden import assert_matches, tensor  # noqa: E402
from tests.model.mb_istft_golden import (  # noqa: E402
    PARITY_CASES,
    SEED,
    case_config,
    decoder_seeded_state,
    make_batch,
)
from vitscfg.model import build_nets, losses  # noqa: E402
from vitscfg.model.commons import slice_segments  # noqa: E402
from vitscfg.model.mel import mel_spectrogram, spec_to_mel  # noqa: E402
from vitscfg.model.synthesizer import TrainOutput  # noqa: E402
from vitscfg.train.subband import subband_loss_for  # noqa: E402

pytestmark = pytest.mark.torch

FIXTURE = json.loads(
    gzip.decompress((Path(__file__).parent / "fixtures" / "mb_istft_parity.json.gz").read_bytes())
)
# float32 through ~30 layers, an inverse FFT and a 63-tap filter: relative 1e-4 of the scale.
RTOL, ATOL = 1e-4, 1e-5


def _close(name: str, ours: torch.Tensor, entry: dict[str, Any]) -> None:
    theirs = tensor(entry)
    scale = max(1.0, float(theirs.abs().max()))
    assert_matches(name, ours, theirs, rtol=RTOL, atol=ATOL * scale)


def _grad_norm(net: nn.Module) -> float:
    # The fork's clip_grad_value_(..., None) formula: the norm of the per-tensor norms (summing
    # 47 M squares at once in float32 differs from it by ~1e-3 relative).
    norms = [p.grad.detach().norm(2) for p in net.parameters() if p.grad is not None]
    return float(torch.stack(norms).norm(2))


def _adamw(net: nn.Module, train: dict[str, Any]) -> torch.optim.Optimizer:
    betas = (float(train["betas"][0]), float(train["betas"][1]))
    return torch.optim.AdamW(
        net.parameters(), train["learning_rate"], betas=betas, eps=train["eps"]
    )


def _terms(probs: torch.Tensor, model: dict[str, Any]) -> list[torch.Tensor]:
    """What the fork's LSGAN losses iterate over: ``dur_disc_2`` hands them a one-element list;
    ``dur_disc_1`` the (B, T, 1) tensor itself, so they sum per-item means over the batch."""
    if model["duration_discriminator_type"] == "dur_disc_1":
        return list(probs.unbind(0))
    return [probs]


def _step(
    nets: dict[str, nn.Module],
    out: TrainOutput,
    config: dict[str, Any],
    spec: torch.Tensor,
    wave: torch.Tensor,
) -> dict[str, float]:
    """One training step as the forks' train scripts order it; returns losses and grad norms."""
    data, model, train = config["data"], config["model"], config["train"]
    hop, frames = data["hop_length"], train["segment_size"] // data["hop_length"]
    if model.get("use_mel_posterior_encoder"):
        mel = spec
    else:
        mel = spec_to_mel(
            spec,
            data["filter_length"],
            data["n_mel_channels"],
            data["sampling_rate"],
            data["mel_fmin"],
            data["mel_fmax"],
        )
    y_mel = slice_segments(mel, out.ids_slice, frames)
    y_hat_mel = mel_spectrogram(
        out.audio.squeeze(1),
        data["filter_length"],
        data["n_mel_channels"],
        data["sampling_rate"],
        hop,
        data["win_length"],
        data["mel_fmin"],
        data["mel_fmax"],
    )
    y = slice_segments(wave, out.ids_slice * hop, train["segment_size"])
    net_d, net_dd = nets["D"], nets.get("DurDisc")
    got: dict[str, float] = {}

    real, fake, _, _ = net_d(y, out.audio.detach())
    loss_disc, _, _ = losses.discriminator_loss(real, fake)
    if net_dd is not None:
        assert out.hidden_x is not None and out.logw is not None and out.logw_target is not None
        p_real, p_fake = net_dd(
            out.hidden_x.detach(), out.x_mask, out.logw_target.detach(), out.logw.detach()
        )
        loss_dur_disc, _, _ = losses.discriminator_loss(
            _terms(p_real, model), _terms(p_fake, model)
        )
        optim_dd = _adamw(net_dd, train)
        optim_dd.zero_grad()
        loss_dur_disc.backward()
        got["grad_norm_dur_disc"] = _grad_norm(net_dd)
        optim_dd.step()
        got["loss_dur_disc"] = loss_dur_disc.item()
    optim_d = _adamw(net_d, train)
    optim_d.zero_grad()
    loss_disc.backward()
    got["grad_norm_d"] = _grad_norm(net_d)
    optim_d.step()

    _, fake, fmap_r, fmap_g = net_d(y, out.audio)
    loss_gen, _ = losses.generator_loss(fake)
    loss_fm = losses.feature_loss(fmap_r, fmap_g)
    loss_mel = losses.mel_loss(y_mel, y_hat_mel) * train["c_mel"]
    loss_dur = losses.duration_loss(out.dur_loss)
    loss_kl = losses.kl_loss(out.z_p, out.logs_q, out.m_p, out.logs_p, out.y_mask) * train["c_kl"]
    # The trainer's own sub-band term (train/subband.py), checked against the fork's number.
    term = subband_loss_for(config, torch.device("cpu"))
    assert (term is not None) == bool(model["mb_istft_vits"])
    loss_subband = torch.zeros(())
    if term is not None:
        assert out.audio_bands is not None
        loss_subband = term(out.audio_bands, y)
    total = loss_gen + loss_fm + loss_mel + loss_dur + loss_kl + loss_subband
    if net_dd is not None:
        assert out.hidden_x is not None and out.logw is not None and out.logw_target is not None
        _, p_fake = net_dd(out.hidden_x, out.x_mask, out.logw_target, out.logw)
        loss_dur_gen, _ = losses.generator_loss(_terms(p_fake, model))
        total = total + loss_dur_gen
        got["loss_dur_gen"] = loss_dur_gen.item()
    optim_g = _adamw(nets["G"], train)
    optim_g.zero_grad()
    total.backward()
    got["grad_norm_g"] = _grad_norm(nets["G"])
    got.update(
        loss_disc=loss_disc.item(),
        loss_gen=loss_gen.item(),
        loss_fm=loss_fm.item(),
        loss_mel=loss_mel.item(),
        loss_dur=loss_dur.item(),
        loss_kl=loss_kl.item(),
        loss_subband=loss_subband.item(),
        loss_gen_all=total.item(),
    )
    return got


def test_the_fixture_covers_every_case_and_names_the_commits() -> None:
    assert sorted(FIXTURE["cases"]) == sorted(PARITY_CASES)
    assert FIXTURE["forks"]["mb-istft-vits"]["commit"].startswith("df2f8d3")
    assert FIXTURE["forks"]["mb-istft-vits2"]["commit"].startswith("b1a49d9")


@pytest.mark.slow  # each case runs the fork's full-size discriminator (47 M parameters)
@pytest.mark.parametrize("case", sorted(PARITY_CASES))
def test_outputs_and_one_step_match_the_fork(case: str) -> None:
    dialect = PARITY_CASES[case][0]
    golden = FIXTURE["cases"][case]
    assert golden["dialect"] == dialect
    config = case_config(case)
    nets = build_nets(config, dialect=dialect)
    for net in nets.values():
        net.load_state_dict(decoder_seeded_state(net), strict=True)
        net.eval()  # as the fixture: no dropout on either side
    g = nets["G"]
    b = make_batch(config)
    vits2 = getattr(g, "vits2", None)
    noise = vits2.mas_noise_scale(0) if vits2 is not None and vits2.use_noise_scaled_mas else 0.0
    torch.manual_seed(SEED)
    sid = b.sid if config["data"]["n_speakers"] else None
    out: TrainOutput = g(b.text, b.text_lengths, b.spec, b.spec_lengths, sid, noise)

    expected = golden["outputs"]
    assert out.ids_slice.tolist() == expected["ids_slice"]
    _close("durations", out.attn.sum(2), expected["durations"])
    _close("audio", out.audio, expected["audio"])
    _close("l_length", out.dur_loss, expected["l_length"])
    for name in ("z_p", "m_p", "logs_p"):
        _close(name, getattr(out, name), expected[name])
    if "audio_bands" in expected:
        assert out.audio_bands is not None
        _close("audio_bands", out.audio_bands, expected["audio_bands"])
    else:
        assert out.audio_bands is None
    if vits2 is not None:
        assert out.logw is not None and out.logw_target is not None
        _close("logw", out.logw, expected["logw"])
        _close("logw_target", out.logw_target, expected["logw_target"])

    got = _step(nets, out, config, b.spec, b.wave)
    assert sorted(got) == sorted(golden["step"])
    for name, value in golden["step"].items():
        assert got[name] == pytest.approx(value, rel=RTOL, abs=ATOL), name
