"""`vitscfg estimate` on the forks with their own step (vitscfg/train/fork_steps.py): the
report says `exact`, every point carries its traced tensor peak, the worst case is the
fork's own (content frames cut at its loader's limit), and a value the model builders
refuse is one message, not a failed trace."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

from vitscfg.estimate import predict as predict_mod  # noqa: E402
from vitscfg.estimate.data import Lengths, cap_frames  # noqa: E402
from vitscfg.estimate.run import EstimateOptions, run_estimate  # noqa: E402
from vitscfg.train.fork_steps import FORK_STEPS  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "tests" / "fixtures" / "shared_configs"
GiB = 1 << 30

#: One shared config per registered fork (the smallest), and the frames its worst case has
#: without data: the loader's cut for the voice-conversion forks, VITS's buckets for VITS2.
FORKS = {
    "rvc": ("RVC-Project__Retrieval-based-Voice-Conversion-WebUI__configs_v1_32k.json", 900),
    "so-vits-svc": (
        "svc-develop-team__so-vits-svc__configs_template_config_tiny_template.json",
        800,
    ),
    "vits2": ("p0p4k__vits2_pytorch__configs_vits2_ljs_nosdp.json", 1000),
    "mb-istft-vits": ("MasayaKawamura__MB-iSTFT-VITS__configs_ljs_mini_mb_istft_vits.json", 1000),
    # Vendored with the model fixtures (MB-iSTFT-VITS2's configs are not shared ones).
    "mb-istft-vits2": ("../../model/fixtures/mb_istft_vits2/mini_mb_istft_vits2_base.json", 1000),
    # Not a shared config: vendored with the unseen ones. SSL frames: its sampler's 1900.
    "gpt-sovits": ("../unseen_configs/RVC-Boss__GPT-SoVITS__GPT_SoVITS_configs_s2.json", 1900),
    "bert-vits2": ("fishaudio__Bert-VITS2__configs_config.json", 1000),
    "melotts": ("myshell-ai__MeloTTS__melo_configs_config.json", 1000),
    "style-bert-vits2": (
        "../unseen_configs/litagin02__Style-Bert-VITS2__configs_config.json",
        1000,
    ),
}


def run(opts: EstimateOptions) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_estimate(opts, out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def fake_traces(monkeypatch: pytest.MonkeyPatch) -> None:
    def trace_points(
        step: Any, jobs: Any, kind: str, processes: Any = None
    ) -> list[tuple[int, str]]:
        return [(GiB + p.batch_size * p.segment_size * 9_000, "meta") for _, p in jobs]

    monkeypatch.setattr(predict_mod, "trace_points", trace_points)


def test_every_registered_fork_has_a_config_here() -> None:
    assert set(FORKS) == set(FORK_STEPS)


@pytest.mark.parametrize("dialect", sorted(FORKS))
def test_a_fork_with_its_own_step_is_exact(dialect: str, fake_traces: None) -> None:
    name, frames = FORKS[dialect]
    opts = EstimateOptions(str(SHARED / name), vram="24GiB", no_data=True, output_format="json")
    code, out, err = run(opts)
    assert code == 0, err
    obj = json.loads(out)
    assert obj["model"] == {"level": "exact", "gaps": None}
    assert not [w for w in obj["warnings"] if "vitscfg's model is VITS" in w]
    assert obj["worst_case"]["spec_frames"] == frames
    for point in obj["points"]:
        traced = point["traced_bytes"]
        # CUDA target: the device peak adds the context and the allocator's factor.
        assert isinstance(traced, int) and GiB <= traced < point["peak_bytes"], point
    text_code, text, _ = run(EstimateOptions(str(SHARED / name), vram="24GiB", no_data=True))
    assert text_code == 0 and "Model: exact" in text


def test_traced_points_carry_their_own_trace(fake_traces: None) -> None:
    """Where a point was traced, traced_bytes is that trace's peak, not the fit's."""
    name, _ = FORKS["vits2"]
    opts = EstimateOptions(
        str(SHARED / name),
        vram="24GiB",
        no_data=True,
        output_format="json",
        batch_sizes=(2, 4, 8),
        segment_sizes=(8192,),
    )
    code, out, err = run(opts)
    assert code == 0, err
    by_batch = {p["batch_size"]: p["traced_bytes"] for p in json.loads(out)["points"]}
    assert by_batch == {b: GiB + b * 8192 * 9_000 for b in (2, 4, 8)}


def test_cap_frames_cuts_at_the_loader_limit() -> None:
    data = Lengths(40, 1200, "data", 3, (100, 1200, 700))
    capped = cap_frames(data, 800)
    assert (capped.spec_frames, capped.frame_lengths) == (800, (100, 800, 700))
    assert "cut to 800" in capped.notes[-1]
    assert cap_frames(data, None) is data and cap_frames(data, 1200) is data


def _svc_config(tmp_path: Path, key: str, value: str | None) -> Path:
    config = json.loads((SHARED / FORKS["so-vits-svc"][0]).read_text(encoding="utf-8"))
    if value is None:
        del config["model"][key]
    else:
        config["model"][key] = value
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


def test_a_value_the_builders_refuse_is_one_message(tmp_path: Path) -> None:
    """`check` lets an unknown vocoder through; the trace process's build refuses it: exit 1,
    what and where, no traceback and no "please report"."""
    path = _svc_config(tmp_path, "vocoder_name", "bogus-vocoder")
    opts = EstimateOptions(
        str(path), no_data=True, output_format="json", batch_sizes=(1,), processes=1
    )
    code, out, err = run(opts)
    assert code == 1 and out == "", err
    assert "cannot build this config's model" in err and "model.vocoder_name" in err
    assert "Traceback" not in err and "please report" not in err
    assert err.count("vitscfg estimate:") == 1


def test_a_missing_fork_key_is_a_check_finding(tmp_path: Path) -> None:
    path = _svc_config(tmp_path, "ssl_dim", None)
    code, out, err = run(EstimateOptions(str(path), no_data=True, output_format="json"))
    assert code == 1 and out == "", err
    assert "`model.ssl_dim` is missing" in err and "config.json:" in err
    assert "Traceback" not in err


@pytest.mark.slow
@pytest.mark.parametrize("dialect", sorted(FORKS))
def test_a_real_trace_of_each_fork_step(dialect: str) -> None:
    """The fork's own step traced on meta tensors, one batch size: exact, a tensor peak."""
    name, _ = FORKS[dialect]
    opts = EstimateOptions(
        str(SHARED / name),
        vram="24GiB",
        no_data=True,
        output_format="json",
        batch_sizes=(1, 2),
        segment_sizes=(),
        processes=1,
    )
    code, out, err = run(opts)
    assert code == 0, err
    obj = json.loads(out)
    assert obj["model"]["level"] == "exact" and obj["method"] == "meta"
    assert all(p["traced_bytes"] > 0 for p in obj["points"])


def test_the_vits2_batch_has_the_text_length_and_finite_values() -> None:
    """A real probe step (--gpu) runs this batch: its values must be finite."""
    import torch

    config = json.loads((SHARED / FORKS["vits2"][0]).read_text(encoding="utf-8"))
    batch = FORK_STEPS["vits2"].make_batch(config, 2, 12, torch.device("cpu"), text_len=7)
    assert batch.text.shape == (2, 7) and batch.text_lengths.tolist() == [7, 7]
    # use_mel_posterior_encoder: the posterior encoder reads n_mel_channels bins.
    assert batch.spec.shape == (2, config["data"]["n_mel_channels"], 12)
    assert batch.wav.shape == (2, 1, 12 * config["data"]["hop_length"])
    assert bool(torch.isfinite(batch.spec).all()) and bool(torch.isfinite(batch.wav).all())


def test_so_vits_svc_lengths_come_from_its_filelist(tmp_path: Path) -> None:
    """so-vits-svc's lists are one audio path per line (no text): the worst case is the
    longest clip's frames, with no text or bucket filter (its loader crops instead)."""
    import wave

    from vitscfg.estimate.data import data_lengths

    config = json.loads((SHARED / FORKS["so-vits-svc"][0]).read_text(encoding="utf-8"))
    rate, hop = config["data"]["sampling_rate"], config["data"]["hop_length"]
    lines = []
    for i, seconds in enumerate((1, 30)):  # 30 s: past VITS's last bucket (1000 frames)
        path = tmp_path / f"clip{i}.wav"
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(b"\x01\x00" * (rate * seconds))
        lines.append(str(path))
    (tmp_path / "train.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config["data"]["training_files"] = str(tmp_path / "train.txt")
    lengths = data_lengths(config, tmp_path / "config.json", "so-vits-svc")
    assert lengths.source == "data" and lengths.utterances == 2
    assert lengths.spec_frames == rate * 30 // hop > 1000
    assert cap_frames(lengths, FORK_STEPS["so-vits-svc"].max_frames).spec_frames == 800


@pytest.mark.parametrize(
    ("cuda", "name", "gib", "capability", "want"),
    [
        (False, "host RAM", 64, None, "fp32"),  # no CUDA device
        (True, "NVIDIA GeForce RTX 3090", 24, (8, 6), "fp16"),
        (True, "Tesla P40", 24, (6, 1), "fp32"),  # Pascal SM 6.1: slow fp16
        (True, "NVIDIA GeForce GTX 1660 SUPER", 6, (7, 5), "fp32"),  # GTX 16xx
        (True, "NVIDIA T4", 15, (7, 5), "fp16"),  # SM 7.5 but not a 16xx
        (True, "small card", 3, (8, 6), "fp32"),  # under RVC's 4 GiB floor (3 + 0.4 slack)
        (True, "assumed 24GiB", 24, None, "fp16"),  # assumed card: SM above 6.1
    ],
)
def test_rvc_precision_is_the_one_its_train_script_picks(
    cuda: bool, name: str, gib: int, capability: tuple[int, int] | None, want: str
) -> None:
    from vitscfg.train.rvc_step import rvc_device_precision

    precision, why = rvc_device_precision(cuda, name, gib * GiB, capability)
    assert precision == want and "RVC" in why
    if cuda and capability is None:  # the reason names the cards an assumption may miss
        assert "Pascal SM 6.1 and GTX 16xx" in why


def test_an_rvc_estimate_traces_the_precision_rvc_trains_in(fake_traces: None) -> None:
    """RVC's JSON has no precision key (its train.py picks fp16 on every card of
    compute capability above 6.1): the grid is fp16, and the report says why."""
    name, _ = FORKS["rvc"]
    opts = EstimateOptions(str(SHARED / name), vram="RTX 3090", no_data=True, output_format="json")
    code, out, err = run(opts)
    assert code == 0, err
    obj = json.loads(out)
    assert {p["precision"] for p in obj["points"]} == {"fp16"}
    assert obj["recommended"]["precision"] == "fp16"
    assert "RVC's train.py picks it from the GPU: RTX 3090" in obj["precision_reason"]
    assert obj["worst_case"]["text_unit"] is None
    _, text, _ = run(EstimateOptions(str(SHARED / name), vram="RTX 3090", no_data=True))
    assert "Precision: fp16 (RVC's train.py" in text and "text ids" not in text
    assert "Worst case per item: 900 content-feature frames" in text


def test_an_rvc_estimate_on_a_pascal_gpu_is_fp32(monkeypatch: pytest.MonkeyPatch) -> None:
    """--gpu on the training machine: the capability comes from that GPU (a P40 here)."""
    import torch

    from vitscfg.estimate.devices import DeviceInfo
    from vitscfg.estimate.run import _fork_precision
    from vitscfg.opening import open_config

    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda index: (6, 1))
    opened = open_config(str(SHARED / FORKS["rvc"][0]), check_data=False)
    p40 = DeviceInfo("Tesla P40", 24 * GiB, 24 * GiB, "cuda", "cuda", 0)
    plan, why = _fork_precision(opened, ([1, 2], [8192], ["fp16"]), p40)
    assert plan == ([1, 2], [8192], ["fp32"]) and "Tesla P40 (SM 6.1)" in why


def test_forks_without_a_precision_rule_keep_the_config_precision(fake_traces: None) -> None:
    name, _ = FORKS["so-vits-svc"]
    opts = EstimateOptions(str(SHARED / name), vram="24GiB", no_data=True, output_format="json")
    code, out, err = run(opts)
    assert code == 0, err
    obj = json.loads(out)
    assert obj["precision_reason"] is None and {p["precision"] for p in obj["points"]} == {"fp32"}
    assert obj["worst_case"]["frame_unit"] == "content-feature frames"
