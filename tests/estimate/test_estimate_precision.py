"""`vitscfg estimate --precision`: a what-if precision that replaces the config's (and
RVC's GPU-picked) precision in the traced grid, and says what it replaced."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from vitscfg.estimate.run import EstimateOptions, run_estimate

pytestmark = pytest.mark.torch

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "examples" / "tiny" / "config.json"


def _run(config: Path, **kw: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    opts = EstimateOptions(str(config), vram="8GiB", no_data=True, output_format="json", **kw)  # type: ignore[arg-type]
    return run_estimate(opts, out, err), out.getvalue(), err.getvalue()


def test_unknown_precision_is_a_usage_error() -> None:
    code, out, err = _run(TINY, precision="fp8")
    assert code == 2 and out == ""
    assert "--precision 'fp8'" in err and "fp32, fp16, bf16" in err


def test_forced_precision_is_traced_and_said() -> None:
    pytest.importorskip("torch")
    code, out, _ = _run(TINY, precision="bf16", batch_sizes=(1, 2), segment_sizes=(4096,))
    assert code == 0
    report = json.loads(out)
    assert {p["precision"] for p in report["points"]} == {"bf16"}
    assert report["precision_reason"].startswith("--precision bf16; without it fp32")
