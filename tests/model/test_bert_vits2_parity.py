"""Bert-VITS2 2.x, Style-Bert-VITS2 (and JP-Extra) and MeloTTS numerics equal the forks' own:
the generator's training forward (audio, latents, alignment durations, duration losses and
predictions), the duration discriminator, the WavLM discriminator head and (Bert-VITS2 case)
the multi-period discriminator.

The goldens come from the forks' own code (scripts/fixtures_bert_vits2.py; fork commits in
the fixture) for the tiny cases of tests/model/bert_vits2_golden.py, with key-seeded weights,
the same inputs and the same seed of the global generator (posterior sample, MAS noise, the
stochastic duration predictor's two draws, the decoder window).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

import torch  # noqa: E402

from tests.model.bert_vits2_golden import (  # noqa: E402
    MAS_NOISE,
    PARITY_CASES,
    SEED,
    case_config,
    make_batch,
)
from tests.model.vits2_golden import seeded_state  # noqa: E402
from vitscfg.model import build_nets  # noqa: E402
from vitscfg.model.bert_synthesizer import BertSynthesizer, BertTextInputs  # noqa: E402

pytestmark = pytest.mark.torch

GOLDEN: dict[str, Any] = json.loads(
    gzip.decompress((Path(__file__).parent / "fixtures" / "bert_vits2_parity.json.gz").read_bytes())
)
# float32 on CPU; the attention is computed with other (equivalent) ops than the forks'.
# Measured on one thread: worst item per case within 7.8e-5 absolute (MeloTTS's duration
# loss, values ~15: 5e-6 relative), everything else within 2.3e-5; a wrong layer is off by O(1).
RTOL, ATOL = 1e-3, 1e-4


def _tensor(item: dict[str, Any]) -> torch.Tensor:
    return torch.tensor(item["data"], dtype=torch.float32).view(item["shape"])


def _close(name: str, ours: torch.Tensor, item: dict[str, Any]) -> None:
    theirs = _tensor(item)
    assert tuple(ours.shape) == tuple(theirs.shape), name
    torch.testing.assert_close(ours.detach().float(), theirs, rtol=RTOL, atol=ATOL, msg=name)


def _run(case: str, with_d: bool) -> dict[str, Any]:
    dialect = PARITY_CASES[case][0]
    with torch.device("meta"):
        nets = build_nets(case_config(case), dialect=dialect)
    if not with_d:
        del nets["D"]  # 47 M parameters: seeded only where the golden has its outputs
    for net in nets.values():
        net.load_state_dict(seeded_state(net), strict=True, assign=True)
        net.eval()
    g_net = nets["G"]
    assert isinstance(g_net, BertSynthesizer)
    b = make_batch(case)
    inputs = BertTextInputs(b.tone, b.language, b.berts, b.style)
    torch.manual_seed(SEED)
    with torch.no_grad():
        out = g_net(b.text, b.text_lengths, b.spec, b.spec_lengths, b.sid, inputs, MAS_NOISE)
        result: dict[str, Any] = {"out": out}
        if "DurDisc" in nets:
            cond = out.g if hasattr(nets["DurDisc"], "cond") else None
            result["dur_disc"] = nets["DurDisc"](
                out.hidden_x, out.x_mask, out.logw_target, out.logw, cond
            )
        if "WavLMDisc" in nets:
            result["wavlm_disc"] = nets["WavLMDisc"](b.slm)
        if with_d:
            result["d"] = nets["D"](b.wave, out.audio)
    return result


@pytest.mark.parametrize(
    "case",
    [
        # The Bert-VITS2 case also seeds the 47 M-parameter discriminator: slow.
        pytest.param(c, marks=pytest.mark.slow) if c == "bert-vits2" else c
        for c in sorted(PARITY_CASES)
    ],
)
def test_forward_matches_the_fork(case: str) -> None:
    golden = GOLDEN["cases"][case]
    with_d = "d_fake" in golden
    result = _run(case, with_d)
    out = result["out"]
    assert out.ids_slice.tolist() == golden["ids_slice"]
    _close("durations", out.attn.sum(2), golden["durations"])
    for name in ("audio", "dur_loss", "z", "z_p", "m_p", "logs_p", "m_q", "logs_q"):
        _close(name, getattr(out, name), golden[name])
    _close("hidden_x", out.hidden_x, golden["hidden_x"])
    _close("logw", out.logw, golden["logw"])
    _close("logw_target", out.logw_target, golden["logw_target"])
    assert (out.logw_sdp is not None) == ("logw_sdp" in golden)
    if out.logw_sdp is not None:
        _close("logw_sdp", out.logw_sdp, golden["logw_sdp"])
    assert ("dur_disc" in result) == ("dur_disc" in golden)
    for i, prob in enumerate(result.get("dur_disc", [])):
        _close(f"dur_disc[{i}]", prob, golden["dur_disc"][i])
    assert ("wavlm_disc" in result) == ("wavlm_disc" in golden)
    if "wavlm_disc" in result:
        _close("wavlm_disc", result["wavlm_disc"], golden["wavlm_disc"])
    if with_d:
        d_real, d_fake, _, _ = result["d"]
        for i, (r, f) in enumerate(zip(d_real, d_fake, strict=True)):
            _close(f"d_real[{i}]", r, golden["d_real"][i])
            _close(f"d_fake[{i}]", f, golden["d_fake"][i])


def test_fixture_names_the_fork_commits() -> None:
    assert set(GOLDEN["commits"]) == {"bert-vits2", "style-bert-vits2", "melotts"}
    assert all("@" in c and len(c.split("@")[1]) == 40 for c in GOLDEN["commits"].values())
