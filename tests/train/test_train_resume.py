"""Exact resume, SIGTERM, TensorBoard audio, synth and hyper-parameter changes, on one
set of short runs (each trainer run costs seconds on 2 cores, so they are shared).

Runs (micro model, 6 utterances, batch 2 -> 3 steps per epoch, so step 4 crosses an
epoch boundary: scheduler step and a new shuffle):
  straight: steps 0..4 in one go;
  stopped:  SIGTERM during step 2 -> finishes it, saves G_2/D_2, exit 143;
  resumed:  same command, --max-steps 4 -> must equal `straight` bit for bit.
"""

from __future__ import annotations

import io
import os
import signal
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.slow]

import torch  # noqa: E402
from _trainkit import lines, make_config  # noqa: E402
from rich.console import Console  # noqa: E402

import vitscfg.train.loop as loop  # noqa: E402
from vitscfg.train.run import run_train  # noqa: E402


def _run(config: Path, run_dir: Path, **kw: Any) -> tuple[int, str]:
    buffer = io.StringIO()
    console = Console(file=buffer, width=250, highlight=False, soft_wrap=True)
    code = run_train(config, run_dir=run_dir, console=console, **kw)
    return code, buffer.getvalue()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("resume")
    config = make_config(root / "cfg", train_lines=lines("train.txt")[:6])
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    mp = pytest.MonkeyPatch()
    try:
        results: dict[str, Any] = {"config": config, "root": root}
        results["straight"] = _run(config, root / "straight", max_steps=4)

        real = loop.train_step
        calls = {"n": 0}

        def sigterm_in_step_2(*args: Any, **kwargs: Any) -> Any:
            calls["n"] += 1
            if calls["n"] == 2:  # arrives in the middle of step 2
                os.kill(os.getpid(), signal.SIGTERM)
            return real(*args, **kwargs)

        mp.setattr(loop, "train_step", sigterm_in_step_2)
        results["stopped"] = _run(config, root / "split", max_steps=4)
        mp.undo()
        results["resumed"] = _run(config, root / "split", max_steps=4)
    finally:
        mp.undo()
        torch.use_deterministic_algorithms(before)
    return results


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["model"]  # type: ignore[no-any-return]


def test_straight_run_finishes(runs: dict[str, Any]) -> None:
    code, out = runs["straight"]
    assert code == 0, out
    assert "done: step 4" in out
    assert "eval step 0: mel_l1" in out


def test_sigterm_saves_a_pair_and_exits_143(runs: dict[str, Any]) -> None:
    code, out = runs["stopped"]
    assert code == 143, out
    assert "SIGTERM" in out and "stopped at step 2" in out
    split = runs["root"] / "split"
    assert (split / "G_2.pth").is_file() and (split / "D_2.pth").is_file()


def test_resume_is_exact(runs: dict[str, Any]) -> None:
    code, out = runs["resumed"]
    assert code == 0, out
    assert "resumed from G_2.pth" in out
    root = runs["root"]
    for tag in ("G", "D"):
        a = _weights(root / "straight" / f"{tag}_4.pth")
        b = _weights(root / "split" / f"{tag}_4.pth")
        assert a.keys() == b.keys()
        different = [k for k in a if not torch.equal(a[k], b[k])]
        assert not different, f"{tag}: {len(different)} tensors differ, e.g. {different[:3]}"
    straight = torch.load(root / "straight" / "G_4.pth", weights_only=True)["vitscfg"]
    resumed = torch.load(root / "split" / "G_4.pth", weights_only=True)["vitscfg"]
    assert straight["epoch"] == resumed["epoch"] == 2
    assert straight["sampler"] == resumed["sampler"]
    assert straight["scheduler_g"] == resumed["scheduler_g"]


def test_eval_writes_audio_to_tensorboard(runs: dict[str, Any]) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(runs["root"] / "straight" / "eval"), size_guidance={"audio": 0})
    acc.Reload()
    tags = acc.Tags()
    assert "gen/audio_0" in tags["audio"] and "gt/audio_0" in tags["audio"]
    audio = acc.Audio("gen/audio_0")[0]
    assert audio.sample_rate == 16000 and audio.length_frames > 0
    assert {"val/mel_l1", "val/kl", "val/dur"} <= set(tags["scalars"])
    train = EventAccumulator(str(runs["root"] / "straight"))
    train.Reload()
    scalars = set(train.Tags()["scalars"])
    assert {"loss/g/mel", "learning_rate", "grad_norm_g", "perf/steps_per_s"} <= scalars


def test_synth_writes_a_wav(runs: dict[str, Any], tmp_path: Path) -> None:
    import soundfile as sf

    from vitscfg.train.synth import run_synth

    run = runs["root"] / "straight"
    quiet = Console(file=io.StringIO())
    outs = []
    for name in ("a.wav", "b.wav"):
        code = run_synth(
            "The cat sat.",
            checkpoint=run / "G_4.pth",
            config=run / "config.json",
            output=tmp_path / name,
            console=quiet,
        )
        assert code == 0
        outs.append((tmp_path / name).read_bytes())
    info = sf.info(str(tmp_path / "a.wav"))
    assert info.samplerate == 16000 and info.channels == 1 and info.subtype == "PCM_16"
    assert info.frames > 0 and info.frames % 128 == 0  # whole frames of hop_length
    assert outs[0] == outs[1]  # same seed, same audio
    code = run_synth(
        "x",
        checkpoint=run / "config.json",
        config=run / "config.json",
        output=tmp_path / "c.wav",
        console=quiet,
    )
    assert code == 1 and not (tmp_path / "c.wav").exists()


def test_changed_learning_rate_is_applied_and_reported(runs: dict[str, Any]) -> None:
    import json
    import shutil

    root = runs["root"]
    run = root / "lr"
    shutil.copytree(root / "straight", run)
    config = json.loads(runs["config"].read_text())
    config["train"]["learning_rate"] = 1e-4
    changed = runs["config"].with_name("config_lr.json")
    changed.write_text(json.dumps(config))
    code, out = _run(changed, run, max_steps=5)
    assert code == 0, out
    assert "train.learning_rate 0.0002 -> 0.0001" in out
    assert "applied to both optimisers" in out
    saved = torch.load(run / "G_5.pth", weights_only=True)
    decay = config["train"]["lr_decay"]
    assert saved["optimizer"]["param_groups"][0]["lr"] == pytest.approx(1e-4 * decay)
