"""RVC's own top-level keys `version` and `if_f0` (config/schema/top.py): documented and
typed in the rvc schema, so `check` neither calls them unknown (VC104) nor lets through a
value RVC's network builder (vitscfg/model/rvc.py) refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import SHARED_CONFIGS
from vitscfg.config.load import load_bytes
from vitscfg.diagnostic import Severity
from vitscfg.lint.run import CheckOptions, check_document

BASE = (
    Path(SHARED_CONFIGS)
    / "RVC-Project__Retrieval-based-Voice-Conversion-WebUI__configs_v1_40k.json"
)


def _check(extra: dict[str, Any]) -> list[Any]:
    config = {**json.loads(BASE.read_text(encoding="utf-8")), **extra}
    doc = load_bytes(json.dumps(config, indent=2).encode("utf-8"), "config.json")
    result = check_document(doc, CheckOptions(check_data=False))
    assert result.dialect == "rvc"
    return [d for d in result.diagnostics if d.pointer in ("/version", "/if_f0")]


@pytest.mark.parametrize(
    "extra",
    [{"version": "v1", "if_f0": 0}, {"version": "v2", "if_f0": 1}, {"if_f0": True}, {}],
)
def test_rvc_variant_keys_are_known(extra: dict[str, Any]) -> None:
    assert _check(extra) == []


@pytest.mark.parametrize(
    ("extra", "pointer", "words"),
    [
        ({"version": "v3"}, "/version", "'v1' or 'v2'"),
        ({"version": 2}, "/version", "'v1' or 'v2'"),
        ({"if_f0": 2}, "/if_f0", "0 or 1"),
        ({"if_f0": "1"}, "/if_f0", "0 or 1"),
    ],
)
def test_a_wrong_variant_value_is_an_error_where_it_stands(
    extra: dict[str, Any], pointer: str, words: str
) -> None:
    (found,) = _check(extra)
    assert (found.code, found.severity, found.pointer) == ("VC101", Severity.ERROR, pointer)
    assert words in found.message and found.line > 1


def test_the_schema_documents_both_keys() -> None:
    from vitscfg.config.schema import whole_config_model

    props = whole_config_model("rvc").model_json_schema()["properties"]
    for key, flag in (("version", "-v"), ("if_f0", "-f0")):
        text = props[key]["description"]
        assert "Why it matters" in text and flag in text
    assert (props["version"]["default"], props["if_f0"]["default"]) == ("v2", 1)


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 3),
    st.floats(-1, 2, allow_nan=False),
    st.sampled_from(["v1", "v2", "v3", "V2", "1", ""]),
)


@pytest.mark.torch
@settings(max_examples=60, deadline=None)
@given(version=_VALUES, if_f0=_VALUES)
def test_check_accepts_exactly_what_the_rvc_builder_accepts(version: Any, if_f0: Any) -> None:
    pytest.importorskip("torch")
    from vitscfg.model.rvc import RvcVariant

    extra = {"version": version, "if_f0": if_f0}
    try:
        RvcVariant.from_config(extra)
        builds = True
    except ValueError:
        builds = False
    errors = [d for d in _check(extra) if d.severity is Severity.ERROR]
    assert builds == (not errors), (extra, errors)
