"""A pure-Python answer to "is this section valid?" for the compiled schemas.

Why: importing pydantic_core costs ~80 ms per `vitscfg check` process (a third of
its run), and most files checked in pre-commit are valid. This module understands
the few core-schema constructs the compiled schemas use (config/compiled.py) and
answers True only when it is sure pydantic_core would accept the value in strict
mode; on anything else (an error, a construct it does not know, a NaN) it answers
False and the caller asks pydantic_core, which words the errors. So it can make
`check` faster but never change what it reports (tests/config/test_fastpath.py
compares both on generated values).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from typing import Any

_BOUNDS: tuple[tuple[str, Callable[[Any, Any], bool]], ...] = (
    ("gt", operator.gt),
    ("ge", operator.ge),
    ("lt", operator.lt),
    ("le", operator.le),
)


def _bounded(value: float, schema: dict[str, Any]) -> bool:
    if isinstance(value, float) and not math.isfinite(value):
        return False  # pydantic's wording for inf/nan is its own: let it decide
    return all(check(value, schema[name]) for name, check in _BOUNDS if name in schema)


def _length(value: Any, schema: dict[str, Any]) -> bool:
    low, high = schema.get("min_length"), schema.get("max_length")
    return (low is None or len(value) >= low) and (high is None or len(value) <= high)


def surely_valid(schema: Any, value: Any) -> bool:
    """True only if pydantic_core (strict) certainly accepts `value` for `schema`."""
    if not isinstance(schema, dict):
        return False
    kind = schema.get("type")
    if kind == "typed-dict":
        if not isinstance(value, dict) or schema.get("extra_behavior") != "allow":
            return False
        for name, field in schema["fields"].items():
            if name in value:
                if not surely_valid(field.get("schema"), value[name]):
                    return False
            elif field.get("required", True):
                return False
        return True
    if kind == "int":
        return type(value) is int and _bounded(value, schema)
    if kind == "float":
        return type(value) in (int, float) and _bounded(value, schema)
    if kind == "bool":
        return type(value) is bool
    if kind == "str":
        if type(value) is not str:
            return False
        pattern = schema.get("pattern")
        return pattern is None or re.search(pattern, value) is not None
    if kind == "nullable":
        return value is None or surely_valid(schema.get("schema"), value)
    if kind == "any":
        return True
    if kind == "list":
        items = schema.get("items_schema", {"type": "any"})
        return (
            type(value) is list
            and _length(value, schema)
            and all(surely_valid(items, v) for v in value)
        )
    if kind == "dict":
        keys = schema.get("keys_schema", {"type": "any"})
        values = schema.get("values_schema", {"type": "any"})
        return (
            type(value) is dict
            and _length(value, schema)
            and all(surely_valid(keys, k) and surely_valid(values, v) for k, v in value.items())
        )
    if kind == "literal":
        return any(type(value) is type(e) and value == e for e in schema.get("expected", ()))
    if kind == "union":
        choices = [c[0] if isinstance(c, list) else c for c in schema.get("choices", ())]
        return any(surely_valid(choice, value) for choice in choices)
    return False
