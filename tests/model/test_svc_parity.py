"""Numerical parity with so-vits-svc's own code (4.1, and 4.0 for a config without 4.1's
keys): the same weights, inputs and seeded random draws give the same generator outputs
(audio, latents, predicted log-F0), discriminator logits, and losses and gradient norms of one training step, run by
vitscfg.train.svc_step (the step `estimate` traces for so-vits-svc).

Golden values: ``fixtures/svc_parity.json.gz``, written by scripts/fixtures_svc.py from
so-vits-svc's code (commits in the file). Weights are seeded by key name
(tests/model/golden.seeded_state); the random draws by seeding the global generator
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

from tests.model.golden import assert_matches, first_outputs, load_seeded, tensor  # noqa: E402
from tests.model.svc_golden import (  # noqa: E402
    CASES,
    FORWARD_SEED,
    case_config,
    case_version,
    grad_norm,
    make_batch,
)
from vitscfg.model.svc import SvcSynthesizer, SvcTrainOutput, build_svc_nets  # noqa: E402
from vitscfg.train.svc_step import SvcBatch, SvcStepSettings, svc_train_step  # noqa: E402

pytestmark = [pytest.mark.torch, pytest.mark.slow]  # the real-size D (47 M): ~10 s a case

GOLDEN = json.loads(
    gzip.decompress((Path(__file__).parent / "fixtures" / "svc_parity.json.gz").read_bytes())
)
# Measured on the 2-core box (torch 2.9.1): bit-exact with one thread (as the goldens were
# made); with two threads the flows' sums reorder, up to 3.8e-5 absolute on z (|z| up to ~40).
ATOL, RTOL = 1e-5, 1e-5
LOSS_RTOL = 1e-5
#: The checkouts the goldens come from (4.1: svc-develop-team 730930d; 4.0: its 02de07a).
COMMITS = {
    "4.1": "730930d337d171479eadf305f96cbed4bb393e77",
    "4.0": "02de07a8f1c44b1324618e20abab884cbee9af35",
}


def _close(name: str, ours: torch.Tensor | None, entry: dict[str, Any]) -> None:
    assert_matches(name, ours, tensor(entry), rtol=RTOL, atol=ATOL)


def test_fixture_names_the_fork_commits() -> None:
    assert GOLDEN["fork"] == "svc-develop-team/so-vits-svc"
    assert GOLDEN["commit"] == COMMITS["4.1"]
    assert {c["name"]: c["commit"] for c in GOLDEN["cases"]} == {
        name: COMMITS[case_version(name)] for name in CASES
    }


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=lambda c: str(c["name"]))
def test_generator_discriminator_and_step_match_so_vits_svc(case: dict[str, Any]) -> None:
    config = case_config(case["name"])
    with torch.device("meta"):  # no random init of 47 M parameters: the weights are seeded
        nets = build_svc_nets(config)
    net_g, net_d = nets["G"], nets["D"]
    assert isinstance(net_g, SvcSynthesizer)
    load_seeded(net_g)
    load_seeded(net_d)
    net_g.train()
    net_d.train()
    b = make_batch(config)
    batch = SvcBatch(b.c, b.f0, b.spec, b.wave, b.sid, b.lengths, b.uv, b.vol)

    seen = first_outputs(("G", net_g), ("D", net_d))  # D's first call: (real, fake.detach())
    train = config["train"]
    hyper = {"lr": train["learning_rate"], "betas": tuple(train["betas"]), "eps": train["eps"]}
    optims = {tag: torch.optim.AdamW(nets[tag].parameters(), **hyper) for tag in ("G", "D")}
    grads: dict[str, float] = {}

    def record_grad_norm(tag: str) -> Any:
        def hook(optimizer: Any, args: Any, kwargs: Any) -> None:
            grads.setdefault(tag, grad_norm(nets[tag]))  # just before the update

        return hook

    for tag, optim in optims.items():
        optim.register_step_pre_hook(record_grad_norm(tag))
    settings = SvcStepSettings.from_config(config)
    torch.manual_seed(FORWARD_SEED)
    losses = svc_train_step(net_g, net_d, optims["G"], optims["D"], batch, settings)

    golden = case["outputs"]
    out: SvcTrainOutput = seen["G"]
    assert out.ids_slice.tolist() == golden["ids_slice"]
    _close("audio", out.audio, golden["audio"])
    for name in ("z", "z_p", "m_p", "logs_p", "m_q", "logs_q"):
        _close(name, getattr(out, name), golden[name])
    if "pred_lf0" in golden:
        for name in ("pred_lf0", "norm_lf0", "lf0"):
            _close(name, getattr(out, name), golden[name])
    else:
        assert out.pred_lf0 is None
    real, fake, _, _ = seen["D"]
    assert len(real) == len(golden["d_real"]) == 6
    for i, (r, f) in enumerate(zip(real, fake, strict=True)):
        _close(f"D{i} real", r, golden["d_real"][i])
        _close(f"D{i} fake", f, golden["d_fake"][i])
    for name, value in case["losses"].items():
        ours = float(getattr(losses, name))
        assert ours == pytest.approx(value, rel=LOSS_RTOL, abs=1e-9), name
    for tag in ("G", "D"):
        assert grads[tag] == pytest.approx(case["grad_norms"][tag], rel=LOSS_RTOL), tag
