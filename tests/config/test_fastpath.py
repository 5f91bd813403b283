"""The pure-Python fast path never calls a section valid that pydantic_core rejects."""

from __future__ import annotations

import glob
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import ValidationError

from tests.conftest import REPO
from vitscfg.config.compiled import CompiledSection, load_compiled
from vitscfg.config.dialect import DIALECTS
from vitscfg.config.fastpath import surely_valid
from vitscfg.config.load import load

SECTIONS = [
    (dialect, name, section)
    for dialect in DIALECTS
    for name, section in load_compiled(dialect).sections.items()
]


def _pydantic_accepts(section: CompiledSection, value: Any) -> bool:
    try:
        section.validator.validate_python(value, strict=True)
    except ValidationError:
        return False
    return True


def _real_sections() -> list[Any]:
    out = []
    paths = glob.glob(str(REPO / "tests/fixtures/*_configs/*"))
    for path in sorted(paths):
        if path.endswith(".md"):
            continue
        data = load(path).data
        if isinstance(data, dict):
            for key in ("train", "data", "model"):
                if isinstance(data.get(key), dict):
                    out.append(pytest.param(key, data[key], id=f"{path[-40:]}:{key}"))
    return out


@pytest.mark.parametrize(("key", "value"), _real_sections())
def test_agrees_with_pydantic_on_real_sections(key: str, value: dict[str, Any]) -> None:
    for dialect, name, section in SECTIONS:
        if name == key and surely_valid(section.core, value):
            assert _pydantic_accepts(section, value), (dialect, key)


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 70000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "1", "auto", "auto-4-10", "power-x", "hann_window", "16", "fp16"]),
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3), max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SECTIONS), st.data())
def test_never_more_lenient_than_pydantic(entry: Any, data: st.DataObject) -> None:
    """Start from the reference values of a section, replace a few fields with
    arbitrary values: whenever the fast path says valid, pydantic agrees."""
    _, _, section = entry
    value: dict[str, Any] = dict(section.reference)
    for name in data.draw(st.lists(st.sampled_from(sorted(section.fields)), max_size=4)):
        value[name] = data.draw(VALUES)
    if surely_valid(section.core, value):
        assert _pydantic_accepts(section, value)
