"""parse_filelist: exact column counts per dialect, 1-based lines, problems as
values; read_filelist: missing/undecodable files."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vitscfg.data.filelist import (
    FilelistEntry,
    FilelistError,
    FilelistFormat,
    ParsedFilelist,
    format_for,
    parse_filelist,
    read_filelist,
)


@pytest.mark.parametrize(
    ("dialect", "n_speakers", "fmt"),
    [
        ("vits", 0, FilelistFormat.PATH_TEXT),
        ("vits", 109, FilelistFormat.PATH_SID_TEXT),
        ("vitscfg", None, FilelistFormat.PATH_TEXT),
        ("vits2", 4, FilelistFormat.PATH_SID_TEXT),
        ("mb-istft-vits", 0, FilelistFormat.PATH_TEXT),
        ("bert-vits2", 850, FilelistFormat.BERT_VITS2),
        ("melotts", 1, FilelistFormat.BERT_VITS2),
        ("so-vits-svc", 200, FilelistFormat.PATH),
        ("vits2-daniilrobnikov", 0, FilelistFormat.PATH_TEXT),  # its train.py
        ("vits2-daniilrobnikov", 109, FilelistFormat.PATH_SID_TEXT),  # its train_ms.py
        ("vits-chinese", 0, FilelistFormat.PATH_SPEC_BERT_TEXT),
        ("vits-chinese", 4, FilelistFormat.PATH_SPEC_BERT_TEXT),  # one loader only
        ("rvc", 109, FilelistFormat.RVC_F0),  # the list its trainer writes (f0 default)
        ("applio", 0, FilelistFormat.RVC_F0),
        ("gpt-sovits", 0, None),
        ("piper-voice", 0, None),
    ],
)
def test_format_for(dialect: str, n_speakers: int | None, fmt: FilelistFormat | None) -> None:
    assert format_for(dialect, n_speakers) is fmt


def test_rvc_lists_with_and_without_pitch() -> None:
    assert format_for("rvc", None, f0=False) is FilelistFormat.RVC
    assert format_for("applio", None, f0=False) is FilelistFormat.RVC_F0  # always pitch
    text = "/e/0_gt_wavs/0_1.wav|/e/3_feature768/0_1.npy|/e/2a_f0/0_1.wav.npy|/e/2b/0_1.wav.npy|3\n"
    (entry,) = parse_filelist(text, FilelistFormat.RVC_F0).entries
    assert entry.sid == 3 and len(entry.features) == 3 and entry.text is None
    bad = parse_filelist("a.wav|a.npy|x\n", FilelistFormat.RVC)
    assert "not an integer" in bad.problems[0].message


def test_path_text() -> None:
    parsed = parse_filelist("a.wav|Hello.\r\nb.wav|World\n", FilelistFormat.PATH_TEXT)
    assert parsed.entries == [
        FilelistEntry(1, "a.wav", "Hello."),
        FilelistEntry(2, "b.wav", "World"),
    ]
    assert parsed.problems == []


def test_sid_and_problems() -> None:
    text = "a.wav|3|hi\nb.wav|x|hi\n\nc.wav|hi\n|1|t\nd.wav|1|a|b"
    parsed = parse_filelist(text, FilelistFormat.PATH_SID_TEXT)
    assert parsed.entries == [FilelistEntry(1, "a.wav", "hi", sid=3)]
    assert [(p.line, p.columns) for p in parsed.problems] == [
        (2, 3),
        (3, 0),
        (4, 2),
        (5, 3),
        (6, 4),
    ]
    assert "not an integer" in parsed.problems[0].message
    assert parsed.problems[2].message == "2 columns, expected 3 (path|sid|text)"


def test_bert_vits2() -> None:
    parsed = parse_filelist("w/a.wav|amy|EN|hi|_ h i _|0 1 1 0|1 2 1\n", FilelistFormat.BERT_VITS2)
    (e,) = parsed.entries
    assert (e.speaker, e.language, e.text) == ("amy", "EN", "hi")
    assert e.phones == ("_", "h", "i", "_") and e.tones == ("0", "1", "1", "0")
    assert e.word2ph == ("1", "2", "1")


def test_vits_chinese_names_its_feature_files() -> None:
    text = "w/1.wav|t/1.spec.pt|b/1.npy|sil n i3 h ao3 sil\nw/2.wav|b/2.npy|sil a1 sil\n"
    parsed = parse_filelist(text, FilelistFormat.PATH_SPEC_BERT_TEXT)
    (entry,) = parsed.entries
    assert entry.path == "w/1.wav" and entry.text == "sil n i3 h ao3 sil"
    assert entry.features == ("t/1.spec.pt", "b/1.npy")
    (problem,) = parsed.problems
    assert (problem.line, problem.columns) == (2, 3)  # the layout before the spec column


def test_path_only_and_empty() -> None:
    assert parse_filelist("", FilelistFormat.PATH).entries == []
    parsed = parse_filelist("spk/a.wav\nspk/b.wav|x\n", FilelistFormat.PATH)
    assert [e.path for e in parsed.entries] == ["spk/a.wav"] and parsed.problems[0].line == 2


def test_read_filelist(tmp_path: Path) -> None:
    assert read_filelist(tmp_path / "nope", FilelistFormat.PATH) == FilelistError("no such file")
    assert isinstance(read_filelist(tmp_path, FilelistFormat.PATH), FilelistError)
    p = tmp_path / "l.txt"
    p.write_bytes(b"a.wav|\xff\n")
    got = read_filelist(p, FilelistFormat.PATH_TEXT)
    assert isinstance(got, FilelistError) and "UTF-8" in got.message
    p.write_text("a.wav|é\n", encoding="utf-8")
    got = read_filelist(p, FilelistFormat.PATH_TEXT)
    assert isinstance(got, ParsedFilelist) and got.entries[0].text == "é"


@given(st.text(), st.sampled_from(list(FilelistFormat)))
def test_never_raises(text: str, fmt: FilelistFormat) -> None:
    parsed = parse_filelist(text, fmt)
    lines = {e.line for e in parsed.entries} | {p.line for p in parsed.problems}
    assert len(lines) == len(parsed.entries) + len(parsed.problems)
