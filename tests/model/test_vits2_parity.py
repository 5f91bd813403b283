"""VITS2 numerics equal p0p4k/vits2_pytorch's own: forward outputs and one training step.

The goldens come from the fork's own code (scripts/fixtures_vits2.py, fork commit recorded in
the fixture) for the tiny cases of tests/model/vits2_golden.py, with the same key-seeded
weights, inputs and seed of the global generator. The step is vitscfg's VITS2 step
(vitscfg/train/vits2_step.py), checked against the fork's train_ms.py order: duration-
discriminator step, discriminator step (AdamW each), then the generator's losses through the
updated discriminators.
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

from tests.model.golden import assert_matches, tensor  # noqa: E402
from tests.model.vits2_golden import (  # noqa: E402
    PARITY_CASES,
    SEED,
    case_config,
    make_batch,
    seeded_state,
)
from vitscfg.model import build_nets  # noqa: E402
from vitscfg.model.synthesizer import SynthesizerTrn, TrainOutput  # noqa: E402
from vitscfg.train.step import Batch  # noqa: E402
from vitscfg.train.vits2_step import vits2_train_step  # noqa: E402

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
    assert_matches(name, got, want, rtol=RTOL, atol=ATOL)


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
    assert torch.equal(out.attn.sum(2), tensor(want["durations"]))
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
        _close(name, got, tensor(want[name]))
    dur_disc = nets["DurDisc"]
    p_real, p_fake = dur_disc(out.hidden_x, out.x_mask, out.logw_target, out.logw)
    _close("dur_prob_real", p_real, tensor(want["dur_prob_real"]))
    _close("dur_prob_fake", p_fake, tensor(want["dur_prob_fake"]))


#: Both duration discriminators and predictors, mel and linear targets, with and without MAS
#: noise; the other cases differ only in the flow, which the forward test covers.
STEP_CASES = ("sdp_pre_conv_dd1_mel_noise", "dp_fft_dd2_linear")
#: vitscfg's log names of the fork's losses (vitscfg.train.vits2_step).
LOSS_NAMES = {
    "loss_disc": "d/total",
    "loss_dur_disc": "dur_disc/total",
    "loss_gen": "g/gen",
    "loss_fm": "g/fm",
    "loss_mel": "g/mel",
    "loss_dur": "g/dur",
    "loss_kl": "g/kl",
    "loss_dur_gen": "g/dur_gen",
    "loss_gen_all": "g/total",
}


@pytest.mark.slow
@pytest.mark.parametrize("case", STEP_CASES)
def test_training_step_matches_the_fork(case: str) -> None:
    config = case_config(case)
    nets = _nets(config)
    train = config["train"]
    optimizers = {
        # As the fork constructs them (AdamW's default weight decay, 0.01, included).
        name: torch.optim.AdamW(
            net.parameters(), train["learning_rate"], betas=tuple(train["betas"]), eps=train["eps"]
        )
        for name, net in nets.items()
    }
    b = make_batch(config)
    batch = Batch(
        b.text,
        b.text_lengths,
        b.spec,
        b.spec_lengths,
        b.wave,
        b.spec_lengths * config["data"]["hop_length"],
        b.sid,
    )
    torch.manual_seed(SEED)
    result = vits2_train_step(
        nets, optimizers, batch, c_mel=train["c_mel"], c_kl=train["c_kl"], global_step=0
    )
    want = GOLDEN["cases"][case]["step"]
    got = {name: float(result.losses[ours]) for name, ours in LOSS_NAMES.items()}
    got |= {f"grad_norm_{k}": float(result.grad_norms[n]) for k, n in _NORMS.items()}
    assert sorted(got) == sorted(want)
    for name, value in want.items():
        assert got[name] == pytest.approx(value, rel=RTOL, abs=ATOL), name


_NORMS = {"dur_disc": "DurDisc", "d": "D", "g": "G"}
