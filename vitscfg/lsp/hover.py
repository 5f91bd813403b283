"""Hover on a key: the field's documentation, the same text as
`vitscfg explain SECTION.FIELD` (English or French)."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from lsprotocol import types

from vitscfg.lsp.cursor import Cursor

if TYPE_CHECKING:
    from vitscfg.explain import FieldDoc

SECTIONS = ("train", "data", "model")


@cache
def _docs() -> dict[tuple[str, str], FieldDoc]:
    # Building the docs imports pydantic and walks every schema (~0.3 s): once
    # per server, ahead of the first hover (see server.py's warm-up), off the
    # start-up path.
    from vitscfg.explain import field_docs

    return field_docs()


def warm_up() -> None:
    _docs()


def field_of(cursor: Cursor) -> tuple[str, str] | None:
    """(section, field) the cursor is on: a key of a section, or inside its value."""
    tokens = [t for t in (*cursor.path, cursor.key or "") if t]
    if len(tokens) >= 2 and tokens[0] in SECTIONS:
        return tokens[0], tokens[1]
    return None


@cache
def field_markdown(section: str, name: str, lang: str) -> str | None:
    from vitscfg.explain import render_field

    doc = _docs().get((section, name))
    return render_field(doc, lang) if doc is not None else None


def hover(cursor: Cursor, lang: str) -> types.Hover | None:
    where = field_of(cursor)
    if where is None:
        return None
    text = field_markdown(*where, lang)
    if text is None:
        return None
    return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, text))


def dialect_hover(cursor: Cursor, dialect: str | None, reason: str) -> types.Hover | None:
    """On a section key (`"train"`): how vitscfg reads the file, as `check` says it."""
    if cursor.path or cursor.key not in SECTIONS or not dialect:
        return None
    text = f"vitscfg reads this file as **{dialect}**" + (f": {reason}" if reason else "")
    return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, text))
