"""Numerical parity with so-vits-svc 4.1's own code: the same weights, inputs and seeded
random draws give the same generator outputs (audio, latents, predicted log-F0),
discriminator logits, and losses and gradient norms of one training step.

Golden values: ``fixtures/svc_parity.json.gz``, written by scripts/fixtures_svc.py from
so-vits-svc's code (commit in the file). Weights are seeded by key name
(tests/model/rvc_golden.seeded_state); the random draws by seeding the global generator
(tests/model/svc_golden.py says why that suffices).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

import torch  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from tests.model.rvc_golden import load_seeded  # noqa: E402
from tests.model.svc_golden import (  # noqa: E402
    FORWARD_SEED,
    case_config,
    grad_norm,
    make_batch,
)
from vitscfg.model import losses as L  # noqa: E402
from vitscfg.model.commons import slice_segments  # noqa: E402
from vitscfg.model.mel import mel_spectrogram, spec_to_mel  # noqa: E402
from vitscfg.model.svc import SvcSynthesizer, build_svc_nets  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.slow]  # the real-size D (47 M): ~10 s a case

GOLDEN = json.loads(
    gzip.decompress((Path(__file__).parent / "fixtures" / "svc_parity.json.gz").read_bytes())
)
# float32 through ~40 conv/attention layers and a 2048-sample phase cumsum; the relative
# attention and the mel filterbank are computed differently (vitscfg's own code).
ATOL, RTOL = 1e-5, 1e-5
LOSS_RTOL = 1e-5


def _close(name: str, ours: torch.Tensor | None, entry: dict[str, Any]) -> None:
    assert ours is not None, name
    theirs = torch.tensor(entry["values"], dtype=torch.float32).view(entry["shape"])
    assert tuple(ours.shape) == tuple(theirs.shape), name
    torch.testing.assert_close(ours.detach().float(), theirs, atol=ATOL, rtol=RTOL, msg=name)


def test_fixture_names_the_fork_commit() -> None:
    assert GOLDEN["fork"] == "svc-develop-team/so-vits-svc"
    assert GOLDEN["commit"] == "730930d337d171479eadf305f96cbed4bb393e77"


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=lambda c: str(c["name"]))
def test_generator_discriminator_and_step_match_so_vits_svc(case: dict[str, Any]) -> None:
    config = case_config(case["name"])
    data, train = config["data"], config["train"]
    with torch.device("meta"):  # no random init of 47 M parameters: the weights are seeded
        nets = build_svc_nets(config)
    net_g, net_d = nets["G"], nets["D"]
    assert isinstance(net_g, SvcSynthesizer)
    load_seeded(net_g)
    load_seeded(net_d)
    net_g.train()
    net_d.train()
    b = make_batch(config)
    vol = b.vol if config["model"]["vol_embedding"] else None

    # so-vits-svc's train.py step, in its order, at fp32.
    spec_mel = spec_to_mel(
        b.spec,
        data["filter_length"],
        data["n_mel_channels"],
        data["sampling_rate"],
        data["mel_fmin"],
        data["mel_fmax"],
    )
    torch.manual_seed(FORWARD_SEED)
    out = net_g(b.c, b.f0, b.uv, b.spec, b.sid, b.lengths, b.lengths, vol=vol)
    seg_frames = train["segment_size"] // data["hop_length"]
    y_mel = slice_segments(spec_mel, out.ids_slice, seg_frames)
    y_hat_mel = mel_spectrogram(
        out.audio.squeeze(1),
        data["filter_length"],
        data["n_mel_channels"],
        data["sampling_rate"],
        data["hop_length"],
        data["win_length"],
        data["mel_fmin"],
        data["mel_fmax"],
    )
    wave = slice_segments(b.wave, out.ids_slice * data["hop_length"], train["segment_size"])
    d_real, d_fake, _, _ = net_d(wave, out.audio.detach())
    loss_disc, _, _ = L.discriminator_loss(d_real, d_fake)
    hyper = {
        "lr": train["learning_rate"],
        "betas": tuple(train["betas"]),
        "eps": train["eps"],
    }
    optim_g = torch.optim.AdamW(net_g.parameters(), **hyper)
    optim_d = torch.optim.AdamW(net_d.parameters(), **hyper)
    optim_d.zero_grad()
    loss_disc.backward()  # type: ignore[no-untyped-call]
    grad_d = grad_norm(net_d)
    optim_d.step()
    _, d_fake2, fmap_r, fmap_g = net_d(wave, out.audio)
    loss_mel = F.l1_loss(y_mel, y_hat_mel) * train["c_mel"]
    loss_kl = L.kl_loss(out.z_p, out.logs_q, out.m_p, out.logs_p, out.spec_mask) * train["c_kl"]
    loss_fm = L.feature_loss(fmap_r, fmap_g)
    loss_gen, _ = L.generator_loss(d_fake2)
    loss_lf0 = (
        F.mse_loss(out.pred_lf0, out.lf0)
        if out.pred_lf0 is not None and out.lf0 is not None
        else torch.zeros(())
    )
    loss_gen_all = loss_gen + loss_fm + loss_mel + loss_kl + loss_lf0
    optim_g.zero_grad()
    loss_gen_all.backward()
    grad_g = grad_norm(net_g)
    optim_g.step()

    golden = case["outputs"]
    assert out.ids_slice.tolist() == golden["ids_slice"]
    _close("audio", out.audio, golden["audio"])
    for name in ("z", "z_p", "m_p", "logs_p", "m_q", "logs_q"):
        _close(name, getattr(out, name), golden[name])
    if "pred_lf0" in golden:
        for name in ("pred_lf0", "norm_lf0", "lf0"):
            _close(name, getattr(out, name), golden[name])
    else:
        assert out.pred_lf0 is None
    _close("y_hat_mel", y_hat_mel, golden["y_hat_mel"])
    assert len(d_real) == len(golden["d_real"]) == 6
    for i, (r, f) in enumerate(zip(d_real, d_fake, strict=True)):
        _close(f"D{i} real", r, golden["d_real"][i])
        _close(f"D{i} fake", f, golden["d_fake"][i])
    ours = {
        "disc": loss_disc,
        "gen": loss_gen,
        "fm": loss_fm,
        "mel": loss_mel,
        "kl": loss_kl,
        "lf0": loss_lf0,
        "gen_all": loss_gen_all,
    }
    for name, value in case["losses"].items():
        assert float(ours[name]) == pytest.approx(value, rel=LOSS_RTOL, abs=1e-9), name
    assert grad_d == pytest.approx(case["grad_norms"]["D"], rel=LOSS_RTOL)
    assert grad_g == pytest.approx(case["grad_norms"]["G"], rel=LOSS_RTOL)
