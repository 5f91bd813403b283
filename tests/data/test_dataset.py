"""TextAudioDataset + collate on the bundled tiny corpus: shapes, order, caches, checks."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("soundfile")

import numpy as np  # noqa: E402
import soundfile  # noqa: E402
import torch  # noqa: E402

from vitscfg.data.batch import Batch, collate  # noqa: E402
from vitscfg.data.clips import DataError, cache_path  # noqa: E402
from vitscfg.data.dataset import DataConfig, TextAudioDataset  # noqa: E402
from vitscfg.data.symbols import VITS_SYMBOLS  # noqa: E402
from vitscfg.data.text import UnknownSymbolError  # noqa: E402

pytestmark = pytest.mark.torch

TINY = Path(__file__).resolve().parents[2] / "examples" / "tiny"


def stft_mag(n_fft: int, hop: int):
    """|STFT| with the reference framing: samples // hop frames."""

    def fn(wave: torch.Tensor) -> torch.Tensor:
        pad = (n_fft - hop) // 2
        padded = torch.nn.functional.pad(wave.unsqueeze(1), (pad, pad), mode="reflect")[:, 0]
        window = torch.hann_window(n_fft)
        spec = torch.stft(padded, n_fft, hop, window=window, center=False, return_complex=True)
        return spec.abs()[0]

    return fn


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A writable copy of the tiny corpus (caches are written next to the audio)."""
    dst = tmp_path / "tiny"
    shutil.copytree(TINY, dst, ignore=shutil.ignore_patterns("*.spec.pt"))
    return dst


def _config(folder: Path, **data) -> dict:
    cfg = json.loads((folder / "config.json").read_text())
    cfg["data"].update(data)
    return cfg


def _dataset(folder: Path, split: str = "train", spec_fn=None, **kwargs) -> TextAudioDataset:
    cfg = _config(folder, **kwargs.pop("data", {}))
    n_fft, hop = cfg["data"]["filter_length"], cfg["data"]["hop_length"]
    spec_fn = spec_fn or stft_mag(n_fft, hop)
    return TextAudioDataset.from_config(
        cfg, split, folder / "config.json", spec_fn=spec_fn, **kwargs
    )


def test_items_shapes_and_text(corpus: Path):
    ds = _dataset(corpus)
    assert len(ds) == 28 and not ds.skip_report
    u = ds[0]
    assert u.wave.dtype == torch.float32 and u.wave.shape[0] == 1
    assert 0.01 < float(u.wave.abs().max()) <= 1.0
    assert u.spec.shape == (257, u.wave.shape[1] // 128)  # 512 // 2 + 1 channels
    assert u.sid.item() == 0 and u.uid == 0
    # add_blank: blanks at even positions; english_cleaners text of line 1
    assert u.text[0::2].eq(0).all()
    assert "".join(VITS_SYMBOLS[i] for i in u.text[1::2]) == "the cat sat on the warm mat."
    assert ds.describe(0).endswith("train.txt:1 wavs/tiny_000.wav")
    assert all(n > 32 for n in ds.lengths)


def test_collate_sorts_pads_and_keeps_ids(corpus: Path):
    ds = _dataset(corpus)
    items = [ds[i] for i in (3, 0, 5, 1)]
    batch = collate(items)
    assert isinstance(batch, Batch)
    text, text_len, spec, spec_len, wave, wave_len, sid, ids = batch  # reference order
    assert spec_len.tolist() == sorted(spec_len.tolist(), reverse=True)
    by_index = {u.uid: u for u in items}
    for row, index in enumerate(ids.tolist()):
        u = by_index[index]
        assert text_len[row] == u.text.numel() and torch.equal(text[row, : text_len[row]], u.text)
        assert spec_len[row] == u.spec.shape[1]
        assert torch.equal(spec[row, :, : spec_len[row]], u.spec)
        assert spec[row, :, spec_len[row] :].abs().sum() == 0
        assert torch.equal(wave[row, :, : wave_len[row]], u.wave)
    assert text.shape == (4, int(text_len.max())) and wave.shape == (4, 1, int(wave_len.max()))
    assert spec.shape[:2] == (4, 257) and sid.shape == (4,)
    assert batch.to("cpu").spec.shape == spec.shape


def test_cache_is_reused_and_keyed_by_stft_parameters(corpus: Path):
    calls = []

    def counting(wave):
        calls.append(wave.shape)
        return stft_mag(512, 128)(wave)

    ds = _dataset(corpus, spec_fn=counting)
    first = ds[2].spec
    path = ds.cache_file(2)
    assert path.is_file() and path.parent == corpus / "wavs"
    assert path.name.startswith("tiny_002.") and path.name.endswith(".spec.pt")
    again = _dataset(corpus, spec_fn=counting)[2].spec
    assert len(calls) == 1 and torch.equal(first, again)
    assert torch.load(path, weights_only=True).shape == first.shape

    # Another hop_length gives another cache file, never the stale one.
    other = _dataset(corpus, spec_fn=stft_mag(512, 256), data={"hop_length": 256})
    assert other.cache_file(2) != path
    assert other[2].spec.shape[1] == other[2].wave.shape[1] // 256
    assert other.cache_file(2).is_file() and path.is_file()
    # The cache key covers the rate, n_fft and window too.
    base = ds.audio
    keys = {
        base.cache_key(),
        dataclasses.replace(base, filter_length=1024).cache_key(),
        dataclasses.replace(base, win_length=256).cache_key(),
        dataclasses.replace(base, sampling_rate=22050).cache_key(),
        base.cache_key("mel"),
    }
    assert len(keys) == 5


def test_bad_cache_is_recomputed(corpus: Path):
    ds = _dataset(corpus)
    path = ds.cache_file(1)
    path.write_bytes(b"truncated")
    assert ds[1].spec.shape[0] == 257
    torch.save(torch.zeros(257, 3), path)  # frames do not fit this audio
    assert ds[1].spec.shape[1] > 3


def test_cache_dir_and_read_only_folder(corpus: Path, tmp_path: Path):
    cache = tmp_path / "cache"
    ds = _dataset(corpus, cache_dir=cache)
    ds[0]
    assert ds.cache_file(0).parent == cache and ds.cache_file(0).is_file()
    assert not list((corpus / "wavs").glob("*.spec.pt"))
    a, b = Path("/x/a/1.wav"), Path("/x/b/1.wav")
    assert cache_path(a, "k", cache) != cache_path(b, "k", cache)
    assert cache_path(Path("d/A.WAV"), "k").name == "A.k.spec.pt"  # never the audio itself


def test_paths_resolve_from_the_config_folder(corpus: Path, monkeypatch, tmp_path: Path):
    monkeypatch.chdir(tmp_path)  # not the corpus folder
    assert len(_dataset(corpus, "val")) == 4


def test_wrong_sample_rate_needs_resample(corpus: Path):
    data, rate = soundfile.read(corpus / "wavs" / "tiny_001.wav", dtype="int16")
    soundfile.write(corpus / "wavs" / "tiny_001.wav", data[::2].copy(), rate // 2, "PCM_16")
    with pytest.raises(DataError, match=r"sample rate.*line 2 \(wavs/tiny_001.wav: 8000 Hz\)"):
        _dataset(corpus)
    ds = _dataset(corpus, resample=True)
    u = ds[1]
    assert abs(u.wave.shape[1] - data.shape[0]) <= 2  # back at 16 kHz
    assert (
        ds.lengths[1] == u.wave.shape[1] // 128 or abs(ds.lengths[1] - u.wave.shape[1] // 128) <= 1
    )


def test_float_and_24_bit_audio_with_matching_max_wav_value(corpus: Path):
    data, rate = soundfile.read(corpus / "wavs" / "tiny_000.wav", dtype="float32")
    for i in range(28):
        soundfile.write(corpus / "wavs" / f"tiny_{i:03d}.wav", data, rate, "PCM_24")
    with pytest.raises(DataError, match="max_wav_value 32768 does not fit.*PCM_24 needs 2.14748e"):
        _dataset(corpus)
    ds = _dataset(corpus, data={"max_wav_value": 2147483648.0})
    assert np.allclose(ds[0].wave[0].numpy(), data, atol=1e-6)
    for i in range(28):
        soundfile.write(corpus / "wavs" / f"tiny_{i:03d}.wav", data, rate, "FLOAT")
    ds = _dataset(corpus, data={"max_wav_value": 1.0})
    assert np.allclose(ds[0].wave[0].numpy(), data)


def test_problems_are_reported_together_with_lines(corpus: Path):
    (corpus / "wavs" / "tiny_004.wav").unlink()
    stereo = np.zeros((20000, 2), dtype=np.int16)
    soundfile.write(corpus / "wavs" / "tiny_006.wav", stereo, 16000, "PCM_16")
    with pytest.raises(DataError) as info:
        _dataset(corpus)
    msg = str(info.value)
    assert "audio file not found: line 5 (wavs/tiny_004.wav)" in msg
    assert "not mono" in msg and "line 7" in msg


def test_missing_filelist_and_malformed_line(corpus: Path):
    cfg = _config(corpus, training_files="filelists/nope.txt")
    with pytest.raises(DataError, match="nope.txt: no such file"):
        TextAudioDataset.from_config(cfg, "train", corpus / "config.json")
    (corpus / "filelists" / "val.txt").write_text("wavs/tiny_000.wav|a|b\n")
    with pytest.raises(DataError, match="line 1: 3 columns"):
        _dataset(corpus, "val")


def test_unknown_symbol_in_cleaned_text(corpus: Path):
    (corpus / "filelists" / "val.txt").write_text(
        "wavs/tiny_000.wav|hello\nwavs/tiny_001.wav|a-b\n"
    )
    with pytest.raises(UnknownSymbolError, match=r"'-'.*val.txt, line 2"):
        _dataset(corpus, "val", data={"cleaned_text": True})


def test_text_length_filter_is_reported(corpus: Path):
    ds = _dataset(corpus, data={"max_text_len": 24})
    report = ds.skip_report
    assert report.count == 28 - len(ds) > 0 and report.seconds > 0
    assert "min_text_len" in report.lines()[0]


def test_multi_speaker_ids(corpus: Path):
    lines = ["wavs/tiny_000.wav|1|hello", "wavs/tiny_001.wav|0|world"]
    (corpus / "filelists" / "val.txt").write_text("\n".join(lines) + "\n")
    ds = _dataset(corpus, "val", data={"n_speakers": 2})
    assert [ds[i].sid.item() for i in range(2)] == [1, 0]
    assert collate([ds[0], ds[1]]).sid.dtype == torch.long
    with pytest.raises(DataError, match=r"speaker id outside \[0, data.n_speakers=1\)"):
        _dataset(corpus, "val", data={"n_speakers": 1})


def test_default_spec_fn_is_the_model_spectrogram(corpus: Path):
    pytest.importorskip("torchaudio")
    cfg = _config(corpus)
    ds = TextAudioDataset.from_config(cfg, "val", corpus / "config.json")
    u = ds[0]
    assert u.spec.shape == (257, u.wave.shape[1] // 128)  # reflect-padded: samples // hop


def test_spec_fn_with_other_framing_is_refused(corpus: Path):
    ds = _dataset(corpus, spec_fn=lambda w: torch.zeros(257, w.shape[1] // 128 + 1))
    with pytest.raises(DataError, match="samples // hop_length"):
        ds[0]


def test_data_config_defaults():
    cfg = DataConfig.from_mapping(json.loads((TINY / "config.json").read_text())["data"])
    assert cfg.text_cleaners == ("english_cleaners",) and cfg.add_blank and not cfg.cleaned_text
    assert cfg.audio.seconds_per_frame == 128 / 16000


def test_dataloader_with_bucket_sampler(corpus: Path):
    from torch.utils.data import DataLoader

    from vitscfg.data.buckets import VITS_BUCKETS
    from vitscfg.data.sampler import BucketBatchSampler

    ds = _dataset(corpus)
    sampler = BucketBatchSampler(ds.lengths, 4, VITS_BUCKETS.boundaries, seed=1)
    loader = DataLoader(ds, batch_sampler=sampler, collate_fn=collate)
    seen = [i for batch in loader for i in batch.ids.tolist()]
    assert set(seen) == set(range(28)) and len(seen) == len(sampler) * 4
