"""Diagnostics are plain frozen values: loaders and rules return them, only the
CLI turns them into exit codes (errors are values until the edge)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Severity(enum.StrEnum):
    """How bad a finding is, judged by what the fork's trainer really does.

    error: the trainer crashes (at start, in a step, or at random) or the file
    cannot be read; warning: it trains, but silently not as the config says;
    info: advice, or a key that does nothing in this dialect.
    """

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


@dataclass(frozen=True)
class Fix:
    """A safe, unambiguous edit that `check --fix` may apply.

    Either a new value for the JSON value at `pointer` (written as JSON, which is
    also valid YAML for scalars and flow lists), or a raw text `edit`
    (start offset, end offset, replacement) for syntax repairs such as a trailing
    comma or a BOM. Edits are made on the original text, so key order,
    indentation and comments elsewhere are kept.
    """

    description: str
    pointer: str | None = None
    value: object = None
    edit: tuple[int, int, str] | None = None
    strip_bom: bool = False


@dataclass(frozen=True)
class Diagnostic:
    """One finding, located by an RFC 6901 pointer and a 1-based line:column."""

    code: str
    severity: Severity
    message: str
    pointer: str = ""
    hint: str | None = None
    line: int = 1
    column: int = 1
    fix: Fix | None = field(default=None, compare=False)

    def sort_key(self) -> tuple[int, int, str]:
        return (self.line, self.column, self.code)


def escape_pointer_token(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer_of(*tokens: str | int) -> str:
    """Build an RFC 6901 pointer: pointer_of("train", "betas", 0) == "/train/betas/0"."""
    return "".join("/" + escape_pointer_token(t) for t in tokens)


def split_pointer(pointer: str) -> list[str]:
    if not pointer:
        return []
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]
