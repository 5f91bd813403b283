"""The compiled (pydantic-core) schemas used by `check` must judge every config
exactly as the pydantic models they are generated from."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.conftest import shared_configs
from vitscfg.config.compiled import load_compiled
from vitscfg.config.dialect import DIALECTS, detect_dialect
from vitscfg.config.schema import SECTIONS, schema_for

# A nested model (piper's `audio`) is a typed dict once compiled: same check, and
# both names map to VC101 (wrong type).
_SAME = {"model_type": "dict_type", "model_attributes_type": "dict_type"}


def _errors_pydantic(model, value):
    try:
        model.model_validate(value)
    except ValidationError as exc:
        return sorted((_SAME.get(e["type"], e["type"]), e["loc"]) for e in exc.errors())
    return []


def _errors_compiled(section, value):
    from pydantic_core import ValidationError as CoreError

    try:
        section.validator.validate_python(value, strict=True)
    except CoreError as exc:
        return sorted((e["type"], e["loc"]) for e in exc.errors())
    return []


def _pairs(dialect):
    schema = schema_for(dialect)
    compiled = load_compiled(dialect)
    if schema.whole is not None:
        return [("", schema.whole, compiled.sections["whole"])]
    return [
        (name, schema.section(name), compiled.sections[name])
        for name in SECTIONS
        if schema.section(name) is not None
    ]


@pytest.mark.parametrize("path", shared_configs(), ids=lambda p: p.name)
def test_same_verdict_on_real_configs(path):
    config = json.loads(path.read_text(encoding="utf-8"))
    for name, model, section in _pairs(detect_dialect(config).name):
        value = config if not name else config[name]
        assert _errors_compiled(section, value) == _errors_pydantic(model, value) == []


scalars = (
    st.none()
    | st.booleans()
    | st.integers(-5, 70000)
    | st.floats(-2, 2)
    | st.text(max_size=5)
    | st.lists(st.floats(-1, 2), max_size=3)
)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(DIALECTS), st.data())
def test_same_errors_on_mutated_sections(dialect, data):
    for _name, model, section in _pairs(dialect):
        fields = sorted(model.model_fields)
        value = {
            key: data.draw(scalars)
            for key in data.draw(st.lists(st.sampled_from(fields), max_size=6, unique=True))
        }
        assert _errors_compiled(section, value) == _errors_pydantic(model, value)
