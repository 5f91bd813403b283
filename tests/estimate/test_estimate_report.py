"""Golden-file tests for the `vitscfg estimate` reporters (text and JSON), torch-free.

Two hand-built estimates: a text-to-speech fork (VITS: token ids and spectrogram frames, the
config's precision) and a voice-conversion fork whose trainer picks its precision (RVC:
content-feature frames, no text, fp16 chosen from the GPU). The expected outputs live in
tests/estimate/golden/. After an intended change to a format, rewrite them with

    VITSCFG_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/estimate/test_estimate_report.py

and review the diff: it is the change every reader of that format sees.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from vitscfg.estimate.devices import DeviceInfo
from vitscfg.estimate.grid import Cell, Recommendation
from vitscfg.estimate.report import Estimate, to_json, to_text
from vitscfg.train.length_units import CONTENT_FRAMES, TEXT_AND_FRAMES

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("VITSCFG_UPDATE_GOLDEN") == "1"
GiB = 1 << 30
DEVICE = DeviceInfo("assumed 24GiB", int(23.52 * GiB), int(23.52 * GiB), "assumed")


def _estimate(fork: str) -> Estimate:
    rvc = fork == "rvc"
    precision = "fp16" if rvc else "fp32"
    segment = 17280 if rvc else 8192
    cells = [
        Cell(b, segment, precision, int((3 + b * 0.5) * GiB), "fits", "traced", int(b * 0.4 * GiB))
        for b in (4, 8)
    ]
    rec = Recommendation(8, segment, precision, int(7 * GiB), "the largest batch that fits")
    return Estimate(
        f"configs/{fork}.json",
        DEVICE,
        "meta",
        cells,
        rec,
        0.07,
        381,  # RVC's items have no text: the report must not print this
        900 if rvc else 1000,
        "limits",
        model_level="exact",
        precision_reason="RVC's train.py picks it from the GPU: assumed 24GiB" if rvc else "",
        units=CONTENT_FRAMES if rvc else TEXT_AND_FRAMES,
    )


CASES = {
    (fork, fmt): f"estimate_{fork}.{'txt' if fmt == 'text' else 'json'}"
    for fork in ("vits", "rvc")
    for fmt in ("text", "json")
}


@pytest.mark.parametrize(("fork", "fmt"), sorted(CASES))
def test_golden(fork: str, fmt: str) -> None:
    est = _estimate(fork)
    output = to_text(est) if fmt == "text" else to_json(est)
    path = GOLDEN / CASES[(fork, fmt)]
    if UPDATE:
        path.write_text(output, encoding="utf-8", newline="\n")
    assert path.exists(), f"{path} missing: run with VITSCFG_UPDATE_GOLDEN=1"
    assert output == path.read_text(encoding="utf-8")


def test_a_voice_conversion_fork_reports_frames_not_text_ids() -> None:
    text = to_text(_estimate("rvc"))
    assert "Worst case per item: 900 content-feature frames (limits)" in text
    assert "text ids" not in text and "381" not in text
    assert "Precision: fp16 (RVC's train.py picks it from the GPU" in text
    worst = json.loads(to_json(_estimate("rvc")))["worst_case"]
    # text_len stays (a JSON contract); its unit says it counts nothing here.
    assert worst["text_unit"] is None and worst["frame_unit"] == "content-feature frames"


def test_a_text_to_speech_fork_reports_both_lengths_and_no_precision_line() -> None:
    text = to_text(_estimate("vits"))
    assert "Worst case per item: 381 text ids, 1000 spectrogram frames (limits)" in text
    assert "Precision:" not in text
    obj = json.loads(to_json(_estimate("vits")))
    assert obj["precision_reason"] is None and obj["worst_case"]["text_unit"] == "text ids"
