"""vitscfg's Bert-VITS2-family step against one step of each fork's own train script (the
losses it logs and each network's gradient norm), from
``tests/model/fixtures/bert_vits2_step.json.gz`` (scripts/fixtures_bert_vits2.py; fork
commits recorded in the fixture). Setup shared with the script: tests/model/bert_step_golden.py.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

import torch  # noqa: E402

from tests.model import bert_step_golden as sg  # noqa: E402
from tests.model import bert_vits2_golden as golden  # noqa: E402
from tests.model.golden import seeded_state  # noqa: E402
from vitscfg.model import build_nets  # noqa: E402
from vitscfg.model.bert_slm import build_slm_judge  # noqa: E402
from vitscfg.model.bert_synthesizer import BertTextInputs  # noqa: E402
from vitscfg.train.bert_step import BertBatch, BertStepSettings, bert_train_step  # noqa: E402

pytestmark = pytest.mark.torch

FIXTURE = Path(__file__).resolve().parents[1] / "model" / "fixtures" / "bert_vits2_step.json.gz"
GOLDEN: dict[str, Any] = json.loads(gzip.decompress(FIXTURE.read_bytes()))

#: Measured on this machine over the four cases: losses within 2.0e-6 and gradient norms
#: within 9.7e-5 relative of the forks' (float32 sums in another order); the tolerance
#: leaves room for thread counts and BLAS builds.
RTOL = 1e-3

#: A full-size MultiPeriodDiscriminator (the forks' fixed sizes) makes each step several
#: CPU-seconds: the Bert-VITS2 case (every part) runs by default, the others when slow.
_CASES = [pytest.param(c, marks=() if c == "bert-vits2" else pytest.mark.slow) for c in sg.CASES]


def vitscfg_step(case: str) -> Any:
    dialect = golden.PARITY_CASES[case][0]
    config = sg.step_config(case)
    nets = build_nets(config, dialect)
    for net in nets.values():
        net.load_state_dict(seeded_state(net), strict=True)
        net.eval()
    optimizers = {
        k: torch.optim.AdamW(n.parameters(), sg.LR, betas=sg.BETAS, eps=sg.EPS)
        for k, n in nets.items()
    }
    judge = None
    if "WavLMDisc" in nets:
        judge = build_slm_judge(config)
        judge.wavlm.load_state_dict(seeded_state(judge.wavlm), strict=True)
    b = sg.step_inputs(case, config)
    inputs = BertTextInputs(b["tone"], b["language"], b["berts"], b["style"])
    batch = BertBatch(
        b["text"],
        b["text_lengths"],
        b["spec"],
        b["spec_lengths"],
        b["wav"],
        b["wav_lengths"],
        b["sid"],
        inputs,
    )
    settings = BertStepSettings.from_config(config, dialect)
    scaler = torch.amp.GradScaler("cpu", enabled=False)  # type: ignore[attr-defined]
    torch.manual_seed(golden.SEED)  # the generator's draws: alignment noise, SDP, window
    return bert_train_step(nets, optimizers, batch, settings, scaler, judge)


def test_the_fixture_names_each_forks_commit() -> None:
    commits = GOLDEN["commits"]
    assert commits["bert-vits2"].startswith("fishaudio/Bert-VITS2@8f7fbd8")
    assert commits["style-bert-vits2"].startswith("litagin02/Style-Bert-VITS2@66de777")
    assert commits["melotts"].startswith("myshell-ai/MeloTTS@2091453")
    assert set(GOLDEN["cases"]) == set(sg.CASES)


@pytest.mark.parametrize("case", _CASES)
def test_one_step_matches_the_forks_own_step(case: str) -> None:
    want = GOLDEN["cases"][case]
    result = vitscfg_step(case)
    got = {k: float(v) for k, v in result.losses.items()}
    assert set(got) == set(want["losses"])
    for name, value in want["losses"].items():
        assert got[name] == pytest.approx(value, rel=RTOL, abs=1e-5), name
    norms = {k: float(v) for k, v in result.grad_norms.items()}
    assert set(norms) == set(want["grad_norms"])
    for name, value in want["grad_norms"].items():
        assert norms[name] == pytest.approx(value, rel=RTOL), name
