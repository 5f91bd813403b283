"""The position-keeping loader: same values as json.loads, every problem a diagnostic."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import shared_configs
from vitscfg.config.load import UnreadableInput, load, load_bytes


@pytest.mark.parametrize(
    "path", [p for p in shared_configs() if p.suffix == ".json"], ids=lambda p: p.name
)
def test_values_equal_json_loads(path):
    doc = load(path)
    assert doc.problems == []
    assert doc.data == json.loads(path.read_text(encoding="utf-8"))


def test_positions_point_at_values():
    text = '{\n  "train": {\n    "batch_size": 16,\n    "betas": [0.8, 0.99]\n  }\n}\n'
    doc = load_bytes(text.encode(), "c.json")
    assert doc.locate("/train/batch_size") == (3, 5)  # the key
    span = doc.spans["/train/betas/1"]
    assert text[span.start : span.end] == "0.99" and (span.line, span.column) == (4, 20)
    assert doc.locate("/train/missing_key") == (2, 3)  # falls back to the section


@pytest.mark.parametrize(
    ("text", "code", "parsed"),
    [
        ('{"a": 1,}', "VC004", True),
        ('{"a": [1, 2,]}', "VC004", True),
        ('{"a": 1 // why\n}', "VC003", True),
        ('{"a": /* x */ 1}', "VC003", True),
        ('{"a": 1, "a": 2}', "VC002", True),
        ('{"a": NaN}', "VC005", True),
        ('{"a": -Infinity}', "VC005", True),
        ('{"a": 1', "VC001", False),
        ("{'a': 1}", "VC001", False),
        ('{"a": 1} {"b": 2}', "VC001", False),
        ("", "VC007", False),
        ("   \n", "VC007", False),
        ("../configs/base.json\n", "VC008", False),
        ("[1, 2]", "VC009", False),
    ],
)
def test_syntax_problems_are_diagnostics(text, code, parsed):
    doc = load_bytes(text.encode(), "c.json")
    assert code in {d.code for d in doc.problems}
    assert doc.parsed is parsed


def test_duplicate_key_keeps_last_like_json():
    doc = load_bytes(b'{"a": 1, "a": 2}', "c.json")
    assert doc.data == {"a": 2} == json.loads('{"a": 1, "a": 2}')
    (dup,) = doc.problems
    assert dup.severity.value == "warning" and dup.pointer == "/a" and "line 1" in dup.message


def test_bom_is_an_error_with_a_fix():
    doc = load_bytes(b'\xef\xbb\xbf{"a": 1}', "c.json")
    (bom,) = doc.problems
    assert bom.code == "VC006" and bom.fix is not None and bom.fix.strip_bom
    assert doc.data == {"a": 1}


def test_invalid_json_position():
    doc = load_bytes(b'{\n  "a": 1\n  "b": 2\n}', "c.json")
    (err,) = doc.problems
    assert (err.code, err.line, err.column) == ("VC001", 3, 3)
    assert "comma" in (err.hint or "")


def test_utf16_and_binary():
    assert load_bytes('{"a": 1}'.encode("utf-16"), "c.json").problems[0].code == "VC001"
    assert load_bytes(b"\x80\x81\xfe", "c.json").problems[0].code == "VC001"


def test_yaml_with_positions():
    doc = load_bytes(b"train:\n  batch_size: 16\n  batch_size: 8\n", "c.yaml")
    assert doc.data == {"train": {"batch_size": 8}}
    assert [d.code for d in doc.problems] == ["VC002"]
    assert doc.locate("/train/batch_size") == (3, 3)
    bad = load_bytes(b"train: [1, 2\n", "c.yaml")
    assert bad.problems[0].code == "VC001" and not bad.parsed


def test_unreadable_paths(tmp_path):
    with pytest.raises(UnreadableInput):
        load(tmp_path)
    with pytest.raises(UnreadableInput):
        load(tmp_path / "missing.json")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_give_a_document_never_an_exception(raw):
    for name in ("c.json", "c.yaml"):
        doc = load_bytes(raw, name)
        assert doc.parsed or doc.problems


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=6), json_values, max_size=5), st.sampled_from([None, 1, 4]))
def test_round_trip_matches_json(value, indent):
    text = json.dumps(value, indent=indent)
    doc = load_bytes(text.encode(), "c.json")
    assert doc.problems == []
    assert doc.data == json.loads(text)
    for pointer, span in doc.spans.items():
        assert json.loads(text[span.start : span.end]) == doc.get(pointer)
