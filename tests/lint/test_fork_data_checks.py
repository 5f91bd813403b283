"""The data checks on the filelist layouts of three more forks (issue 15): daniilrobnikov's
VITS2 (vits's layouts, renamed keys: `sample_rate`, `n_fft`, `n_mels`, `f_min`, `f_max`),
PlayVoice's vits_chinese (`wav|spec.pt|bert.npy|phones`), and RVC / Applio, whose config
names no list: their trainers write `filelist.txt` into the experiment folder, beside
the config.json they copy there. Small datasets in tmp_path, the real configs of
tests/fixtures/unseen_configs as the base."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.lint.test_data_rules import write_wav
from vitscfg.config.load import load, load_bytes
from vitscfg.diagnostic import Diagnostic, Severity
from vitscfg.lint.run import CheckOptions, check_document

UNSEEN = Path(__file__).resolve().parents[1] / "fixtures" / "unseen_configs"
DANIIL = UNSEEN / "daniilrobnikov__vits2__datasets_ljs_base_config.yaml"
DANIIL_MS = UNSEEN / "daniilrobnikov__vits2__datasets_vctk_base_config.yaml"
CHINESE = UNSEEN / "PlayVoice__vits_chinese__configs_bert_vits.json"
APPLIO = UNSEEN / "IAHispano__Applio__rvc_configs_40000.json"


def _check(tmp_path: Path, base: Path, dialect: str, **data: Any) -> list[Diagnostic]:
    config = load(base).data
    config["data"].update(data)
    doc = load_bytes(json.dumps(config, indent=2).encode(), str(tmp_path / "config.json"))
    result = check_document(doc, CheckOptions(check_data=True, search_dirs=[tmp_path]))
    assert result.dialect == dialect
    return result.diagnostics


def _codes(found: list[Diagnostic]) -> dict[str, list[Diagnostic]]:
    out: dict[str, list[Diagnostic]] = {}
    for d in found:
        out.setdefault(d.code, []).append(d)
    return out


def _lists(tmp_path: Path, train: list[str], val: list[str]) -> dict[str, str]:
    (tmp_path / "train.txt").write_text("".join(f"{x}\n" for x in train), encoding="utf-8")
    (tmp_path / "val.txt").write_text("".join(f"{x}\n" for x in val), encoding="utf-8")
    return {"training_files": "train.txt", "validation_files": "val.txt"}


# -- daniilrobnikov/vits2 -------------------------------------------------------------


def test_daniil_clean_dataset_has_no_data_findings(tmp_path: Path) -> None:
    for name in ("a", "b", "v"):
        write_wav(tmp_path / f"wavs/{name}.wav", seconds=2.0, rate=22050)
    keys = _lists(tmp_path, ["wavs/a.wav|2\t20\t67", "wavs/b.wav|9\t41"], ["wavs/v.wav|3\t8"])
    found = _codes(_check(tmp_path, DANIIL, "vits2-daniilrobnikov", **keys))
    assert not [c for c in found if c.startswith("VC3")], found


def test_daniil_sample_rate_is_read_under_its_own_name(tmp_path: Path) -> None:
    for name in ("a", "v"):
        write_wav(tmp_path / f"wavs/{name}.wav", seconds=2.0, rate=16000)
    keys = _lists(tmp_path, ["wavs/a.wav|2\t20"], ["wavs/v.wav|3"])
    (f, *_) = _codes(_check(tmp_path, DANIIL, "vits2-daniilrobnikov", **keys))["VC306"]
    assert f.severity is Severity.ERROR and "data.sample_rate is 22050" in f.message
    assert "set data.sample_rate to 16000" in (f.hint or "")


def test_daniil_multi_speaker_reads_the_sid_layout(tmp_path: Path) -> None:
    """vctk_base (n_speakers 109) trains with train_ms.py: path|sid|text."""
    for name in ("a", "v"):
        write_wav(tmp_path / f"wavs/{name}.wav", seconds=2.0, rate=22050)
    keys = _lists(tmp_path, ["wavs/a.wav|2\t20", "wavs/a.wav|200|2\t20"], ["wavs/v.wav|0|3"])
    found = _codes(_check(tmp_path, DANIIL_MS, "vits2-daniilrobnikov", **keys))
    (malformed,) = found["VC302"]
    assert "path|sid|text" in malformed.message and "line 1" in malformed.message
    (speaker,) = found["VC310"]
    assert "id 200" in speaker.message and "n_speakers is 109" in speaker.message


@pytest.mark.parametrize(
    ("data", "code", "pointer", "words"),
    [
        ({"n_fft": 512, "win_length": 1024}, "VC204", "/data/win_length", "n_fft 512"),
        ({"n_fft": 1024, "hop_length": 255}, "VC205", "/data/hop_length", "n_fft - hop_length"),
        ({"f_max": 16000.0}, "VC208", "/data/f_max", "f_max 16000"),
        ({"f_min": 9000.0, "f_max": 8000.0}, "VC208", "/data/f_min", "f_min 9000"),
    ],
)
def test_daniil_stft_rules_read_n_fft_and_its_mel_keys(
    tmp_path: Path, data: dict[str, Any], code: str, pointer: str, words: str
) -> None:
    config = load(DANIIL).data
    config["data"].update(data)
    doc = load_bytes(json.dumps(config).encode(), str(tmp_path / "config.json"))
    found = [
        d for d in check_document(doc, CheckOptions(check_data=False)).diagnostics if d.code == code
    ]
    assert [d.pointer for d in found] == [pointer] and words in found[0].message


def test_daniil_mel_cache_is_judged_by_n_mels(tmp_path: Path) -> None:
    """use_mel: true caches n_mels bins, not n_fft // 2 + 1 channels."""
    torch = pytest.importorskip("torch")
    for name in ("a", "v"):
        write_wav(tmp_path / f"wavs/{name}.wav", seconds=1.0, rate=22050)
    keys = _lists(tmp_path, ["wavs/a.wav|2\t20"], ["wavs/v.wav|3"])
    torch.save(torch.zeros(80, 86), tmp_path / "wavs/a.spec.pt")
    quiet = _check(tmp_path, DANIIL, "vits2-daniilrobnikov", use_mel=True, n_mels=80, **keys)
    assert not [d for d in quiet if d.code == "VC315"]
    stale = _check(tmp_path, DANIIL, "vits2-daniilrobnikov", use_mel=False, **keys)
    (f,) = [d for d in stale if d.code == "VC315"]
    assert "n_fft 2048 gives 1025" in f.message


# -- PlayVoice/vits_chinese ---------------------------------------------------------------


def _chinese_item(tmp_path: Path, name: str, features: bool = True, rate: int = 16000) -> str:
    write_wav(tmp_path / f"waves/{name}.wav", seconds=2.0, rate=rate)
    if features:
        (tmp_path / "temps").mkdir(exist_ok=True)
        (tmp_path / "berts").mkdir(exist_ok=True)
        (tmp_path / f"temps/{name}.spec.pt").write_bytes(b"")
        (tmp_path / f"berts/{name}.npy").write_bytes(b"")
    return f"waves/{name}.wav|temps/{name}.spec.pt|berts/{name}.npy|sil n i3 h ao3 sil"


def test_vits_chinese_clean_dataset_has_no_data_findings(tmp_path: Path) -> None:
    keys = _lists(tmp_path, [_chinese_item(tmp_path, "1")], [_chinese_item(tmp_path, "2")])
    found = _codes(_check(tmp_path, CHINESE, "vits-chinese", **keys))
    assert not [c for c in found if c.startswith("VC3")], found


def test_vits_chinese_missing_features_and_old_layout(tmp_path: Path) -> None:
    train = [
        _chinese_item(tmp_path, "1"),
        _chinese_item(tmp_path, "2", features=False),
        "waves/1.wav|berts/1.npy|sil a1 sil",  # the layout before the spec column
    ]
    keys = _lists(tmp_path, train, [_chinese_item(tmp_path, "3")])
    found = _codes(_check(tmp_path, CHINESE, "vits-chinese", **keys))
    (malformed,) = found["VC302"]
    assert "path|spec|bert|text" in malformed.message and "vits_prepare.py" in (
        malformed.hint or ""
    )
    (missing,) = found["VC305"]
    assert "temps/2.spec.pt, berts/2.npy" in missing.message and "line 2" in missing.message


def test_vits_chinese_sample_rate_crash_is_named(tmp_path: Path) -> None:
    keys = _lists(
        tmp_path, [_chinese_item(tmp_path, "1", rate=22050)], [_chinese_item(tmp_path, "2")]
    )
    (f,) = _codes(_check(tmp_path, CHINESE, "vits-chinese", **keys))["VC306"]
    assert "data.sampling_rate is 16000" in f.message and "IndexError" in f.message


# -- RVC and Applio: the filelist.txt their trainers write beside the config ----------

RVC_V1 = (
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "shared_configs"
    / "RVC-Project__Retrieval-based-Voice-Conversion-WebUI__configs_v1_40k.json"
)


def _rvc_item(tmp_path: Path, name: str, sid: int = 0, f0: bool = True, rate: int = 40000) -> str:
    # 2 s at 40 kHz, hop 400: 200 frames, in the first bucket of RVC's sampler (101-200).
    write_wav(tmp_path / f"0_gt_wavs/{name}.wav", seconds=2.0, rate=rate)
    files = [f"3_feature256/{name}.npy"]
    if f0:
        files += [f"2a_f0/{name}.wav.npy", f"2b-f0nsf/{name}.wav.npy"]
    for f in files:
        (tmp_path / f).parent.mkdir(exist_ok=True)
        (tmp_path / f).write_bytes(b"")
    return "|".join([f"0_gt_wavs/{name}.wav", *files, str(sid)])


def _beside(tmp_path: Path, lines: list[str]) -> None:
    (tmp_path / "filelist.txt").write_text("\n".join(lines), encoding="utf-8")


def test_applio_list_beside_the_config_is_checked(tmp_path: Path) -> None:
    good = _rvc_item(tmp_path, "0_1")
    _beside(tmp_path, [good])
    assert not [d for d in _check(tmp_path, APPLIO, "applio") if d.code.startswith("VC3")]
    no_f0 = _rvc_item(tmp_path, "0_2", f0=False)
    lacking = _rvc_item(tmp_path, "0_3")
    (tmp_path / "2a_f0/0_3.wav.npy").unlink()
    _beside(tmp_path, [good, no_f0, lacking, _rvc_item(tmp_path, "0_4", sid=109, rate=48000)])
    found = _codes(_check(tmp_path, APPLIO, "applio"))
    (malformed,) = found["VC302"]
    assert "path|feature|f0|f0nsf|sid" in malformed.message and "line 2" in malformed.message
    assert "the trainer's filelist.txt beside the config" in malformed.message
    assert malformed.pointer == "/data" and '"if_f0": 0' in (malformed.hint or "")
    (missing,) = found["VC305"]
    assert "line 3: 2a_f0/0_3.wav.npy" in missing.message
    (rate,) = found["VC306"]
    assert "data.sample_rate is 40000" in rate.message
    (speaker,) = found["VC310"]
    assert "id 109" in speaker.message and "model.spk_embed_dim is 109" in speaker.message


def test_rvc_without_pitch_reads_three_columns(tmp_path: Path) -> None:
    _beside(tmp_path, [_rvc_item(tmp_path, "0_1", f0=False)])
    quiet = _check(tmp_path, RVC_V1, "rvc")
    assert [d.code for d in quiet if d.code == "VC302"] == ["VC302"]  # the default: f0
    config = {**load(RVC_V1).data, "if_f0": 0}
    doc = load_bytes(json.dumps(config).encode(), str(tmp_path / "config.json"))
    found = check_document(doc, CheckOptions(check_data=True, search_dirs=[tmp_path]))
    assert not [d for d in found.diagnostics if d.code.startswith("VC3")]


def test_an_rvc_template_without_its_list_is_not_judged(tmp_path: Path) -> None:
    """The shipped template (no experiment folder around it): nothing to check, no
    'filelist not found' about a list the config never names."""
    assert not [d for d in _check(tmp_path, RVC_V1, "rvc") if d.code.startswith("VC3")]
    found = _check(tmp_path, APPLIO, "applio", training_files="nowhere/filelist.txt")
    assert not [d for d in found if d.code.startswith("VC3")]


def test_rvc_estimate_reads_the_list_beside_the_config(tmp_path: Path) -> None:
    from vitscfg.estimate.data import data_lengths

    config = load(RVC_V1).data
    assert "limits" in data_lengths(config, tmp_path / "config.json", "rvc").source
    lines = [_rvc_item(tmp_path, "0_1")]
    write_wav(tmp_path / "0_gt_wavs/0_2.wav", seconds=5.0, rate=40000)
    lines.append(lines[0].replace("0_1.wav|", "0_2.wav|"))
    _beside(tmp_path, lines)
    lengths = data_lengths(config, tmp_path / "config.json", "rvc")
    # 40 kHz, hop 400: 2 s = 200 frames, 5 s = 500 frames (inside RVC's buckets)
    assert (lengths.source, lengths.utterances, lengths.spec_frames) == ("data", 2, 500)
