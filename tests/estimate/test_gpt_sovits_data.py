"""GPT-SoVITS's worst case from its experiment folder (vitscfg/estimate/gpt_sovits_data.py):
the clips its loader and bucket sampler keep, their phones and SSL frames."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from vitscfg.estimate.data import data_lengths, limit_lengths

S2 = (
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "unseen_configs"
    / "RVC-Boss__GPT-SoVITS__GPT_SoVITS_configs_s2.json"
)
SR, HOP = 32000, 640


def _clip(folder: Path, name: str, frames: int, phones: int, ssl: bool = True) -> str:
    """One clip of ``frames`` frames (16-bit samples: the loader sizes clips by bytes)."""
    with open(folder / "5-wav32k" / name, "wb") as f:
        f.truncate(frames * HOP * 2)
    if ssl:
        (folder / "4-cnhubert" / f"{name}.pt").write_bytes(b"")
    return f"{name}\t{' '.join(['a'] * phones)}\t1\ttext"


def _experiment(tmp_path: Path) -> Path:
    for sub in ("4-cnhubert", "5-wav32k"):
        (tmp_path / sub).mkdir()
    lines = [
        _clip(tmp_path, "short.wav", 25, 400),  # 0.5 s: under the loader's 0.6 s
        _clip(tmp_path, "a.wav", 1000, 50),
        _clip(tmp_path, "b.wav", 1200, 30),
        _clip(tmp_path, "long.wav", 2000, 90),  # 40 s: kept by the loader, over 1900 frames
        _clip(tmp_path, "nossl.wav", 1500, 80, ssl=False),  # no SSL features: not loaded
        "malformed line",
    ]
    (tmp_path / "2-name2text.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    shutil.copy(S2, tmp_path / "config.json")  # where s2_train.py saves it
    return tmp_path / "config.json"


def test_the_experiment_folder_gives_the_worst_case(tmp_path: Path) -> None:
    path = _experiment(tmp_path)
    lengths = data_lengths(json.loads(path.read_text()), path, "gpt-sovits")
    assert (lengths.text_len, lengths.spec_frames, lengths.source) == (50, 1200, "data")
    assert sorted(lengths.frame_lengths) == [1000, 1200]
    # 4 loadable clips (fewer than 100) are repeated 25 times by the loader.
    assert lengths.utterances == 2 * 25


def test_data_exp_dir_is_read_too(tmp_path: Path) -> None:
    exp = tmp_path / "logs" / "voice"
    exp.mkdir(parents=True)
    _experiment(exp)
    config = json.loads(S2.read_text())
    config["data"]["exp_dir"] = "logs/voice"  # relative, as the WebUI writes it
    lengths = data_lengths(config, tmp_path / "tmp_s2.json", "gpt-sovits")
    assert lengths.spec_frames == 1200


def test_without_the_folder_the_loader_limits_apply(tmp_path: Path) -> None:
    config = json.loads(S2.read_text())
    lengths = data_lengths(config, tmp_path / "config.json", "gpt-sovits")
    assert lengths.text_len == limit_lengths(config, "gpt-sovits").text_len
    assert lengths.spec_frames == 1900 and lengths.source == "limits"
    assert "2-name2text.txt" in lengths.notes[-1]
