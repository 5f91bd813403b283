"""YAML configs (daniilrobnikov/vits2 ships YAML): the same Document shape as JSON.

PyYAML's node graph keeps start/end marks, so spans come for free; values are
built with the safe constructor, exactly what `yaml.safe_load` would return.
"""

from __future__ import annotations

from typing import Any

import yaml

from vitscfg.config.jsonpos import Span
from vitscfg.diagnostic import Diagnostic, Severity, escape_pointer_token

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str) -> tuple[Any, dict[str, Span], list[Diagnostic]]:
    """Raise ValueError(message, (line, column)) when the YAML cannot be parsed."""
    loader = _Loader(text)
    spans: dict[str, Span] = {}
    problems: list[Diagnostic] = []
    try:
        node = loader.get_single_node()
        if node is None:
            return None, spans, problems
        value = _build(loader, node, "", None, spans, problems)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise ValueError(str(exc.problem or exc), where) from None
    except yaml.YAMLError as exc:
        raise ValueError(str(exc), (1, 1)) from None
    finally:
        loader.dispose()
    return value, spans, problems


def _build(
    loader: Any,
    node: Any,
    pointer: str,
    key_node: Any,
    spans: dict[str, Span],
    problems: list[Diagnostic],
) -> Any:
    start, end = node.start_mark, node.end_mark
    key_line = key_node.start_mark.line + 1 if key_node is not None else None
    key_column = key_node.start_mark.column + 1 if key_node is not None else None
    spans[pointer] = Span(
        start.index, end.index, start.line + 1, start.column + 1, key_line, key_column
    )
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_child, value_child in node.value:
            key = loader.construct_object(key_child, deep=True)
            child = pointer + "/" + escape_pointer_token(str(key))
            if key in result:
                problems.append(
                    Diagnostic(
                        "VC002",
                        Severity.WARNING,
                        f"duplicate key {key!r}: the YAML loader silently keeps only this last value",
                        child,
                        "delete one of the two entries",
                        key_child.start_mark.line + 1,
                        key_child.start_mark.column + 1,
                    )
                )
            result[key] = _build(loader, value_child, child, key_child, spans, problems)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(loader, item, f"{pointer}/{i}", None, spans, problems)
            for i, item in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)
