"""`vitscfg init` on generated datasets in each layout: exit 0, a project `check` passes,
the dataset byte-for-byte unchanged, a second run converts nothing, every sample rate's
template checked, and one tiny training run on an imported multi-speaker project."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("soundfile")
pytest.importorskip("soxr")

from tests.conftest import REPO  # noqa: E402
from tests.init import datasets  # noqa: E402
from vitscfg.init.run import InitOptions, run_init  # noqa: E402
from vitscfg.init.template import RATES  # noqa: E402
from vitscfg.lint.run import CheckOptions, check_paths  # noqa: E402


def init(dataset: Path, out: Path, **kwargs: object) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    options = {"batch_size": 2, "progress": False, "sample_rate": 22050, **kwargs}
    code = run_init(InitOptions(dataset, out, **options), stdout, stderr)  # type: ignore[arg-type]
    return code, stdout.getvalue(), stderr.getvalue()


@pytest.mark.parametrize("layout", sorted(datasets.LAYOUTS))
def test_layout_imports_checks_and_reruns_idempotently(tmp_path: Path, layout: str) -> None:
    dataset = datasets.LAYOUTS[layout](tmp_path / "data")
    before = datasets.snapshot(dataset)
    out = tmp_path / "project"
    code, stdout, stderr = init(dataset, out)
    assert code == 0, stdout + stderr
    assert f"layout {layout}:" in stdout
    result = check_paths([str(out / "config.json")], CheckOptions())
    assert result.errors == 0
    config = json.loads((out / "config.json").read_text())
    assert config["$schema"] == "vitscfg.schema.json" and (out / "vitscfg.schema.json").is_file()
    train = (out / "filelists" / "train.txt").read_text().splitlines()
    val = (out / "filelists" / "val.txt").read_text().splitlines()
    assert train and val and not set(train) & set(val)
    multi = layout != "ljspeech"
    assert (config["data"]["n_speakers"] > 1) == multi
    assert all(len(line.split("|")) == (3 if multi else 2) for line in train + val)
    # Everything was 44.1 kHz stereo (some float, some FLAC): all converted.
    wavs = sorted((out / "wavs").iterdir())
    assert len(wavs) == len(train) + len(val)
    stamps = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in wavs}
    assert datasets.snapshot(dataset) == before

    code, stdout, stderr = init(dataset, out)
    assert code == 0, stdout + stderr
    assert "0 processed now" in stdout
    again = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (out / "wavs").iterdir()}
    assert again == stamps  # the same files (hard-linked across), not rewritten
    assert (out / "filelists" / "train.txt").read_text().splitlines() == train
    assert datasets.snapshot(dataset) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_converted_audio_is_mono_pcm16_at_the_target_rate(tmp_path: Path) -> None:
    import soundfile as sf

    dataset = datasets.ljspeech(tmp_path / "data", clips=3)
    code, stdout, stderr = init(dataset, tmp_path / "p", sample_rate=24000)
    assert code == 0, stdout + stderr
    for wav in (tmp_path / "p" / "wavs").iterdir():
        info = sf.info(str(wav))
        assert (info.samplerate, info.channels, info.subtype, info.format) == (
            24000,
            1,
            "PCM_16",
            "WAV",
        )
        assert abs(info.frames - int(1.2 * 24000)) <= 2


def test_clips_already_right_are_used_in_place(tmp_path: Path) -> None:
    import numpy as np
    import soundfile as sf

    dataset = datasets.ljspeech(tmp_path / "data", clips=3)
    right = dataset / "wavs" / "LJ001-0001.wav"
    data, _ = sf.read(str(right), dtype="float32")
    import soxr

    sf.write(right, soxr.resample(data.mean(axis=1), 44100, 22050), 22050, subtype="PCM_16")
    code, stdout, stderr = init(dataset, tmp_path / "p")
    assert code == 0, stdout + stderr
    assert "1 used in place, 2 converted" in stdout
    lines = (tmp_path / "p" / "filelists" / "train.txt").read_text()
    lines += (tmp_path / "p" / "filelists" / "val.txt").read_text()
    assert str(right.resolve()) in lines
    assert np.isfinite(data).all()


@pytest.mark.parametrize("rate", RATES)
def test_every_sample_rate_gives_a_checked_project(tmp_path: Path, rate: int) -> None:
    dataset = datasets.ljspeech(tmp_path / "data", clips=3)
    code, stdout, stderr = init(dataset, tmp_path / "p", sample_rate=rate, template="base")
    assert code == 0, stdout + stderr
    config = json.loads((tmp_path / "p" / "config.json").read_text())
    data, model = config["data"], config["model"]
    hop = data["hop_length"]
    product = 1
    for factor in model["upsample_rates"]:
        product *= factor
    assert product == hop and config["train"]["segment_size"] % hop == 0
    assert data["sampling_rate"] == rate
    assert check_paths([str(tmp_path / "p" / "config.json")], CheckOptions()).errors == 0


@pytest.mark.slow
@pytest.mark.torch
def test_batch_size_comes_from_the_estimator(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    dataset = datasets.speaker_folders(tmp_path / "data", speakers=1, clips=4)
    code, stdout, stderr = init(dataset, tmp_path / "p", batch_size=None, vram="8GiB")
    assert code == 0, stdout + stderr
    assert "from vitscfg estimate for assumed 8GiB" in stdout, stdout
    config = json.loads((tmp_path / "p" / "config.json").read_text())
    assert 1 <= config["train"]["batch_size"] <= 3  # capped at the 3 training clips


@pytest.mark.slow
@pytest.mark.torch
def test_imported_project_trains_two_steps(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    dataset = datasets.vctk(tmp_path / "data", speakers=2, clips=3)
    out = tmp_path / "project"
    run = subprocess.run(
        [sys.executable, "-m", "vitscfg", "init", str(dataset), "--out", str(out),
         "--sample-rate", "22050", "--batch-size", "2", "--val", "1", "--cpu"],
        capture_output=True, text=True, cwd=REPO, timeout=300,
        env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"vitscfg train {out / 'config.json'}" in run.stdout
    check = subprocess.run(
        [sys.executable, "-m", "vitscfg", "check", str(out / "config.json")],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    train = subprocess.run(
        [sys.executable, "-m", "vitscfg", "train", str(out / "config.json"),
         "--run-dir", str(tmp_path / "run"), "--max-steps", "2"],
        capture_output=True, text=True, cwd=REPO, timeout=900,
        env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    assert train.returncode == 0, train.stdout[-3000:] + train.stderr[-3000:]
    assert (tmp_path / "run" / "G_2.pth").is_file()
