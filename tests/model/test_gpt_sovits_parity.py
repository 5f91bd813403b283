"""Numerical parity with GPT-SoVITS's own s2 code: the same weights, inputs and seeded random
draws give the same generator outputs (audio, latents, quantized features, the codebook after
its EMA update), discriminator logits and losses of one training step, run by
vitscfg.train.gpt_sovits_step (the step `estimate` traces for GPT-SoVITS).

Golden values: ``fixtures/gpt_sovits_parity.json.gz``, written by scripts/fixtures_gpt_sovits.py
from the fork's code (commit in the file). Weights are seeded by key name; the random draws
by seeding the global generator (tests/model/gpt_sovits_golden.py says why that suffices).
Cases: v2 as shipped (frozen quantizer), v2 with a training quantizer (commitment loss, EMA
codebook update, restart of unused codes), v2Pro (speaker-verification embedding, periods
17 and 23).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

import torch  # noqa: E402

from tests.model.golden import assert_matches, first_outputs, tensor  # noqa: E402
from tests.model.gpt_sovits_golden import (  # noqa: E402
    CODEBOOK_ROWS,
    FORWARD_SEED,
    QUANTIZED_CHANNELS,
    case_config,
    make_batch,
    seeded_weights,
)
from vitscfg.model.gpt_sovits import GptSovitsSynthesizer, build_gpt_sovits_nets  # noqa: E402
from vitscfg.train.gpt_sovits_step import (  # noqa: E402
    GptSovitsBatch,
    GptSovitsStepSettings,
    gpt_sovits_train_step,
    optimizer_groups,
)

pytestmark = [pytest.mark.torch, pytest.mark.slow]  # the real-size D (47-71 M): ~5 s a case

GOLDEN = json.loads(
    gzip.decompress((Path(__file__).parent / "fixtures" / "gpt_sovits_parity.json.gz").read_bytes())
)
COMMIT = "48b1a0169a28582a8984402f82cf438d3bfa6aca"
ATOL, RTOL = 1e-5, 1e-5
LOSS_RTOL = 1e-5


def _close(name: str, ours: torch.Tensor | None, entry: dict[str, Any]) -> None:
    assert_matches(name, ours, tensor(entry), rtol=RTOL, atol=ATOL)


def test_fixture_names_the_fork_commit() -> None:
    assert GOLDEN["fork"] == "RVC-Boss/GPT-SoVITS"
    assert GOLDEN["commit"] == COMMIT
    assert [c["case"] for c in GOLDEN["cases"]] == ["v2", "v2-train-quantizer", "v2Pro"]


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=lambda c: str(c["case"]))
def test_generator_discriminator_and_step_match_the_fork(case: dict[str, Any]) -> None:
    config = case_config(case["case"])
    with torch.device("meta"):  # no random init: the weights are seeded
        nets = build_gpt_sovits_nets(config)
    net_g, net_d = nets["G"], nets["D"]
    assert isinstance(net_g, GptSovitsSynthesizer)
    net_g.load_state_dict(seeded_weights(net_g), strict=True, assign=True)
    net_d.load_state_dict(seeded_weights(net_d), strict=True, assign=True)
    net_g.train()
    net_d.train()
    b = make_batch(config)
    batch = GptSovitsBatch(b.ssl, b.spec, b.spec_lengths, b.wave, b.text, b.text_lengths, b.sv_emb)
    seen = first_outputs(("G", net_g), ("D", net_d))  # D: its first call (real, fake.detach())
    train = config["train"]
    hyper = {"betas": tuple(train["betas"]), "eps": train["eps"]}
    lr = train["learning_rate"]
    optim_g = torch.optim.AdamW(optimizer_groups(net_g, lr, train["text_low_lr_rate"]), lr, **hyper)
    optim_d = torch.optim.AdamW(net_d.parameters(), lr, **hyper)
    codebook = net_g.quantizer.vq.layers[0]._codebook  # type: ignore[union-attr,index]
    torch.manual_seed(FORWARD_SEED)
    losses = gpt_sovits_train_step(
        net_g, net_d, optim_g, optim_d, batch, GptSovitsStepSettings.from_config(config)
    )

    golden = case["outputs"]
    out = seen["G"]
    assert out.ids_slice.tolist() == golden["ids_slice"]
    _close("audio", out.audio, golden["audio"])
    for name in ("z", "z_p", "m_p", "logs_p", "m_q", "logs_q"):
        _close(name, getattr(out, name), golden[name])
    _close("quantized", out.quantized[:, :QUANTIZED_CHANNELS], golden["quantized"])
    embed = codebook.embed
    _close("codebook", embed[:CODEBOOK_ROWS], golden["codebook_rows"])
    assert float(embed.double().sum()) == pytest.approx(golden["codebook_sum"], rel=1e-6)
    real, fake, _, _ = seen["D"]
    assert len(real) == len(golden["d_real"]) == len(net_d.discriminators)  # type: ignore[arg-type]
    for i, (r, f) in enumerate(zip(real, fake, strict=True)):
        _close(f"D{i} real", r, golden["d_real"][i])
        _close(f"D{i} fake", f, golden["d_fake"][i])
    for name, value in case["losses"].items():
        ours = float(getattr(losses, name))
        assert ours == pytest.approx(value, rel=LOSS_RTOL, abs=1e-7), name
