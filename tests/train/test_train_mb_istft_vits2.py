"""MB-iSTFT-VITS2 (FENRlR/MB-iSTFT-VITS2): its step is VITS2's step plus the sub-band STFT loss.

- The step vitscfg runs (`vitscfg.train.vits2_step.vits2_train_step` with the config's
  sub-band term) gives the fork's own losses and gradient norms for one step, on the parity
  case of tests/model/mb_istft_golden.py (goldens from scripts/fixtures_mb_istft.py @ b1a49d9).
- `vitscfg estimate` traces that step (a fork_steps entry; the model is "exact").
- `vitscfg train` runs examples/tiny_mb_istft_vits2 through the VITS2 trainer: G, D and the
  duration discriminator are saved (loadable with weights_only=True), TensorBoard gets the
  sub-band loss, and `vitscfg synth` speaks with the trained G.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytestmark = pytest.mark.torch

import torch  # noqa: E402
from _trainkit import recording_console  # noqa: E402
from _vits2kit import seeded_one_batch  # noqa: E402

from vitscfg.model.support import model_support  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "tiny_mb_istft_vits2" / "config.json"
VENDORED = ROOT / "tests" / "model" / "fixtures" / "mb_istft_vits2"


@pytest.mark.parametrize("name", sorted(p.name for p in VENDORED.glob("*.json")))
def test_the_forks_configs_are_exact_and_have_their_step(name: str) -> None:
    from vitscfg.train.fork_steps import fork_step
    from vitscfg.train.subband import subband_loss_for

    config = json.loads((VENDORED / name).read_text())
    assert model_support(config, "mb-istft-vits2").level == "exact"
    assert fork_step("mb-istft-vits2") is not None
    # The sub-band term exists exactly where the fork's train.py adds it.
    term = subband_loss_for(config, torch.device("cpu"))
    assert (term is not None) == (config["model"]["mb_istft_vits"] is True)


def test_a_decoder_that_misses_the_hop_is_refused() -> None:
    config = json.loads((VENDORED / "mb_istft_vits2_base.json").read_text())
    config["model"]["upsample_rates"] = [4, 2]  # 4*2 x iSTFT hop 4 x 4 bands = 128 != 256
    support = model_support(config, "mb-istft-vits2")
    assert support.level == "none" and "128" in support.reason and "256" in support.reason


@pytest.mark.slow  # the fork's full-size discriminator (47 M parameters) runs twice
@pytest.mark.parametrize("case", ["v2_mb_pre_conv2_dd2_mel_noise", "v1_mb_sdp"])
def test_one_step_gives_the_forks_losses(case: str) -> None:
    """MB-iSTFT-VITS2's step, and MB-iSTFT-VITS's (the same order without the VITS2 parts:
    golden from the other fork, df2f8d3)."""
    from tests.model.mb_istft_golden import (
        SEED,
        case_config,
        decoder_seeded_state,
        make_batch,
    )
    from vitscfg.model import build_nets
    from vitscfg.train.step import Batch
    from vitscfg.train.subband import subband_loss_for
    from vitscfg.train.vits2_step import vits2_train_step

    fixture = ROOT / "tests" / "model" / "fixtures" / "mb_istft_parity.json.gz"
    golden = json.loads(gzip.decompress(fixture.read_bytes()))["cases"][case]["step"]
    config = case_config(case)
    train, hop = config["train"], config["data"]["hop_length"]
    nets = build_nets(
        config, dialect="mb-istft-vits2" if case.startswith("v2") else "mb-istft-vits"
    )
    for net in nets.values():
        net.load_state_dict(decoder_seeded_state(net), strict=True)
        net.eval()  # as the fixture: no dropout on either side
    betas = (float(train["betas"][0]), float(train["betas"][1]))
    optimizers = {
        name: torch.optim.AdamW(
            net.parameters(), train["learning_rate"], betas=betas, eps=train["eps"]
        )
        for name, net in nets.items()
    }
    b = make_batch(config)
    batch = Batch(
        b.text, b.text_lengths, b.spec, b.spec_lengths, b.wave, b.spec_lengths * hop, None
    )
    torch.manual_seed(SEED)  # the fixture's draws (posterior sample, MAS noise, window)
    out = vits2_train_step(
        nets,
        optimizers,
        batch,
        c_mel=train["c_mel"],
        c_kl=train["c_kl"],
        global_step=0,
        subband=subband_loss_for(config, torch.device("cpu")),
    )
    ours = {
        "loss_disc": out.losses["d/total"],
        "loss_gen": out.losses["g/gen"],
        "loss_fm": out.losses["g/fm"],
        "loss_mel": out.losses["g/mel"],
        "loss_dur": out.losses["g/dur"],
        "loss_kl": out.losses["g/kl"],
        "loss_subband": out.losses["g/subband"],
        "loss_gen_all": out.losses["g/total"],
        "grad_norm_d": out.grad_norms["D"],
        "grad_norm_g": out.grad_norms["G"],
    }
    if "DurDisc" in nets:
        ours["loss_dur_disc"] = out.losses["dur_disc/total"]
        ours["loss_dur_gen"] = out.losses["g/dur_gen"]
        ours["grad_norm_dur_disc"] = out.grad_norms["DurDisc"]
    assert sorted(ours) == sorted(golden)
    for name, value in golden.items():
        # As tests/model/test_mb_istft_parity.py: float32 through ~30 layers and an iSTFT.
        assert float(ours[name]) == pytest.approx(value, rel=1e-4, abs=1e-5), name


@pytest.mark.slow
def test_train_mb_istft_vits2_example_saves_and_speaks(tmp_path: Path) -> None:
    from vitscfg.train.run import run_train
    from vitscfg.train.synth import run_synth

    run = tmp_path / "run"
    console, buffer = recording_console()
    code = run_train(EXAMPLE, run_dir=run, max_steps=1, cpu=True, console=console)
    assert code == 0, buffer.getvalue()
    for name in ("G_1.pth", "D_1.pth", "DUR_1.pth"):
        saved = torch.load(run / name, map_location="cpu", weights_only=True)
        assert {"model", "optimizer", "learning_rate", "iteration"} <= saved.keys(), name
    g = torch.load(run / "G_1.pth", map_location="cpu", weights_only=True)["model"]
    assert "dec.subband_conv_post.weight_v" in g  # the multi-band iSTFT decoder

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"loss/g/subband", "loss/dur_disc/total", "loss/g/dur_gen"} <= tags, tags

    console, buffer = recording_console()
    wav = tmp_path / "demo.wav"
    code = run_synth(
        "The cat sat.", checkpoint=run / "G_1.pth", config=EXAMPLE, output=wav, console=console
    )
    assert code == 0 and wav.stat().st_size > 1000, buffer.getvalue()


def test_a_multiband_config_without_its_loss_resolutions_is_one_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`check` lets a missing train.fft_sizes through (the schema has no default for it);
    `train` says what is missing, exit 1, no traceback (it used to end in a ValueError)."""
    from vitscfg.train.run import run_train

    config = json.loads(EXAMPLE.read_text())
    del config["train"]["fft_sizes"]
    folder = tmp_path / "cfg"
    folder.mkdir()
    (tmp_path / "tiny").symlink_to(ROOT / "examples" / "tiny")  # the filelists' ../tiny/wavs
    (folder / "filelists").symlink_to(EXAMPLE.parent / "filelists")
    (folder / "config.json").write_text(json.dumps(config))
    console, buffer = recording_console()
    code = run_train(
        folder / "config.json", run_dir=tmp_path / "run", max_steps=1, cpu=True, console=console
    )
    out = buffer.getvalue() + capsys.readouterr().err
    assert code == 1, out
    assert "train.fft_sizes is missing" in out and "Traceback" not in out


@pytest.mark.slow
def test_mb_istft_vits2_losses_fall_on_one_batch() -> None:
    from vitscfg.train.vits2_run import run_step

    config, train, batch, parts = seeded_one_batch(EXAMPLE, "mb-istft-vits2")
    assert batch.spec.shape[1] == config["data"]["n_mel_channels"]  # log-mel frames
    totals, kls = [], []
    for step in range(4):
        result = run_step(parts, batch, train, step, "fp32")
        totals.append(float(result.losses["g/total"]))
        kls.append(float(result.losses["g/kl"]))
        assert torch.isfinite(result.losses["g/subband"]) and result.losses["g/subband"] > 0
    print("g/total, g/kl per step", [round(x, 1) for x in totals], [round(x, 1) for x in kls])
    # Measured (seed 0): g/total 208.3 157.7 120.6 132.2 (noisy: a random decoder window each
    # step), g/kl 89.2 36.3 29.0 28.6.
    assert sum(totals[-3:]) / 3 < 0.85 * totals[0], totals
    assert kls[-1] < 0.5 * kls[0], kls
