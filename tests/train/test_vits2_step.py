"""vitscfg's VITS2 step (vitscfg/train/vits2_step.py) on a tiny config: it trains every network
it should, and runs on fake tensors (what the estimator traces). Numerical parity with the
fork's step is tests/model/test_vits2_parity.py."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("torch")

import torch  # noqa: E402

from tests.model.vits2_golden import case_config  # noqa: E402
from vitscfg.model import build_nets  # noqa: E402
from vitscfg.model.mel import mel_filterbank  # noqa: E402
from vitscfg.model.synthesizer import SynthesizerTrn  # noqa: E402
from vitscfg.model.vits2 import vits2_hparams  # noqa: E402
from vitscfg.train.vits2_step import vits2_trace_batch, vits2_train_step  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.slow]


def _config() -> dict[str, Any]:
    config = case_config("sdp_pre_conv_dd1_mel_noise")
    # vitscfg's discriminator width knob: 1/8 of the channels, for a fast CPU step.
    config["model"]["discriminator_width"] = 0.125
    return config


def _optimizers(nets: dict[str, torch.nn.Module]) -> dict[str, torch.optim.Optimizer]:
    return {name: torch.optim.AdamW(net.parameters(), 2e-4) for name, net in nets.items()}


def test_one_step_updates_every_network() -> None:
    torch.manual_seed(0)
    nets = build_nets(_config(), dialect="vits2")
    generator = nets["G"]
    assert isinstance(generator, SynthesizerTrn)
    batch = vits2_trace_batch(generator.hp, 2, 7, 24, torch.device("cpu"))
    batch.text.random_(1, 100)
    batch.spec.normal_()
    batch.wav.uniform_(-0.5, 0.5)
    assert batch.sid is not None
    batch.sid[1] = 2
    before = {name: [p.detach().clone() for p in net.parameters()] for name, net in nets.items()}
    result = vits2_train_step(nets, _optimizers(nets), batch, c_mel=45.0, c_kl=1.0, global_step=3)
    assert all(torch.isfinite(v) for v in result.losses.values())
    assert set(result.losses) >= {"d/total", "dur_disc/total", "g/dur_gen", "g/total"}
    assert set(result.grad_norms) == {"G", "D", "DurDisc"}
    for name, net in nets.items():
        moved = sum(
            not torch.equal(a, b) for a, b in zip(before[name], net.parameters(), strict=True)
        )
        assert moved > 0, name


def test_the_step_runs_on_fake_tensors() -> None:
    # What the estimator's fake backend traces: shapes and bytes, no values.
    from torch._subclasses.fake_tensor import FakeTensorMode

    hp = vits2_hparams(_config())
    # The cached mel filterbank is real data, made outside the mode (as the estimator does).
    mel_filterbank(
        hp.filter_length,
        hp.n_mel_channels,
        hp.sampling_rate,
        hp.mel_fmin,
        hp.mel_fmax,
        torch.device("cpu"),
    )
    with FakeTensorMode(allow_non_fake_inputs=True):
        nets = build_nets(_config(), dialect="vits2")
        generator = nets["G"]
        assert isinstance(generator, SynthesizerTrn)
        batch = vits2_trace_batch(generator.hp, 2, 7, 24, torch.device("cpu"))
        result = vits2_train_step(
            nets, _optimizers(nets), batch, c_mel=45.0, c_kl=1.0, global_step=0
        )
        assert result.losses["g/total"].shape == ()
