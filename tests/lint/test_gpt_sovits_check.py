"""`check` on GPT-SoVITS stage-2 values its model cannot build: the version and the semantic
frame rate are closed sets, named with their exact case in the message (VC101)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vitscfg.diagnostic import Severity
from vitscfg.lint.run import CheckOptions, check_paths

S2 = (
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "unseen_configs"
    / "RVC-Boss__GPT-SoVITS__GPT_SoVITS_configs_s2.json"
)


def _errors(tmp_path: Path, **model: object) -> list[str]:
    config = json.loads(S2.read_text())
    config["model"].update(model)
    path = tmp_path / "s2.json"
    path.write_text(json.dumps(config, indent=2))
    (result,) = check_paths([path], CheckOptions(check_data=False)).files
    return [f"{f.code} {f.message}" for f in result.diagnostics if f.severity is Severity.ERROR]


@pytest.mark.parametrize("version", ["v1", "v2", "v2Pro", "v2ProPlus"])
def test_the_versions_s2_trains_pass(tmp_path: Path, version: str) -> None:
    assert _errors(tmp_path, version=version) == []


def test_an_unknown_version_is_an_error_with_the_exact_choices(tmp_path: Path) -> None:
    (error,) = _errors(tmp_path, version="v5")
    assert error.startswith('VC101 `model.version` is "v5"')
    assert "'v2Pro', 'v2ProPlus'" in error  # case kept: the values are case-sensitive


def test_an_unknown_semantic_frame_rate_is_an_error(tmp_path: Path) -> None:
    (error,) = _errors(tmp_path, semantic_frame_rate="12hz")
    assert "model.semantic_frame_rate" in error and "'25hz' or '50hz'" in error


def test_a_missing_semantic_frame_rate_is_an_error(tmp_path: Path) -> None:
    # The fork's model asserts one of the two rates: there is no default to fall back on.
    config = json.loads(S2.read_text())
    del config["model"]["semantic_frame_rate"]
    path = tmp_path / "s2.json"
    path.write_text(json.dumps(config, indent=2))
    (result,) = check_paths([path], CheckOptions(check_data=False)).files
    errors = [d for d in result.diagnostics if d.severity is Severity.ERROR]
    assert [(d.code, d.pointer) for d in errors] == [("VC103", "/model/semantic_frame_rate")]
