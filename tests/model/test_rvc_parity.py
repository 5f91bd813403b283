"""Numerical parity with RVC's own code: the same weights, inputs and random draws give the
same generator outputs (incl. the NSF source), discriminator logits and training-step losses.

Golden values: ``fixtures/rvc_parity.json``, written by scripts/fixtures_rvc.py from RVC's code
(commit in the file). Randomness is made deterministic by replaying the draws RVC's forward
made (posterior noise, window starts, source phases and noise): vitscfg must ask for the same
draws in the same order (the record/replay is tests/model/golden.py's).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

import torch  # noqa: E402

from tests.model.golden import Draws, assert_matches, first_outputs, load_seeded, replaying, tensor  # noqa: E402
from tests.model.rvc_golden import TINY_RVC_CONFIG, make_batch  # noqa: E402
from vitscfg.model.rvc import RvcSynthesizer, RvcTrainOutput, RvcVariant, build_rvc_nets  # noqa: E402
from vitscfg.train.rvc_step import RvcBatch, RvcStepSettings, rvc_train_step  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.slow]  # the real-size D (71 M): ~10-20 s

GOLDEN = json.loads((Path(__file__).parent / "fixtures" / "rvc_parity.json").read_text())
# float32 through ~40 conv/attention layers, a different (gather-based) relative attention,
# real and fake through D as one batch, torchaudio's Slaney mel filters for librosa's.
ATOL, RTOL = 1e-5, 1e-5
LOSS_RTOL = 1e-5


def _close(name: str, ours: torch.Tensor, entry: dict[str, Any]) -> None:
    assert_matches(name, ours, tensor(entry), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=lambda c: f"{c['version']}-f0{c['f0']}")
def test_generator_discriminator_and_step_match_rvc(case: dict[str, Any]) -> None:
    config = copy.deepcopy(TINY_RVC_CONFIG)
    with torch.device("meta"):  # no random init of 75 M parameters: the weights are seeded
        nets = build_rvc_nets(config, RvcVariant(case["version"], case["f0"]))
    net_g, net_d = nets["G"], nets["D"]
    assert isinstance(net_g, RvcSynthesizer)
    load_seeded(net_g)
    load_seeded(net_d)
    net_g.train()
    net_d.train()
    b = make_batch(case["version"])
    batch = RvcBatch(
        b.phone,
        b.phone_lengths,
        b.spec,
        b.spec_lengths,
        b.wave,
        b.sid,
        pitch=b.pitch if case["f0"] else None,
        pitchf=b.pitchf if case["f0"] else None,
    )

    watched: list[tuple[str, torch.nn.Module]] = [("G", net_g), ("D", net_d)]
    if case["f0"]:
        watched.append(("source", net_g.dec.m_source))  # type: ignore[arg-type]
    seen = first_outputs(*watched)  # D's first call: (real, fake.detach())
    settings = RvcStepSettings.from_config(config)
    hyper = {
        "lr": config["train"]["learning_rate"],
        "betas": tuple(config["train"]["betas"]),
        "eps": config["train"]["eps"],
    }
    optim_g = torch.optim.AdamW(net_g.parameters(), **hyper)
    optim_d = torch.optim.AdamW(net_d.parameters(), **hyper)
    with replaying(Draws.from_json(case["draws"])) as calls:
        losses = rvc_train_step(net_g, net_d, optim_g, optim_d, batch, settings)
    assert len(calls) == len(case["draws"])

    golden = case["outputs"]
    out: RvcTrainOutput = seen["G"]
    assert out.ids_slice.tolist() == golden["ids_slice"]
    _close("audio", out.audio, golden["audio"])
    for name in ("z", "z_p", "m_p", "logs_p", "m_q", "logs_q"):
        _close(name, getattr(out, name), golden[name])
    if case["f0"]:
        _close("source", seen["source"], golden["source"])
    real, fake, _, _ = seen["D"]
    assert len(real) == len(golden["d_real"]) == len(net_d.discriminators)  # type: ignore[arg-type]
    for i, (r, f) in enumerate(zip(real, fake, strict=True)):
        _close(f"D{i} real", r, golden["d_real"][i])
        _close(f"D{i} fake", f, golden["d_fake"][i])
    for name, value in case["losses"].items():
        ours = float(getattr(losses, name))
        assert ours == pytest.approx(value, rel=LOSS_RTOL), name
