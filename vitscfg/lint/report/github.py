"""GitHub Actions workflow commands: one `::error|warning|notice` line per finding,
which the runner turns into annotations on the pull request's diff.

The escaping is GitHub's own (actions/toolkit `command.ts`): in the message
`%`, CR and LF; in properties also `:` and `,`, which would otherwise end the
property list or a property early.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from vitscfg.lint.report._common import hinted_message, sorted_diagnostics, sorted_files

if TYPE_CHECKING:
    from vitscfg.lint.registry import Rule
    from vitscfg.lint.result import CheckResult

_COMMAND = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    """Escape a command's message; `%` first, so later escapes are not doubled."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value (file, title): the message escapes plus `:` and `,`."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(
    result: CheckResult,
    *,
    color: bool = False,
    rules: Mapping[str, Rule] | None = None,
) -> str:
    """Render `result` as workflow commands (empty string when nothing was found).

    `color` and `rules` are accepted for a uniform signature and ignored.
    """
    lines = []
    for file in sorted_files(result):
        path = escape_property(file.path)
        for diag in sorted_diagnostics(file):
            title = escape_property(f"vitscfg ({diag.code})")
            message = escape_data(hinted_message(diag, " hint: "))
            lines.append(
                f"::{_COMMAND[diag.severity.value]} file={path},line={diag.line},"
                f"col={diag.column},title={title}::{message}"
            )
    return "\n".join(lines)
