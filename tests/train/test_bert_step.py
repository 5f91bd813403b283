"""The Bert-VITS2 family's own training step (vitscfg/train/bert_step.py): each flavour
updates its networks in its script's order with its losses, the duration discriminator is
called as each script calls it, the frozen WavLM stays frozen, and the estimator reads the
family's worst case in phones."""

from __future__ import annotations

import json
import wave
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

import torch  # noqa: E402

from tests.model import bert_vits2_golden as golden  # noqa: E402
from vitscfg.model import build_nets  # noqa: E402
from vitscfg.model.bert_slm import build_slm_judge  # noqa: E402
from vitscfg.model.bert_synthesizer import BertTextInputs, BertTrainOutput  # noqa: E402
from vitscfg.model.support import model_support, train_refusal  # noqa: E402
from vitscfg.train import bert_step  # noqa: E402
from vitscfg.train.bert_step import (  # noqa: E402
    BertBatch,
    BertFlavour,
    BertStepSettings,
    bert_train_step,
    mas_noise_scale,
)
from vitscfg.train.fork_steps import FORK_STEPS  # noqa: E402

pytestmark = pytest.mark.torch

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "tests" / "fixtures" / "shared_configs"
BERT_VITS2 = SHARED / "fishaudio__Bert-VITS2__configs_config.json"
SEGMENT, FRAMES = 1024, (80, 70)  # 64-frame window; WavLM needs >= 400 samples at 16 kHz

#: flavour -> the networks its step updates and the generator terms it logs.
EXPECTED: dict[str, tuple[set[str], set[str]]] = {
    "bert-vits2": ({"G", "D", "DurDisc", "WavLMDisc"}, {"g/lm", "g/lm_gen", "g/dur_gen"}),
    "style-bert-vits2": ({"G", "D", "DurDisc"}, {"g/dur_gen"}),
    "style-bert-vits2-jp-extra": (
        {"G", "D", "DurDisc", "WavLMDisc"},
        {"g/lm", "g/lm_gen", "g/dur_gen"},
    ),
    "melotts-refenc": ({"G", "D", "DurDisc"}, {"g/dur_gen"}),
}


def step_config(case: str, **model: Any) -> dict[str, Any]:
    """The parity case's tiny config with a window the WavLM can read and a slim D."""
    config = golden.case_config(case)
    config["train"].update({"segment_size": SEGMENT, "c_mel": 45.0, "c_kl": 1.0})
    config["model"].update({"discriminator_width": 1 / 16, **model})
    return config


def step_batch(case: str, config: dict[str, Any]) -> BertBatch:
    b = golden.make_batch(case)
    gen = torch.Generator().manual_seed(7)
    hop = config["data"]["hop_length"]
    lengths = torch.tensor(FRAMES)
    spec = 0.01 + torch.rand(
        2, config["data"]["filter_length"] // 2 + 1, max(FRAMES), generator=gen
    )
    wav = 0.3 * torch.tanh(torch.randn(2, 1, max(FRAMES) * hop, generator=gen))
    inputs = BertTextInputs(b.tone, b.language, b.berts, b.style)
    return BertBatch(b.text, b.text_lengths, spec, lengths, wav, lengths * hop, b.sid, inputs)


def run_step(case: str, config: dict[str, Any]) -> tuple[Any, dict[str, Any], Any]:
    dialect = golden.PARITY_CASES[case][0]
    torch.manual_seed(0)
    nets = build_nets(config, dialect)
    optimizers = {k: torch.optim.AdamW(n.parameters(), 2e-4) for k, n in nets.items()}
    judge = build_slm_judge(config) if "WavLMDisc" in nets else None
    settings = BertStepSettings.from_config(config, dialect)
    scaler = torch.amp.GradScaler("cpu", enabled=False)  # type: ignore[attr-defined]
    before = {k: [p.detach().clone() for p in n.parameters()] for k, n in nets.items()}
    frozen = [p.detach().clone() for p in judge.parameters()] if judge else []
    result = bert_train_step(nets, optimizers, step_batch(case, config), settings, scaler, judge)
    moved = {
        k: any(not torch.equal(a, b) for a, b in zip(before[k], n.parameters(), strict=True))
        for k, n in nets.items()
    }
    if judge is not None:
        assert all(not p.requires_grad for p in judge.parameters())
        assert all(torch.equal(a, b) for a, b in zip(frozen, judge.parameters(), strict=True))
    return result, moved, settings


#: One real step per flavour costs ~3-10 CPU-seconds on this machine: Bert-VITS2 (every
#: part) runs by default, the others with the slow tests.
_CASES = [
    pytest.param(case, marks=() if case == "bert-vits2" else pytest.mark.slow) for case in EXPECTED
]


@pytest.mark.parametrize("case", _CASES)
def test_each_flavour_updates_its_networks_in_one_real_step(case: str) -> None:
    result, moved, settings = run_step(case, step_config(case))
    nets, extra_terms = EXPECTED[case]
    assert set(moved) == nets and all(moved.values()), moved
    assert set(result.grad_norms) == nets
    base = {"d/total", "dur_disc/total", "g/gen", "g/fm", "g/mel", "g/dur", "g/kl", "g/total"}
    wavlm = {"wd/total"} if "WavLMDisc" in nets else set()
    assert set(result.losses) == base | wavlm | extra_terms
    assert all(bool(torch.isfinite(v)) for v in result.losses.values())
    terms = [v for k, v in result.losses.items() if k.startswith("g/") and k != "g/total"]
    assert float(result.losses["g/total"]) == pytest.approx(float(sum(terms)), rel=1e-5)
    assert settings.flavour is BertFlavour(golden.table_key(case).replace("-refenc", ""))


def test_jp_extra_adds_the_wavlm_terms_only_with_a_duration_discriminator() -> None:
    """train_ms_jp_extra.py computes the WavLM terms but adds them to G's loss in the
    duration discriminator's branch only."""
    case = "style-bert-vits2-jp-extra"
    result, moved, _ = run_step(case, step_config(case, use_duration_discriminator=False))
    assert set(moved) == {"G", "D", "WavLMDisc"}
    losses = result.losses
    assert {"g/lm", "g/lm_gen"} <= set(losses)
    without = sum(float(losses[k]) for k in ("g/gen", "g/fm", "g/mel", "g/dur", "g/kl"))
    assert float(losses["g/total"]) == pytest.approx(without, rel=1e-5)


class _Recorder(torch.nn.Module):
    """Stands in for the duration discriminator and records how it is called."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[Any, ...]] = []

    def forward(self, *args: torch.Tensor) -> list[torch.Tensor]:
        self.calls.append(args)
        shape = (args[0].size(0), args[0].size(2), 1)
        return [torch.full(shape, 0.25), torch.full(shape, 0.5)]


def _named(out: BertTrainOutput, t: torch.Tensor) -> str:
    for name in ("hidden_x", "x_mask", "logw", "logw_target", "logw_sdp", "g"):
        if getattr(out, name) is t:
            return name
    return "?"


@pytest.mark.parametrize(
    ("flavour", "calls"),
    [
        (BertFlavour.STYLE, [("logw", "logw_target")]),
        (BertFlavour.MELOTTS, [("logw", "logw_target")]),
        (BertFlavour.JP_EXTRA, [("logw_target", "logw", "g")]),
        (BertFlavour.BERT_VITS2, [("logw_target", "logw", "g"), ("logw_target", "logw_sdp", "g")]),
    ],
)
def test_the_duration_discriminator_is_called_as_each_script_calls_it(
    flavour: BertFlavour, calls: list[tuple[str, ...]]
) -> None:
    t = [torch.randn(2, 1, 5) for _ in range(4)]
    out = BertTrainOutput(*([torch.zeros(1)] * 12), torch.randn(2, 4, 5), t[0], t[1], t[2], t[3])
    out = out._replace(x_mask=torch.ones(2, 1, 5))
    recorder = _Recorder()
    real, fake = bert_step._dur_probs(flavour, recorder, out, detach=False)
    got = [tuple(_named(out, a) for a in call[2:]) for call in recorder.calls]
    assert got == calls
    both = 2 if flavour is BertFlavour.BERT_VITS2 else 1  # the SDP sample's probabilities add
    assert float(real.max()) == 0.25 * both and float(fake.max()) == 0.5 * both


def test_clipping_and_noise_follow_the_scripts() -> None:
    config = step_config("bert-vits2")
    bf16 = BertStepSettings.from_config(config, "bert-vits2", "bf16")
    fp32 = BertStepSettings.from_config(config, "bert-vits2", "fp32")
    assert (bf16.clip_d, bf16.clip_g) == (200.0, 500.0) and (fp32.clip_d, fp32.clip_g) == (
        None,
        None,
    )
    jp = step_config("style-bert-vits2-jp-extra")
    jp_fp32 = BertStepSettings.from_config(jp, "style-bert-vits2", "fp32")
    assert jp_fp32.flavour is BertFlavour.JP_EXTRA and (jp_fp32.clip_d, jp_fp32.clip_g) == (
        None,
        500.0,
    )
    melo = BertStepSettings.from_config(step_config("melotts-refenc"), "melotts", "fp16")
    assert melo.half is torch.float16 and (melo.clip_d, melo.clip_g) == (None, None)
    assert mas_noise_scale(0) == 0.01 and mas_noise_scale(10_000) == 0.0


def test_the_family_is_exact_and_still_refused_by_train() -> None:
    config = json.loads(BERT_VITS2.read_text(encoding="utf-8"))
    for dialect in ("bert-vits2", "style-bert-vits2", "melotts"):
        assert dialect in FORK_STEPS
        assert model_support(config, dialect).level == "exact"
        refusal = train_refusal(dialect)
        assert refusal is not None and "BERT" in refusal


def test_the_trace_batch_has_one_bert_vector_per_phone() -> None:
    config = json.loads(BERT_VITS2.read_text(encoding="utf-8"))
    batch = FORK_STEPS["bert-vits2"].make_batch(config, 2, 30, torch.device("cpu"), text_len=9)
    assert batch.text.shape == (2, 9) and batch.text_lengths.tolist() == [9, 9]
    assert [tuple(b.shape) for b in batch.inputs.berts] == [(2, 1024, 9)] * 3
    assert batch.spec.shape == (2, config["data"]["filter_length"] // 2 + 1, 30)
    tensors = FORK_STEPS["bert-vits2"].batch_tensors(batch)
    assert any(t is batch.inputs.berts[2] for t in tensors)
    assert all(bool(torch.isfinite(t.float()).all()) for t in tensors)


def _wav(path: Path, rate: int, seconds: float) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x01\x00" * int(rate * seconds))


@pytest.mark.parametrize(
    ("dialect", "want"),
    # Bert-VITS2 keeps phone columns up to 384 characters (the 300-phone line has 599);
    # Style-Bert-VITS2 filters nothing.
    [("bert-vits2", 2 * 150 + 1), ("style-bert-vits2", 2 * 300 + 1)],
)
def test_the_worst_case_text_is_the_longest_phone_sequence(
    tmp_path: Path, dialect: str, want: int
) -> None:
    from vitscfg.estimate.data import data_lengths

    config = json.loads(BERT_VITS2.read_text(encoding="utf-8"))
    rate = config["data"]["sampling_rate"]
    lines = []
    for i, phones in enumerate((150, 300, 40)):
        path = tmp_path / f"clip{i}.wav"
        _wav(path, rate, 2.0)
        seq = " ".join(["a"] * phones)
        tones = " ".join(["0"] * phones)
        # wav|speaker|language|text|phones|tones|word2ph; the text column is short.
        lines.append(f"{path}|spk|ZH|hi|{seq}|{tones}|{phones}")
    (tmp_path / "train.list").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config["data"]["training_files"] = str(tmp_path / "train.list")
    config["data"].pop("max_text_len", None)
    lengths = data_lengths(config, tmp_path / "config.json", dialect)
    assert lengths.source == "data", lengths.notes
    assert lengths.text_len == want


_LSTM_PROBE = """
import json, torch
from vitscfg.estimate.meta import use_cpp_meta_kernels
from vitscfg.estimate.tracker import StorageTracker
from vitscfg.model.bert_parts import BertDurationDiscriminator

use_cpp_meta_kernels()


def run():
    with torch.device("meta"):
        dd = BertDurationDiscriminator(16, 16, 3, 0.1, gin_channels=8, lstm=True)
        h, mask = torch.empty(3, 16, 50), torch.empty(3, 1, 50)
        real, fake = torch.empty(3, 1, 50), torch.empty(3, 1, 50, requires_grad=True)
        g = torch.empty(3, 8, 1)
    tracker = StorageTracker()
    tracker.track([*dd.parameters(), h, mask, real, fake, g])
    with tracker:
        _, p_fake = dd(h, mask, real, fake, g)
        after = tracker.live
        p_fake.sum().backward()
    grads = all(p.grad is not None for p in dd.parameters()) and fake.grad is not None
    return after, grads


composite = run()
from vitscfg.estimate import meta_lstm

meta_lstm.install()
print(json.dumps({"composite": composite, "one_op": run()}))
"""


def test_the_one_op_meta_lstm_keeps_the_composites_bytes() -> None:
    """estimate/meta_lstm.py (process-global: run in a child) holds what PyTorch's composite
    LSTM holds after the forward pass, and gives every input and parameter a gradient."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _LSTM_PROBE], capture_output=True, text=True, cwd=ROOT, check=True
    )
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["one_op"] == got["composite"] and got["one_op"][1] is True
