"""A JSON reader that keeps the line and column of every value.

Why not `json.loads`: it forgets positions, stops at the first problem and
silently keeps the last of two duplicate keys. This reader follows the same
grammar (and gives the same values as Python's `json`, which every VITS trainer
uses), but records a span per JSON pointer and turns the usual hand-editing
mistakes (comments, trailing commas, NaN, duplicate keys) into diagnostics while
still producing the tree, so the other rules can run on it.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from typing import Any

from vitscfg.diagnostic import Diagnostic, Fix, Severity, escape_pointer_token


@dataclass(frozen=True)
class Span:
    """Where a value sits in the text: offsets for edits, line:col for people."""

    start: int
    end: int
    line: int
    column: int
    key_line: int | None = None
    key_column: int | None = None


class JsonSyntaxError(Exception):
    def __init__(self, message: str, offset: int, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.hint = hint


_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"')
_NONSTANDARD = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


@dataclass
class _State:
    text: str
    line_starts: list[int]
    spans: dict[str, Span] = field(default_factory=dict)
    problems: list[Diagnostic] = field(default_factory=list)

    def position(self, offset: int) -> tuple[int, int]:
        index = bisect.bisect_right(self.line_starts, offset) - 1
        return index + 1, offset - self.line_starts[index] + 1

    def report(
        self,
        code: str,
        severity: Severity,
        offset: int,
        message: str,
        pointer: str,
        hint: str | None = None,
    ) -> None:
        line, column = self.position(offset)
        self.problems.append(Diagnostic(code, severity, message, pointer, hint, line, column))


def line_starts(text: str) -> list[int]:
    starts = [0]
    starts.extend(m.end() for m in re.finditer(r"\r\n|\r|\n", text))
    return starts


def parse_json(text: str) -> tuple[Any, dict[str, Span], list[Diagnostic]]:
    """Parse `text` (BOM already removed); raise JsonSyntaxError when no tree can be built."""
    state = _State(text, line_starts(text))
    pos = _skip(state, 0, "")
    if pos >= len(text):
        raise JsonSyntaxError("the file holds no JSON value", pos)
    value, pos = _value(state, pos, "", None)
    pos = _skip(state, pos, "")
    if pos < len(text):
        raise JsonSyntaxError(
            f"unexpected text after the end of the JSON document: {text[pos : pos + 20]!r}",
            pos,
            "a config is exactly one JSON object; remove what follows its closing brace",
        )
    return value, state.spans, state.problems


def _skip(state: _State, pos: int, pointer: str) -> int:
    """Skip whitespace and comments; comments are reported (json.loads rejects them)."""
    text = state.text
    while True:
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        if text.startswith("//", pos) or text.startswith("#", pos):
            end = text.find("\n", pos)
            end = len(text) if end < 0 else end
        elif text.startswith("/*", pos):
            end = text.find("*/", pos + 2)
            if end < 0:
                raise JsonSyntaxError("unterminated /* comment", pos)
            end += 2
        else:
            return pos
        state.report(
            "VC003",
            Severity.ERROR,
            pos,
            "comments are not JSON: the trainer's json.loads stops here with a JSONDecodeError",
            pointer,
            'delete the comment, or move the note into a key such as "_comment"',
        )
        pos = end


def _value(state: _State, pos: int, pointer: str, key_pos: int | None) -> tuple[Any, int]:
    text = state.text
    char = text[pos] if pos < len(text) else ""
    start = pos
    value: Any
    if char == "{":
        value, pos = _object(state, pos, pointer)
    elif char == "[":
        value, pos = _array(state, pos, pointer)
    elif char == '"':
        value, pos = _string(state, pos)
    else:
        match = _NUMBER.match(text, pos)
        if match:
            token = match.group(0)
            value = float(token) if match.group(1) or match.group(2) else int(token)
            pos = match.end()
        elif text.startswith("true", pos):
            value, pos = True, pos + 4
        elif text.startswith("false", pos):
            value, pos = False, pos + 5
        elif text.startswith("null", pos):
            value, pos = None, pos + 4
        else:
            for literal, number in _NONSTANDARD.items():
                if text.startswith(literal, pos):
                    state.report(
                        "VC005",
                        Severity.ERROR,
                        pos,
                        f"{literal} is not a JSON number: Python's json accepts it, so the "
                        "trainer would compute with it and produce NaN losses",
                        pointer,
                        "write a finite number",
                    )
                    value, pos = number, pos + len(literal)
                    break
            else:
                if char == "'":
                    raise JsonSyntaxError(
                        "strings must use double quotes in JSON", pos, "replace ' by \""
                    )
                if not char:
                    raise JsonSyntaxError("the document ends where a value was expected", pos)
                raise JsonSyntaxError(f"expected a JSON value, found {char!r}", pos)
    line, column = state.position(start)
    key_line = key_column = None
    if key_pos is not None:
        key_line, key_column = state.position(key_pos)
    state.spans[pointer] = Span(start, pos, line, column, key_line, key_column)
    return value, pos


def _string(state: _State, pos: int) -> tuple[str, int]:
    match = _STRING.match(state.text, pos)
    if not match:
        end = state.text.find("\n", pos)
        raise JsonSyntaxError(
            "unterminated string or invalid escape",
            pos,
            "close the string on the same line; backslashes in Windows paths must be doubled"
            if "\\" in state.text[pos : end if end > 0 else None]
            else None,
        )
    return json.loads(match.group(0)), match.end()


def _object(state: _State, pos: int, pointer: str) -> tuple[dict[str, Any], int]:
    text = state.text
    result: dict[str, Any] = {}
    seen: dict[str, int] = {}
    pos = _skip(state, pos + 1, pointer)
    if pos < len(text) and text[pos] == "}":
        return result, pos + 1
    while True:
        if pos >= len(text):
            raise JsonSyntaxError("the document ends inside an object: a '}' is missing", pos)
        if text[pos] != '"':
            raise JsonSyntaxError(
                f"expected a double-quoted key, found {text[pos]!r}",
                pos,
                'JSON keys are written "key": value',
            )
        key_pos = pos
        key, pos = _string(state, pos)
        child = pointer + "/" + escape_pointer_token(key)
        if key in seen:
            first_line, _ = state.position(seen[key])
            state.report(
                "VC002",
                Severity.WARNING,
                key_pos,
                f"duplicate key {key!r} (first at line {first_line}): the trainer's "
                "json.loads silently keeps only this last value",
                child,
                "delete one of the two entries so the file says what the trainer reads",
            )
        seen[key] = key_pos
        pos = _skip(state, pos, child)
        if pos >= len(text) or text[pos] != ":":
            raise JsonSyntaxError(f"expected ':' after the key {key!r}", pos)
        pos = _skip(state, pos + 1, child)
        result[key], pos = _value(state, pos, child, key_pos)
        pos = _skip(state, pos, pointer)
        if pos < len(text) and text[pos] == ",":
            comma = pos
            pos = _skip(state, pos + 1, pointer)
            if pos < len(text) and text[pos] == "}":
                _trailing_comma(state, comma, pointer)
                return result, pos + 1
            continue
        if pos < len(text) and text[pos] == "}":
            return result, pos + 1
        if pos < len(text) and text[pos] == '"':
            raise JsonSyntaxError("expected ',' between two members", pos, "add a comma")
        raise JsonSyntaxError("expected ',' or '}' after a member", pos)


def _array(state: _State, pos: int, pointer: str) -> tuple[list[Any], int]:
    text = state.text
    result: list[Any] = []
    pos = _skip(state, pos + 1, pointer)
    if pos < len(text) and text[pos] == "]":
        return result, pos + 1
    while True:
        child = f"{pointer}/{len(result)}"
        value, pos = _value(state, pos, child, None)
        result.append(value)
        pos = _skip(state, pos, pointer)
        if pos < len(text) and text[pos] == ",":
            comma = pos
            pos = _skip(state, pos + 1, pointer)
            if pos < len(text) and text[pos] == "]":
                _trailing_comma(state, comma, pointer)
                return result, pos + 1
            continue
        if pos < len(text) and text[pos] == "]":
            return result, pos + 1
        raise JsonSyntaxError("expected ',' or ']' in a list", pos)


def _trailing_comma(state: _State, offset: int, pointer: str) -> None:
    state.report(
        "VC004",
        Severity.ERROR,
        offset,
        "trailing comma: the trainer's json.loads rejects it with a JSONDecodeError",
        pointer,
        "delete the comma before the closing bracket",
    )
    # A safe fix: the comma can go without changing any value.
    last = state.problems[-1]
    state.problems[-1] = Diagnostic(
        last.code,
        last.severity,
        last.message,
        last.pointer,
        last.hint,
        last.line,
        last.column,
        Fix("delete the trailing comma", edit=(offset, offset + 1, "")),
    )
