"""Where the cursor is in a config being typed: which object, key or value.

Why not the parsed Document: while someone types, the text is mostly not valid
JSON (a half-written key, a missing comma), yet completion and hover must still
work. So this scans the text up to the cursor with a forgiving tokenizer (JSON)
or by indentation (YAML) and never fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Cursor:
    """path: the keys of the object the cursor is in ("train"), outermost first.
    key: the key being typed (in_key) or whose value is being typed (not in_key).
    prefix: what is typed of the current word so far; start: where it begins
    (an offset into the text), so a completion can replace it.
    quoted: the word is inside a string whose opening quote is already typed."""

    path: tuple[str, ...]
    in_key: bool
    key: str | None
    prefix: str
    start: int
    quoted: bool


_WORD = re.compile(r"[A-Za-z0-9_.+\-]*$")


def _read_string(text: str, i: int, end: int) -> tuple[str, int, bool]:
    """The string starting at text[i] == '"', up to `end`: (content, next index, closed)."""
    j = i + 1
    out: list[str] = []
    while j < end:
        ch = text[j]
        if ch == "\\" and j + 1 < end:
            out.append(text[j + 1])
            j += 2
            continue
        if ch == '"':
            return "".join(out), j + 1, True
        out.append(ch)
        j += 1
    return "".join(out), j, False


def json_cursor(text: str, offset: int) -> Cursor:
    """Scan text[:offset] keeping a stack of open containers and the last key."""
    offset = max(0, min(offset, len(text)))
    # Each frame: (is_object, key that opened it); expecting_key per frame.
    stack: list[tuple[bool, str | None]] = []
    expecting_key: list[bool] = []
    last_key: str | None = None
    i = 0
    while i < offset:
        ch = text[i]
        if ch == '"':
            content, j, closed = _read_string(text, i, offset)
            if not closed:  # the cursor is inside this string
                in_key = bool(stack) and stack[-1][0] and expecting_key[-1]
                return Cursor(
                    _path(stack),
                    in_key,
                    content if in_key else last_key,
                    content,
                    i + 1,
                    True,
                )
            if stack and stack[-1][0] and expecting_key[-1]:
                last_key = content
            i = j
            continue
        if ch == "/" and text.startswith("//", i):  # a comment: skip to the line end
            nl = text.find("\n", i, offset)
            i = offset if nl < 0 else nl
            continue
        if ch in "{[":
            opener = last_key if stack and stack[-1][0] else None
            stack.append((ch == "{", opener))
            expecting_key.append(ch == "{")
            last_key = None
        elif ch in "}]":
            if stack:
                stack.pop()
                expecting_key.pop()
            last_key = None
        elif ch == ":" and stack and stack[-1][0]:
            expecting_key[-1] = False
        elif ch == "," and stack:
            expecting_key[-1] = stack[-1][0]
            if stack[-1][0]:
                last_key = None
        i += 1
    word = _WORD.search(text, 0, offset)
    prefix = word.group(0) if word else ""
    in_key = bool(stack) and stack[-1][0] and expecting_key[-1]
    return Cursor(
        _path(stack), in_key, None if in_key else last_key, prefix, offset - len(prefix), False
    )


def _path(stack: list[tuple[bool, str | None]]) -> tuple[str, ...]:
    # The outermost frame is the document itself; its opener is always None.
    return tuple(key or "" for _, key in stack[1:])


_YAML_KEY = re.compile(r"^(\s*)(?:-\s+)?([^\s#:][^:#]*?)\s*:(\s|$)")


def yaml_cursor(text: str, offset: int) -> Cursor:
    """Block-style YAML: the path is the chain of less-indented `key:` lines above."""
    offset = max(0, min(offset, len(text)))
    line_start = text.rfind("\n", 0, offset) + 1
    line = text[line_start:offset]
    indent = len(line) - len(line.lstrip(" "))
    path: list[str] = []
    limit = indent
    for above in reversed(text[:line_start].splitlines()):
        match = _YAML_KEY.match(above)
        if match is None or not above.strip() or above.lstrip().startswith("#"):
            continue
        level = len(match.group(1))
        if level < limit:
            path.insert(0, match.group(2).strip("'\""))
            limit = level
            if level == 0:
                break
    colon = line.find(":")
    if colon < 0:
        word = line.strip().lstrip("- ")
        return Cursor(tuple(path), True, word, word, offset - len(word), False)
    key = line[:colon].strip().strip("'\"")
    value = line[colon + 1 :].lstrip()
    quoted = value[:1] in ("'", '"')
    prefix = value[1:] if quoted else value
    return Cursor(tuple(path), False, key, prefix, offset - len(prefix), quoted)


def cursor_at(text: str, offset: int, fmt: str) -> Cursor:
    return yaml_cursor(text, offset) if fmt == "yaml" else json_cursor(text, offset)


def hover_cursor(text: str, offset: int, fmt: str) -> Cursor:
    """The cursor as if it stood at the end of the key or value under `offset`, so
    the whole key is read, not the part left of the cursor."""
    if fmt == "yaml":
        line_end = text.find("\n", offset)
        return yaml_cursor(text, len(text) if line_end < 0 else line_end)
    if text[offset : offset + 1] == '"':  # on the opening quote of a key
        offset += 1
    cursor = json_cursor(text, offset)
    if cursor.quoted:
        close = text.find('"', offset)
        if close >= 0:
            return json_cursor(text, close)
    return cursor
