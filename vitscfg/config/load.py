"""Read a config file into a `Document`: the value tree, a span per JSON pointer,
and the problems found on the way (as diagnostics, never as exceptions).

Only an unreadable path (missing, a directory, no permission) raises
`UnreadableInput`: that is a usage error (exit 2), not a finding about a config.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vitscfg.config.jsonpos import JsonSyntaxError, Span, line_starts, parse_json
from vitscfg.diagnostic import Diagnostic, Fix, Severity, split_pointer

YAML_SUFFIXES = (".yaml", ".yml")


class UnreadableInput(Exception):
    """The path cannot be read as a file at all (exit code 2)."""


@dataclass
class Document:
    path: str
    text: str
    format: str  # "json" | "yaml"
    data: Any = None
    spans: dict[str, Span] = field(default_factory=dict)
    problems: list[Diagnostic] = field(default_factory=list)
    bom: bool = False

    @property
    def parsed(self) -> bool:
        return isinstance(self.data, dict)

    def get(self, pointer: str, default: Any = None) -> Any:
        node = self.data
        for token in split_pointer(pointer):
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                return default
        return node

    def locate(self, pointer: str) -> tuple[int, int]:
        """Line and column of the value at `pointer`, or of its nearest existing parent
        (a missing key is reported where its section starts)."""
        tokens = split_pointer(pointer)
        while True:
            key = "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens)
            span = self.spans.get(key)
            if span is not None:
                if span.key_line is not None and span.key_column is not None:
                    return span.key_line, span.key_column
                return span.line, span.column
            if not tokens:
                return 1, 1
            tokens.pop()


def load(path: str | os.PathLike[str]) -> Document:
    """Load a JSON or YAML config; every problem becomes a diagnostic on the Document."""
    p = Path(path)
    if p.is_dir():
        raise UnreadableInput(f"{p}: is a directory, not a config file")
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise UnreadableInput(f"{p}: no such file") from None
    except OSError as exc:
        raise UnreadableInput(f"{p}: cannot be read ({exc.strerror or exc})") from None
    return load_bytes(raw, str(p))


def load_bytes(raw: bytes, path: str = "<config>") -> Document:
    fmt = "yaml" if path.lower().endswith(YAML_SUFFIXES) else "json"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _fail(
            path,
            "",
            fmt,
            "VC001",
            "the file is UTF-16 encoded; trainers read UTF-8",
            "re-save the file as UTF-8 (without BOM)",
        )
    bom = raw.startswith(b"\xef\xbb\xbf")
    try:
        text = raw.decode("utf-8-sig" if bom else "utf-8")
    except UnicodeDecodeError as exc:
        return _fail(
            path,
            "",
            fmt,
            "VC001",
            f"the file is not valid UTF-8 (byte {exc.start}): trainers open configs as UTF-8",
            "re-save the file as UTF-8",
        )
    doc = Document(path, text, fmt, bom=bom)
    if bom:
        doc.problems.append(
            Diagnostic(
                "VC006",
                Severity.ERROR,
                "the file starts with a UTF-8 byte-order mark: json.loads in the reference "
                "trainers rejects it ('Unexpected UTF-8 BOM')",
                "",
                "re-save without BOM (vitscfg check --fix removes it)",
                1,
                1,
                Fix("remove the byte-order mark", strip_bom=True),
            )
        )
    if not text.strip():
        doc.problems.append(
            Diagnostic(
                "VC007",
                Severity.ERROR,
                "the file is empty: there is no config to train from",
                "",
                "start from examples/ljs_base.json or your fork's configs/ folder",
                1,
                1,
            )
        )
        return doc
    placeholder = _placeholder(text)
    if placeholder:
        doc.problems.append(
            Diagnostic(
                "VC008",
                Severity.ERROR,
                f"the file holds only the line {placeholder!r}, not a config: it looks like a "
                "path left where the JSON should be (a git symlink checked out as text, or a template slot)",
                "",
                f"replace the file by the config it names ({placeholder}), or copy your fork's config here",
                1,
                1,
            )
        )
        return doc
    if fmt == "yaml":
        from vitscfg.config.yamlpos import parse_yaml

        try:
            doc.data, doc.spans, problems = parse_yaml(text)
        except ValueError as exc:
            line, column = exc.args[1] if len(exc.args) > 1 else (1, 1)
            doc.problems.append(
                Diagnostic(
                    "VC001",
                    Severity.ERROR,
                    f"invalid YAML: {exc.args[0]}",
                    "",
                    "fix the YAML syntax at this position",
                    line,
                    column,
                )
            )
            return doc
        doc.problems.extend(problems)
    else:
        try:
            doc.data, doc.spans, problems = parse_json(text)
        except JsonSyntaxError as exc:
            starts = line_starts(text)
            line = max(i for i, s in enumerate(starts) if s <= exc.offset) + 1
            doc.problems.append(
                Diagnostic(
                    "VC001",
                    Severity.ERROR,
                    f"invalid JSON: {exc.message}",
                    "",
                    exc.hint or "fix the JSON syntax at this position",
                    line,
                    exc.offset - starts[line - 1] + 1,
                )
            )
            return doc
        doc.problems.extend(problems)
    if not isinstance(doc.data, dict):
        kind = type(doc.data).__name__ if doc.data is not None else "null"
        doc.problems.append(
            Diagnostic(
                "VC009",
                Severity.ERROR,
                f"the top level is a {kind}, but a VITS config is an object with train/data/model sections",
                "",
                'wrap the settings in {"train": {...}, "data": {...}, "model": {...}}',
                1,
                1,
            )
        )
        doc.data = None
    return doc


_PATHLIKE = re.compile(r"^[\w.~\-/\\:@+ ]+$")


def _placeholder(text: str) -> str | None:
    stripped = text.strip()
    if "\n" in stripped or stripped[:1] in '{["' or len(stripped) > 300:
        return None
    looks_like_path = (
        "/" in stripped or "\\" in stripped or stripped.endswith((".json", ".yaml", ".yml"))
    )
    return stripped if looks_like_path and _PATHLIKE.match(stripped) else None


def _fail(path: str, text: str, fmt: str, code: str, message: str, hint: str) -> Document:
    doc = Document(path, text, fmt)
    doc.problems.append(Diagnostic(code, Severity.ERROR, message, "", hint, 1, 1))
    return doc
