"""VITS2 numerics equal p0p4k/vits2_pytorch's own: forward outputs and one training step.

The goldens come from the fork's own code (scripts/fixtures_vits2.py, fork commit recorded in
the fixture) for the tiny cases of tests/model/vits2_golden.py, with the same key-seeded
weights, inputs and seed of the global generator. The step follows the fork's train_ms.py:
duration-discriminator step, discriminator step (AdamW each), then the generator's losses
through the updated discriminators.
"""

from __future__ import annotations

import functools
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

import torch  # noqa: E402
from torch import nn  # noqa: E402

from tests.model.vits2_golden import (  # noqa: E402
    PARITY_CASES,
    SEED,
    case_config,
    make_batch,
    seeded_state,
)
from vitscfg.model import build_nets  # noqa: E402
from vitscfg.model import losses as L  # noqa: E402
from vitscfg.model.commons import slice_segments  # noqa: E402
from vitscfg.model.duration_discriminator import DurationDiscriminator  # noqa: E402
from vitscfg.model.mel import mel_spectrogram, spec_to_mel  # noqa: E402
from vitscfg.model.synthesizer import SynthesizerTrn, TrainOutput  # noqa: E402

pytestmark = pytest.mark.torch

GOLDEN = json.loads(
    gzip.decompress((Path(__file__).parent / "fixtures" / "vits2_parity.json.gz").read_bytes())
)
# float32 on CPU, with equivalent but differently ordered ops (attention by gathers instead of
# the fork's pad-and-reshape). Measured on one thread (tests/model/conftest.py): outputs within
# 5.1e-5 relative (2.1e-5 absolute), step losses and gradient norms within 2.6e-6. On two
# threads the flows amplify the convolutions' other rounding to 5.5e-4 (z_p of the mono
# cases, values ~3), hence the margin; a wrong layer is off by O(1).
RTOL, ATOL = 1e-3, 1e-4


def _tensor(item: dict[str, Any]) -> torch.Tensor:
    return torch.tensor(item["values"], dtype=torch.float32).view(item["shape"])


@functools.cache
def _discriminator_state() -> dict[str, torch.Tensor]:
    # The 47 M-parameter discriminator is the same in every case: seed its weights once.
    with torch.device("meta"):
        disc = build_nets(case_config(sorted(PARITY_CASES)[0]), dialect="vits2")["D"]
    return seeded_state(disc)


def _nets(config: dict[str, Any]) -> dict[str, nn.Module]:
    # Built on the meta device, then given the seeded weights: no random initialisation.
    with torch.device("meta"):
        nets = build_nets(config, dialect="vits2")
    for name, net in nets.items():
        if name == "D":  # a copy: the step test updates it in place
            state = {k: v.clone() for k, v in _discriminator_state().items()}
        else:
            state = seeded_state(net)
        net.load_state_dict(state, strict=True, assign=True)
        net.eval()  # the goldens have no dropout (see vits2_golden)
    return nets


def _forward(case: str) -> tuple[dict[str, nn.Module], TrainOutput, Any, dict[str, Any]]:
    config = case_config(case)
    nets = _nets(config)
    net_g = nets["G"]
    assert isinstance(net_g, SynthesizerTrn) and net_g.hp.vits2 is not None
    batch = make_batch(config)
    torch.manual_seed(SEED)
    out = net_g(
        batch.text,
        batch.text_lengths,
        batch.spec,
        batch.spec_lengths,
        batch.sid,
        mas_noise_scale=net_g.hp.vits2.mas_noise_scale(0),
    )
    return nets, out, batch, config


def _close(name: str, got: torch.Tensor, want: torch.Tensor) -> None:
    torch.testing.assert_close(got.detach().float(), want, rtol=RTOL, atol=ATOL, msg=name)


def test_golden_names_the_fork_commit() -> None:
    assert GOLDEN["fork"] == "p0p4k/vits2_pytorch"
    assert GOLDEN["commit"].startswith("1f4f379")
    assert sorted(GOLDEN["cases"]) == sorted(PARITY_CASES)


@pytest.mark.parametrize("case", sorted(PARITY_CASES))
def test_forward_matches_the_fork(case: str) -> None:
    nets, out, _, _ = _forward(case)
    want = GOLDEN["cases"][case]["outputs"]
    assert out.ids_slice.tolist() == want["ids_slice"]
    # The alignment is discrete: equal durations mean the same monotonic path.
    assert torch.equal(out.attn.sum(2), _tensor(want["durations"]))
    assert out.hidden_x is not None and out.logw is not None and out.logw_target is not None
    for name, got in (
        ("audio", out.audio),
        ("l_length", out.dur_loss),
        ("z_p", out.z_p),
        ("m_p", out.m_p),
        ("logs_p", out.logs_p),
        ("hidden_x", out.hidden_x),
        ("logw", out.logw),
        ("logw_target", out.logw_target),
    ):
        _close(name, got, _tensor(want[name]))
    dur_disc = nets["DurDisc"]
    p_real, p_fake = dur_disc(out.hidden_x, out.x_mask, out.logw_target, out.logw)
    _close("dur_prob_real", p_real, _tensor(want["dur_prob_real"]))
    _close("dur_prob_fake", p_fake, _tensor(want["dur_prob_fake"]))


def _adamw(net: nn.Module, train: dict[str, Any]) -> torch.optim.AdamW:
    # As the fork constructs them (AdamW's default weight decay, 0.01, included).
    return torch.optim.AdamW(
        net.parameters(), train["learning_rate"], betas=tuple(train["betas"]), eps=train["eps"]
    )


def _grad_norm(net: nn.Module) -> float:
    return float(
        sum(float(p.grad.norm()) ** 2 for p in net.parameters() if p.grad is not None) ** 0.5
    )


#: Both duration discriminators and predictors, mel and linear targets, with and without MAS
#: noise; the other cases differ only in the flow, which the forward test covers.
STEP_CASES = ("sdp_pre_conv_dd1_mel_noise", "dp_fft_dd2_linear")


@pytest.mark.slow
@pytest.mark.parametrize("case", STEP_CASES)
def test_training_step_matches_the_fork(case: str) -> None:
    nets, out, batch, config = _forward(case)
    net_g, net_d, dur_disc = nets["G"], nets["D"], nets["DurDisc"]
    assert isinstance(net_g, SynthesizerTrn) and isinstance(dur_disc, DurationDiscriminator)
    assert out.hidden_x is not None and out.logw is not None and out.logw_target is not None
    hp, train = net_g.hp, config["train"]
    assert hp.vits2 is not None
    if hp.vits2.use_mel_posterior_encoder:
        mel = batch.spec
    else:
        mel = spec_to_mel(
            batch.spec,
            hp.filter_length,
            hp.n_mel_channels,
            hp.sampling_rate,
            hp.mel_fmin,
            hp.mel_fmax,
        )
    y_mel = slice_segments(mel, out.ids_slice, hp.segment_frames)
    y_hat_mel = mel_spectrogram(
        out.audio.squeeze(1),
        hp.filter_length,
        hp.n_mel_channels,
        hp.sampling_rate,
        hp.hop_length,
        hp.win_length,
        hp.mel_fmin,
        hp.mel_fmax,
    )
    y = slice_segments(batch.wave, out.ids_slice * hp.hop_length, hp.segment_frames * hp.hop_length)
    optim_g, optim_d, optim_dd = (_adamw(n, train) for n in (net_g, net_d, dur_disc))

    d_real, d_fake, _, _ = net_d(y, out.audio.detach())
    loss_disc, _, _ = L.discriminator_loss(d_real, d_fake)
    p_real, p_fake = dur_disc(
        out.hidden_x.detach(), out.x_mask, out.logw_target.detach(), out.logw.detach()
    )
    loss_dur_disc, _, _ = L.discriminator_loss(
        dur_disc.loss_terms(p_real), dur_disc.loss_terms(p_fake)
    )
    optim_dd.zero_grad()
    loss_dur_disc.backward()
    grad_norm_dd = _grad_norm(dur_disc)
    optim_dd.step()
    optim_d.zero_grad()
    loss_disc.backward()
    grad_norm_d = _grad_norm(net_d)
    optim_d.step()

    _, d_fake, fmap_real, fmap_fake = net_d(y, out.audio)
    _, p_fake = dur_disc(out.hidden_x, out.x_mask, out.logw_target, out.logw)
    losses = {
        "loss_disc": loss_disc,
        "loss_dur_disc": loss_dur_disc,
        "loss_gen": L.generator_loss(d_fake)[0],
        "loss_fm": L.feature_loss(fmap_real, fmap_fake),
        "loss_mel": L.mel_loss(y_mel, y_hat_mel) * train["c_mel"],
        "loss_dur": L.duration_loss(out.dur_loss),
        "loss_kl": L.kl_loss(out.z_p, out.logs_q, out.m_p, out.logs_p, out.y_mask) * train["c_kl"],
        "loss_dur_gen": L.generator_loss(dur_disc.loss_terms(p_fake))[0],
    }
    loss_gen_all = sum(
        (v for k, v in losses.items() if k not in ("loss_disc", "loss_dur_disc")),
        torch.zeros(()),
    )
    optim_g.zero_grad()
    loss_gen_all.backward()
    got = {k: float(v.detach()) for k, v in losses.items()}
    got |= {
        "loss_gen_all": float(loss_gen_all.detach()),
        "grad_norm_dur_disc": grad_norm_dd,
        "grad_norm_d": grad_norm_d,
        "grad_norm_g": _grad_norm(net_g),
    }
    want = GOLDEN["cases"][case]["step"]
    assert sorted(got) == sorted(want)
    for name, value in want.items():
        assert got[name] == pytest.approx(value, rel=RTOL, abs=ATOL), name
