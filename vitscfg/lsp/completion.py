"""Completion of keys and enum values for the file's dialect, read from the
compiled schemas (vitscfg/config/compiled/, generated from the pydantic models),
so the editor offers exactly the fields `check` knows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from lsprotocol import types

from vitscfg.config.compiled import load_compiled
from vitscfg.config.dialect import DIALECTS
from vitscfg.lsp.cursor import Cursor
from vitscfg.lsp.hover import SECTIONS

Schema = dict[str, Any]


def _root(dialect: str) -> Schema:
    """The dialect's whole config as one typed-dict schema (sections and the
    top-level keys its tools read)."""
    compiled = load_compiled(dialect)
    if "whole" in compiled.sections:
        return compiled.sections["whole"].core
    fields: dict[str, Any] = {
        name: {"type": "typed-dict-field", "schema": section.core, "required": True}
        for name, section in compiled.sections.items()
    }
    for key in compiled.top_level:
        fields.setdefault(key, {"type": "typed-dict-field", "schema": {}, "required": False})
    return {"type": "typed-dict", "fields": fields}


def _unwrap(schema: Schema) -> Iterator[Schema]:
    """The concrete schemas behind nullable / default / union wrappers."""
    kind = schema.get("type")
    if kind in ("nullable", "default", "typed-dict-field") and isinstance(
        schema.get("schema"), dict
    ):
        yield from _unwrap(schema["schema"])
    elif kind == "union":
        for choice in schema.get("choices", []):
            yield from _unwrap(choice[0] if isinstance(choice, list) else choice)
    else:
        yield schema


def _fields(schema: Schema) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for inner in _unwrap(schema):
        if inner.get("type") == "typed-dict":
            out.update(inner.get("fields", {}))
    return out


def _object_at(dialect: str, path: tuple[str, ...]) -> dict[str, Any]:
    """The fields of the object at `path` (empty when the schema does not say)."""
    try:
        node = _root(dialect)
    except (OSError, KeyError, ValueError):
        return {}
    for token in path:
        field = _fields(node).get(token)
        if field is None:
            return {}
        node = field
    return _fields(node)


def _fields_for(dialect: str | None, path: tuple[str, ...]) -> dict[str, Any]:
    """Known dialect: its schema. Unknown (or not detected yet): every dialect's
    fields merged, so completion still helps in a config of a fork vitscfg lacks."""
    if dialect in DIALECTS:
        return _object_at(dialect, path)
    merged: dict[str, Any] = {}
    for name in DIALECTS:
        for key, field in _object_at(name, path).items():
            merged.setdefault(key, field)
    return merged


def _values(field: Schema) -> list[Any]:
    values: list[Any] = []
    for inner in _unwrap(field):
        kind = inner.get("type")
        if kind == "literal":
            values.extend(inner.get("expected", []))
        elif kind == "bool":
            values.extend([True, False])
        elif kind == "none":
            values.append(None)
    return list(dict.fromkeys(json.dumps(v) for v in values))


def _key_text(name: str, cursor: Cursor, fmt: str) -> str:
    if cursor.quoted:  # the editor usually typed the closing quote already
        return name
    return f"{name}: " if fmt == "yaml" else f'"{name}": '


def completions(
    cursor: Cursor,
    dialect: str | None,
    present: set[str],
    fmt: str,
    edit_range: types.Range,
) -> list[types.CompletionItem]:
    """Keys missing from the object at the cursor, or the allowed values of its key.
    `edit_range` covers the word already typed, which the item replaces."""
    path = tuple(t for t in cursor.path if t)
    if len(path) != len(cursor.path):  # inside a list: no schema help there
        return []
    if cursor.in_key:
        items = []
        for name, field in sorted(_fields_for(dialect, path).items()):
            if name in present and name != cursor.key:
                continue
            required = bool(field.get("required"))
            text = _key_text(name, cursor, fmt)
            section = path[0] if path and path[0] in SECTIONS else None
            items.append(
                types.CompletionItem(
                    label=name,
                    kind=types.CompletionItemKind.Property,
                    detail="required" if required else "optional",
                    sort_text=("0" if required else "1") + name,
                    filter_text=name,
                    text_edit=types.TextEdit(edit_range, text),
                    data={"section": section, "name": name} if section and len(path) == 1 else None,
                )
            )
        return items
    if cursor.key is None:
        return []
    field = _fields_for(dialect, path).get(cursor.key)
    if field is None:
        return []
    items = []
    for value in _values(field):
        text = value[1:-1] if cursor.quoted and value.startswith('"') else value
        items.append(
            types.CompletionItem(
                label=value,
                kind=types.CompletionItemKind.EnumMember,
                filter_text=text,
                text_edit=types.TextEdit(edit_range, text),
            )
        )
    return items
