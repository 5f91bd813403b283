"""Bad datasets and paths: a clear report, exit 1 (data) or 2 (usage), and nothing
written: no project folder, no staging folder left beside it, the dataset unchanged."""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

pytest.importorskip("soundfile")
pytest.importorskip("soxr")

from tests.init import datasets  # noqa: E402
from vitscfg.init.run import InitOptions, run_init  # noqa: E402


def _empty(root: Path) -> None:
    root.mkdir()


def _no_transcripts(root: Path) -> None:
    datasets.write_clip(root / "a.wav", 1)
    datasets.write_clip(root / "b.wav", 2)


def _transcript_without_audio(root: Path) -> None:
    datasets.ljspeech(root, clips=3)
    with (root / "metadata.csv").open("a", encoding="utf-8") as handle:
        handle.write("LJ009-0001|Missing audio here.|Missing audio here.\n")


def _duplicate_ids(root: Path) -> None:
    datasets.speaker_folders(root, speakers=1, clips=2)
    (root / "speaker0" / "clip0.lab").write_text("Another transcript.", encoding="utf-8")


def _latin1_metadata(root: Path) -> None:
    datasets.ljspeech(root, clips=3)
    (root / "metadata.csv").write_bytes(
        (root / "metadata.csv").read_bytes() + "LJ001-0002|Café|Café\n".encode("latin-1")
    )


def _mixed_rates(root: Path) -> None:
    import numpy as np
    import soundfile as sf

    datasets.ljspeech(root, clips=3)
    sf.write(root / "wavs" / "LJ001-0001.wav", np.zeros((16000, 1)) + 0.1, 16000)


def _unreadable(root: Path) -> None:
    datasets.ljspeech(root, clips=3)
    (root / "wavs" / "LJ001-0002.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")


CASES: dict[str, tuple[Callable[[Path], None], int, str]] = {
    "empty folder": (_empty, 1, "is empty"),
    "no transcripts": (_no_transcripts, 1, "no known layout"),
    "transcript without audio": (_transcript_without_audio, 1, "no audio for 'LJ009-0001'"),
    "duplicate ids": (_duplicate_ids, 1, "duplicate id 'speaker0_clip0'"),
    "non-UTF-8 metadata": (_latin1_metadata, 1, "metadata.csv:4:15: byte 0xe9 is not UTF-8"),
    "mixed sample rates": (_mixed_rates, 2, "mixed sample rates (1 clip(s) at 16000 Hz"),
    "unreadable file": (_unreadable, 1, "LJ001-0002.wav: unreadable"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_dataset_is_reported_and_nothing_written(tmp_path: Path, case: str) -> None:
    make, expected_code, message = CASES[case]
    dataset = tmp_path / "data"
    make(dataset)
    before = datasets.snapshot(dataset)
    out, err = io.StringIO(), io.StringIO()
    options = InitOptions(dataset, tmp_path / "project", batch_size=2, progress=False)
    code = run_init(options, out, err)
    assert code == expected_code, out.getvalue() + err.getvalue()
    assert message in err.getvalue()
    assert "Traceback" not in err.getvalue()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # no project, no staging
    assert datasets.snapshot(dataset) == before


def test_drop_bad_leaves_out_and_lists_the_bad_clips(tmp_path: Path) -> None:
    dataset = tmp_path / "data"
    _transcript_without_audio(dataset)
    datasets.write_clip(dataset / "wavs" / "LJ001-0003.wav", 3)
    with (dataset / "metadata.csv").open("a", encoding="utf-8") as handle:
        handle.write("LJ001-0003|One more line.|One more line.\n")
    (dataset / "wavs" / "LJ001-0003.wav").write_bytes(b"not audio at all")
    out, err = io.StringIO(), io.StringIO()
    options = InitOptions(dataset, tmp_path / "p", batch_size=2, progress=False, drop_bad=True)
    assert run_init(options, out, err) == 0, out.getvalue() + err.getvalue()
    assert "dropped 1: no audio" in out.getvalue()
    assert "dropped 1: unreadable" in out.getvalue()


def test_too_short_silent_and_unspellable_clips_are_dropped_with_reasons(tmp_path: Path) -> None:
    import numpy as np
    import soundfile as sf

    dataset = datasets.ljspeech(tmp_path / "data", clips=4)
    datasets.write_clip(dataset / "wavs" / "LJ001-0000.wav", 0, seconds=0.2)
    sf.write(dataset / "wavs" / "LJ001-0001.wav", np.zeros((44100, 2)), 44100)
    meta = (dataset / "metadata.csv").read_text(encoding="utf-8").splitlines()
    meta[2] = "LJ001-0002|日本語のテキスト|日本語のテキスト"
    (dataset / "metadata.csv").write_text("\n".join(meta) + "\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    options = InitOptions(dataset, tmp_path / "p", batch_size=2, progress=False, language="en")
    code = run_init(options, out, err)
    text = out.getvalue() + err.getvalue()
    assert code == 1, text
    assert "too short (0.20 s" in text
    assert "silent" in text
    assert "characters outside the symbol set" in text
    assert "training needs at least 2" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


@pytest.mark.parametrize("where", ["inside", "same"])
def test_output_inside_the_dataset_is_a_usage_error(tmp_path: Path, where: str) -> None:
    dataset = datasets.ljspeech(tmp_path / "data", clips=3)
    before = datasets.snapshot(dataset)
    target = dataset / "project" if where == "inside" else dataset
    err = io.StringIO()
    code = run_init(InitOptions(dataset, target, progress=False), io.StringIO(), err)
    assert code == 2
    assert "inside the dataset" in err.getvalue()
    assert datasets.snapshot(dataset) == before


def test_foreign_output_folder_is_refused_and_kept(tmp_path: Path) -> None:
    dataset = datasets.ljspeech(tmp_path / "data", clips=3)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    err = io.StringIO()
    code = run_init(InitOptions(dataset, tmp_path / "mine", progress=False), io.StringIO(), err)
    assert code == 2 and "not made by `vitscfg init`" in err.getvalue()
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_rerun_keeps_the_users_own_files_and_speaker_ids(tmp_path: Path) -> None:
    dataset = datasets.vctk(tmp_path / "data", speakers=2, clips=2)
    project = tmp_path / "p"
    options = InitOptions(dataset, project, batch_size=2, progress=False, sample_rate=22050)
    assert run_init(options, io.StringIO(), io.StringIO()) == 0
    (project / "my_notes.md").write_text("mine")
    # A new speaker whose name sorts first must not renumber the others.
    shutil.copytree(dataset / "txt" / "p225", dataset / "txt" / "a100")
    for f in (dataset / "txt" / "a100").iterdir():
        f.rename(f.with_name(f.name.replace("p225", "a100")))
    audio = dataset / "wav48_silence_trimmed"
    shutil.copytree(audio / "p225", audio / "a100")
    for f in (audio / "a100").iterdir():
        f.rename(f.with_name(f.name.replace("p225", "a100")))
    out = io.StringIO()
    assert run_init(options, out, io.StringIO()) == 0
    assert "2 processed now, 4 reused" in out.getvalue()  # only the new speaker's clips
    import json

    assert json.loads((project / "speakers.json").read_text()) == {"p225": 0, "p226": 1, "a100": 2}
    assert (project / "my_notes.md").read_text() == "mine"
