"""preprocess / run_preprocess on a temporary copy of the tiny corpus."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("soundfile")

import soundfile  # noqa: E402
import torch  # noqa: E402

from vitscfg.data.clips import DataError  # noqa: E402
from vitscfg.data.preprocess import preprocess, run_preprocess  # noqa: E402

pytestmark = pytest.mark.torch

TINY = Path(__file__).resolve().parents[2] / "examples" / "tiny"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    dst = tmp_path / "tiny"
    shutil.copytree(TINY, dst, ignore=shutil.ignore_patterns("*.spec.pt", "*.cleaned"))
    return dst


def _config(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text())


def _write(folder: Path, cfg: dict) -> str:
    path = folder / "config.json"
    path.write_text(json.dumps(cfg))
    return str(path)


def test_preprocess_cleans_text_and_caches_spectrograms(corpus: Path, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # paths resolve from the config's folder
    cfg = _config(corpus)
    summary = preprocess(cfg, config_path=corpus / "config.json", progress=False)
    assert summary.utterances == 32 and not summary.skipped
    assert 40 < summary.seconds < 60
    train, val = summary.splits
    assert (train.utterances, val.utterances) == (28, 4)
    assert train.specs_computed == 28 and train.specs_reused == 0 and not train.cache_write_failures
    assert len(list((corpus / "wavs").glob("*.spec.pt"))) == 32

    cleaned = (corpus / "filelists" / "train.txt.cleaned").read_text().splitlines()
    assert cleaned[0] == "wavs/tiny_000.wav|the cat sat on the warm mat."
    assert "i have three red apples." in cleaned[9] and "doctor brown" in cleaned[11]
    assert train.cleaned_filelist == corpus / "filelists" / "train.txt.cleaned"

    again = preprocess(cfg, config_path=corpus / "config.json", progress=False)
    assert again.splits[0].specs_reused == 28 and again.splits[0].specs_computed == 0
    assert any("cleaned text written" in line for line in again.lines())

    # The cached tensors are what the trainer's spectrogram gives.
    from vitscfg.model.mel import spectrogram

    spec = torch.load(next((corpus / "wavs").glob("tiny_000.*.spec.pt")), weights_only=True)
    data, _ = soundfile.read(corpus / "wavs" / "tiny_000.wav", dtype="float32")
    assert torch.allclose(spec, spectrogram(torch.from_numpy(data)[None], 512, 128, 512)[0])


def test_bucket_skips_are_reported(corpus: Path):
    cfg = _config(corpus)
    cfg["data"]["hop_length"] = 1024  # every clip is now <= 32 frames
    cfg["data"]["win_length"] = cfg["data"]["filter_length"] = 2048
    cheap = lambda w: torch.zeros(1, w.shape[1] // 1024)  # noqa: E731 (the STFT is not tested here)
    summary = preprocess(cfg, config_path=corpus / "config.json", progress=False, spec_fn=cheap)
    skipped = summary.splits[0].skipped
    assert skipped.count == 28 and "first bucket" in skipped.lines()[0]


def test_cleaned_text_lists_are_not_rewritten(corpus: Path):
    cfg = _config(corpus)
    cfg["data"]["text_cleaners"] = []
    for name in ("train.txt", "val.txt"):
        p = corpus / "filelists" / name
        rows = [line.split("|") for line in p.read_text().splitlines()]
        text = [t.lower().replace("3", "three").replace("12", "twelve") for _, t in rows]
        p.write_text("".join(f"{a}|{t}\n" for (a, _), t in zip(rows, text, strict=True)))
    summary = preprocess(cfg, config_path=corpus / "config.json", progress=False)
    assert summary.utterances == 32 and summary.splits[0].cleaned_filelist is None
    assert not list((corpus / "filelists").glob("*.cleaned"))


def test_run_preprocess_ok(corpus: Path, capsys):
    assert run_preprocess(str(corpus / "config.json"), False) == 0
    out = capsys.readouterr().out
    assert "28 utterances" in out and "done: 32 utterances" in out and ".cleaned" in out


def test_run_preprocess_missing_filelist(corpus: Path, capsys):
    cfg = _config(corpus)
    cfg["data"]["validation_files"] = "filelists/missing.txt"
    assert run_preprocess(_write(corpus, cfg), False) == 1
    err = capsys.readouterr().err
    assert "data.validation_files: filelist filelists/missing.txt not found" in err
    assert "Traceback" not in err


def test_run_preprocess_wrong_rate_then_resample(corpus: Path, capsys):
    wav = corpus / "wavs" / "tiny_030.wav"
    data, rate = soundfile.read(wav, dtype="int16")
    soundfile.write(wav, data[::2].copy(), rate // 2, "PCM_16")
    assert run_preprocess(str(corpus / "config.json"), False) == 1
    err = capsys.readouterr().err
    assert "8000 Hz" in err and "--resample" in err and "Traceback" not in err
    assert run_preprocess(str(corpus / "config.json"), True) == 0


def test_run_preprocess_without_phonemizer(corpus: Path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "phonemizer", None)
    cfg = _config(corpus)
    cfg["data"]["text_cleaners"] = ["english_cleaners2"]
    assert run_preprocess(_write(corpus, cfg), False) == 1
    err = capsys.readouterr().err
    assert "pip install phonemizer" in err and "Traceback" not in err


def test_run_preprocess_bad_config(tmp_path: Path, capsys):
    assert run_preprocess(str(tmp_path / "nope.json"), False) == 2
    bad = tmp_path / "bad.json"
    bad.write_text('{"data": ')
    assert run_preprocess(str(bad), False) == 2
    (tmp_path / "nodata.json").write_text('{"train": {}}')
    assert run_preprocess(str(tmp_path / "nodata.json"), False) == 1
    (tmp_path / "partial.json").write_text('{"data": {"training_files": "x"}}')
    assert run_preprocess(str(tmp_path / "partial.json"), False) == 1
    err = capsys.readouterr().err
    assert "no such file" in err and "no `data` section" in err and "missing or invalid key" in err
    assert "Traceback" not in err


def test_preprocess_raises_values_not_tracebacks(corpus: Path):
    cfg = _config(corpus)
    cfg["data"]["training_files"] = 3
    with pytest.raises(DataError, match="not a filelist path"):
        preprocess(cfg, config_path=corpus / "config.json", progress=False)


@pytest.mark.skipif(
    shutil.which("espeak-ng") is None or shutil.which("sox") is None,
    reason="espeak-ng and sox are needed to regenerate the tiny corpus",
)
def test_tiny_corpus_script_is_deterministic(tmp_path: Path):
    import subprocess

    script = TINY.parents[1] / "scripts" / "make_tiny_corpus.py"
    outputs = []
    for run in ("a", "b"):
        out = tmp_path / run
        done = subprocess.run(
            [sys.executable, str(script), "--out", str(out)], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
        outputs.append({p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()})
    assert outputs[0] == outputs[1]
    assert len([p for p in outputs[0] if p.suffix == ".wav"]) == 32
    assert sum(len(b) for b in outputs[0].values()) < 2_500_000
