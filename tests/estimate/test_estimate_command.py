"""`vitscfg estimate` end to end: JSON contract, devices, bad input, --write.

The fake traces are replaced by an exact bilinear stand-in (`trace_points`) except in the
one slow end-to-end test: what is checked here is the plumbing, not torch.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from vitscfg.estimate import predict as predict_mod  # noqa: E402
from vitscfg.estimate.run import EstimateOptions, run_estimate  # noqa: E402

TINY = Path(__file__).resolve().parents[2] / "examples" / "tiny"
GiB = 1 << 30


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    dest = tmp_path / "tiny"
    shutil.copytree(TINY, dest, ignore=shutil.ignore_patterns("*.spec.pt"))
    return dest / "config.json"


@pytest.fixture
def fake_traces(monkeypatch: pytest.MonkeyPatch) -> None:
    def trace_points(
        step: Any, jobs: Any, kind: str, processes: Any = None
    ) -> list[tuple[int, str]]:
        return [
            (GiB + p.batch_size * (p.segment_size * 20_000 + 50_000_000), "meta") for _, p in jobs
        ]

    monkeypatch.setattr(predict_mod, "trace_points", trace_points)


def run(opts: EstimateOptions) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_estimate(opts, out, err)
    return code, out.getvalue(), err.getvalue()


def test_json_contract_with_vram_size(tiny: Path, fake_traces: None) -> None:
    code, out, err = run(EstimateOptions(str(tiny), vram="24GiB", output_format="json"))
    assert code == 0, err
    obj = json.loads(out)
    assert set(obj) >= {"device", "points", "recommended"}
    dev = obj["device"]
    assert set(dev) >= {"name", "total_bytes", "free_bytes", "source"}
    assert dev["source"] == "assumed" and dev["total_bytes"] == int(24 * GiB * 0.98)
    assert obj["points"]
    for p in obj["points"]:
        assert set(p) >= {"batch_size", "segment_size", "precision", "peak_bytes", "fits"}
        assert p["precision"] in ("fp32", "fp16", "bf16")
        assert isinstance(p["peak_bytes"], int) and isinstance(p["fits"], bool)
    rec = obj["recommended"]
    assert set(rec) >= {"batch_size", "segment_size", "precision", "peak_bytes", "extrapolated"}
    assert rec["peak_bytes"] <= dev["free_bytes"] * 0.93
    # The tiny grid traces batches 1-16; the stand-in fit allows far more: capped at 2 x 16.
    assert rec["batch_size"] == 32 and rec["extrapolated"] is True
    assert "extrapolated beyond the largest measured batch 16" in rec["reason"]
    assert obj["worst_case"]["source"] == "data"  # read from the tiny filelist


def test_named_card_and_text_output(tiny: Path, fake_traces: None) -> None:
    code, out, _ = run(EstimateOptions(str(tiny), vram="T4", no_data=True, plot="-"))
    assert code == 0
    assert "T4" in out and "Prediction without" in out and "Recommended:" in out
    assert "loader limits" not in out  # --no-data is not a warning


def test_ram_path_for_cpu_training(tiny: Path, fake_traces: None) -> None:
    import psutil

    code, out, _ = run(EstimateOptions(str(tiny), output_format="json", no_data=True))
    assert code == 0
    dev = json.loads(out)["device"]
    assert dev["kind"] == "cpu" and dev["total_bytes"] == psutil.virtual_memory().total


def test_config_failing_check_exits_1_with_diagnostics(tiny: Path) -> None:
    cfg = json.loads(tiny.read_text())
    cfg["train"]["batch_size"] = 0
    tiny.write_text(json.dumps(cfg))
    code, out, err = run(EstimateOptions(str(tiny)))
    assert code == 1 and "batch_size" in err and "fails `vitscfg check`" in err
    assert "Traceback" not in err


def test_gpu_without_cuda_exits_2(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code, _, err = run(EstimateOptions(str(tiny), gpu=0))
    assert code == 2 and "CUDA is not available" in err


def test_gpu_index_that_does_not_exist_exits_2(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    code, _, err = run(EstimateOptions(str(tiny), gpu=3))
    assert code == 2 and "no such GPU" in err


def test_empty_filelist_exits_1(tiny: Path) -> None:
    (tiny.parent / "filelists" / "train.txt").write_text("")
    code, _, err = run(EstimateOptions(str(tiny)))
    assert code == 1 and "Traceback" not in err
    assert "empty" in err or "no utterance" in err


def test_bad_vram_and_margin_exit_2(tiny: Path) -> None:
    assert run(EstimateOptions(str(tiny), vram="GTX 9999"))[0] == 2
    assert run(EstimateOptions(str(tiny), margin=1.5))[0] == 2
    assert run(EstimateOptions(str(tiny.parent / "missing.json")))[0] == 2


def test_overrides_and_write(tiny: Path, fake_traces: None) -> None:
    before = tiny.read_text()
    code, out, err = run(
        EstimateOptions(str(tiny), vram="16GiB", max_text_len=99, max_spec_frames=500, write=True)
    )
    assert code == 0, err
    assert "99 text ids, 500 spectrogram frames (override)" in out
    after = tiny.read_text()
    assert after != before and '-    "batch_size": 4,' in out and "wrote" in out
    cfg = json.loads(after)
    assert cfg["train"]["batch_size"] > 4 and cfg["data"] == json.loads(before)["data"]
    # As `check --fix` edits: only that value changed, every other line byte for byte.
    changed = [
        (a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b
    ]
    assert (
        len(changed) == 1
        and changed[0][1].replace(str(cfg["train"]["batch_size"]), "4") == (changed[0][0])
    )
    assert f"re-checked {tiny}: no errors" in out


def test_write_keeps_yaml_and_refuses_what_it_cannot_find(tmp_path: Path) -> None:
    from vitscfg.estimate.write import write_recommendation

    config = tmp_path / "c.yaml"
    text = "train:\n  batch_size: 4   # per GPU\n  segment_size: 8192\ndata: {}\n"
    config.write_text(text)
    stream = io.StringIO()
    write_recommendation(str(config), 12, 8192, stream, check_data=False)
    assert config.read_text() == text.replace("batch_size: 4", "batch_size: 12")
    assert "wrote" in stream.getvalue() and "re-checked" in stream.getvalue()
    again = io.StringIO()
    assert write_recommendation(str(config), 12, 8192, again, check_data=False) == 0
    assert "already uses the recommendation" in again.getvalue()
    missing = tmp_path / "m.json"
    missing.write_text('{"train": {"batch_size": 4}}')
    assert write_recommendation(str(missing), 8, 8192, io.StringIO(), check_data=False) == 1
    assert missing.read_text() == '{"train": {"batch_size": 4}}'


@pytest.mark.slow
def test_end_to_end_real_traces_json(tiny: Path) -> None:
    code, out, err = run(
        EstimateOptions(
            str(tiny),
            vram="8GiB",
            output_format="json",
            batch_sizes=(1, 2),
            segment_sizes=(1024,),
            max_text_len=31,
            max_spec_frames=96,
        )
    )
    assert code == 0, err
    obj = json.loads(out)
    assert obj["method"] == "meta" and len(obj["points"]) == 2  # what really ran
    assert obj["points"][0]["peak_bytes"] < obj["points"][1]["peak_bytes"]


SHARED = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "shared_configs"


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("rhasspy__piper__etc_test_voice.onnx.json", "inference config"),
    ],
)
def test_a_model_vitscfg_cannot_build_is_a_clear_error(
    name: str, says: str, fake_traces: None
) -> None:
    """These used to end in a traceback from inside a trace process."""
    code, out, err = run(EstimateOptions(str(SHARED / name), no_data=True, output_format="json"))
    assert code == 1 and out == ""
    assert "cannot estimate this config" in err and says in err
    assert "Traceback" not in err


def test_a_proxy_model_is_said_in_the_report(fake_traces: None) -> None:
    # so-vits-svc-fork: no step of its own yet (the Bert-VITS2 family, the example here
    # before, traces its own step now).
    unseen = SHARED.parent / "unseen_configs"
    config = unseen / (
        "voicepaw__so-vits-svc-fork__src_so_vits_svc_fork_preprocessing_config_templates_"
        "so-vits-svc-4.0v1.json"
    )
    code, out, err = run(EstimateOptions(str(config), no_data=True, output_format="json"))
    assert code == 0, err
    obj = json.loads(out)
    (note,) = [w for w in obj["warnings"] if "vitscfg's model is VITS" in w]
    assert "transformer flow" in note and "needs more memory" in note
    assert obj["model"]["level"] == "proxy" and "NSF-HiFiGAN" in obj["model"]["gaps"]


def test_a_failing_trace_is_a_message(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def trace_points(step: Any, jobs: Any, kind: str, processes: Any = None) -> list[int]:
        raise RuntimeError("The size of tensor a (64) must match the size of tensor b (16)")

    monkeypatch.setattr(predict_mod, "trace_points", trace_points)
    code, out, err = run(EstimateOptions(str(tiny), no_data=True, output_format="json"))
    assert code == 1 and out == ""
    assert "the traced training step failed (RuntimeError: The size of tensor a" in err
