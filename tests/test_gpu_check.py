"""scripts/gpu_check.py (the GPU check: its --smoke mode runs every path on the CPU),
its report page, and bench/peer_reference.py without a reference checkout."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
GiB = 1 << 30


def _module(path: Path) -> ModuleType:
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module  # dataclasses look their module up while it runs
    spec.loader.exec_module(module)
    return module


def _report(**extra: Any) -> dict[str, Any]:
    point = {
        "batch_size": 24,
        "segment_size": 8192,
        "ok": True,
        "oom": False,
        "measured": 10 * GiB,
        "allocated": 8 * GiB,
        "reserved": 9 * GiB,
        "non_torch": GiB,
        "gpu_pred": int(10.3 * GiB),
        "gpu_probed": False,
        "no_gpu_pred": int(9.4 * GiB),
        "traced_bytes": int(8.2 * GiB),
        "step_seconds": 0.5,
    }
    case = {
        "case": "rvc: configs_v2_48k",
        "precision": "fp16",
        "capacity_bytes": 24 * GiB,
        "points": [point, {"batch_size": 12, "segment_size": 34560, "ok": False, "oom": True}],
        "runs": [
            {
                "method": "--gpu",
                "ok": True,
                "batch_size": 40,
                "segment_size": 17280,
                "steps_run": 5,
                "step_seconds": 0.25,
                "predicted": 22 * GiB,
                "device_peak": int(21.5 * GiB),
            },
            {"method": "no-GPU", "ok": False, "oom": True, "batch_size": 44, "segment_size": 17280},
        ],
        "notes": ["fp16: memory is not affine"],
    }
    report = {
        "device": "NVIDIA H100 80GB HBM3",
        "torch": "2.11.0",
        "date": "2026-12-05",
        "smoke": False,
        "capacity_bytes": 24 * GiB,
        "margin": 0.07,
        "budget_s": 420.0,
        "elapsed_s": 400.0,
        "cases": [case],
        "skipped": ["ljs_base fp16: time budget (420 s)"],
    }
    return {**report, **extra}


def test_report_page_rows_errors_runs_and_skips() -> None:
    render = _module(ROOT / "scripts" / "gpu_check_report.py").render
    page = render(_report())
    assert "**Partial: the run stopped early.**" in page  # not marked complete
    assert "budget 24.00 GiB with a 7% margin" in page
    # measured 10.00; --gpu +3.0 %; no-GPU -6.0 %; traced 8.20 against 8.00 allocated: +2.5 %
    assert (
        "| rvc: configs_v2_48k | fp16 | 24 | 8192 | 10.00 | 10.30 (+3.0%) | 9.40 (-6.0%) "
        "| 8.00 | 8.20 (+2.5%) | 500 |" in page
    )
    assert "| rvc: configs_v2_48k | fp16 | 12 | 34560 | out of memory |" in page
    assert "Worst |error| of the two predictions: 6.0% (1 of 2 within 5 %)." in page
    assert "| --gpu | 40 | 17280 | ok, 5 steps | 22.00 | 21.50 | 4.00 |" in page
    assert "| no-GPU | 44 | 17280 | **out of memory** |" in page
    assert "- ljs_base fp16: time budget (420 s)" in page
    assert "- rvc: configs_v2_48k fp16: fp16: memory is not affine" in page
    assert "Not run (the run stopped before it)." in page
    peer = {"device": "H100", "precision": "fp16", "batch": 32, "ours_steps_per_s": 3.0}
    peer |= {"reference_steps_per_s": 2.0, "ratio": 1.5, "note": ""}
    done = render(_report(complete=True, peer=peer))
    assert "Partial" not in done
    assert "vitscfg 3.00 steps/s, reference 2.00 steps/s: **1.50x**" in done


@pytest.mark.torch
def test_every_exact_fork_has_one_case() -> None:
    """A fork joins the check as soon as support.py calls its shared configs exact."""
    pytest.importorskip("torch")
    cases_mod = _module(ROOT / "scripts" / "gpu_check_cases.py")
    from vitscfg.config.dialect import detect
    from vitscfg.model.support import model_support

    cases = cases_mod.fork_cases()
    by_dialect = {c.name.split(":")[0]: c for c in cases}
    exact = set()
    for path in cases_mod.fork_config_paths():
        config = json.loads(path.read_text(encoding="utf-8"))
        dialect = detect(config).name
        if dialect not in cases_mod.PLAIN and model_support(config, dialect).level == "exact":
            exact.add(dialect)
    assert set(by_dialect) == exact
    assert {"vits2", "rvc", "so-vits-svc", "mb-istft-vits", "gpt-sovits"} <= exact
    assert by_dialect["rvc"].path.name.endswith("v2_48k.json")
    assert by_dialect["so-vits-svc"].path.name.endswith("config_template.json")
    names = [f"{c.name} {c.precision}" for c in cases_mod.all_cases(smoke=False)]
    assert names[:2] == ["ljs_base bf16", "tiny fp32"]


@pytest.mark.torch
def test_peer_reference_skips_without_a_checkout(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    bench = _module(ROOT / "bench" / "peer_reference.py")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = bench.main(["--reference", str(tmp_path / "absent"), "--json"])
    assert code == 0
    first, second = out.getvalue().splitlines()
    assert first.startswith("peer_reference: skipped, no reference VITS checkout at ")
    assert json.loads(second) == {"skipped": first}


@pytest.mark.slow
@pytest.mark.torch
def test_smoke_runs_every_path_on_the_cpu(tmp_path: Path) -> None:
    """The smoke's fork case (VITS2's own step and batch; the tiny VITS case differs only
    in the step the same functions dispatch to, and doubles the time): every stage runs,
    every number is there. No time budget: a busy 2-core machine must not skip a stage."""
    pytest.importorskip("torch")
    out, data = tmp_path / "accuracy.md", tmp_path / "check.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gpu_check.py"), "--smoke"]
        + ["--cases", "tiny_vits2", "--budget-s", "3000"]
        + ["--out", str(out), "--json", str(data), "--reference", str(tmp_path / "absent")],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads(data.read_text(encoding="utf-8"))
    assert report["complete"] and report["smoke"] and not report["skipped"]
    assert [c["case"] for c in report["cases"]] == ["vits2: tiny_vits2"]
    for case in report["cases"]:
        assert case["dialect"] == "vits2"
        assert len(case["points"]) == 2
        for point in case["points"]:
            assert point["ok"], point
            assert point["measured"] > point["allocated"] > 0
            assert point["gpu_pred"] > 0 and point["no_gpu_pred"] > 0
            assert point["traced_bytes"] > 0
        assert [r["method"] for r in case["runs"]] == ["--gpu", "no-GPU"]
        for run in case["runs"]:
            assert run["ok"] and run["steps_run"] == 2, run
    assert report["peer"]["skipped"].startswith("peer_reference: skipped")
    page = out.read_text(encoding="utf-8")
    assert "**Smoke run on the CPU: the figures are not a GPU's.**" in page
    assert page.count("| vits2: tiny_vits2 | fp32 |") == 4  # two points, two short runs
