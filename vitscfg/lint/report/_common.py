"""Helpers every reporter shares, so all formats list findings in one order.

Output order is part of the contract (golden files, CI diffs): files by path,
then diagnostics by line, column and code. Sorting here, once, keeps the four
formats in step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vitscfg.diagnostic import Diagnostic
    from vitscfg.lint.registry import Rule
    from vitscfg.lint.result import CheckResult, FileResult

Renderer = Callable[..., str]


def sorted_files(result: CheckResult) -> list[FileResult]:
    """Files by path; the sort is stable, so a path given twice keeps its order."""
    return sorted(result.files, key=lambda f: f.path)


def sorted_diagnostics(file: FileResult) -> list[Diagnostic]:
    """Diagnostics by (line, column, code); ties keep the order the rules produced."""
    return sorted(file.diagnostics, key=lambda d: d.sort_key())


def plural(count: int, word: str) -> str:
    """`1 error`, `2 errors`: every noun the summaries use takes a plain -s."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def hinted_message(diagnostic: Diagnostic, separator: str) -> str:
    """The message with its hint appended, for formats that have one text field."""
    if diagnostic.hint:
        return f"{diagnostic.message}{separator}{diagnostic.hint}"
    return diagnostic.message


def registry_rules() -> dict[str, Rule]:
    """The registered rules, or none if the rules package cannot be imported.

    Reporters only use rules for metadata (SARIF descriptions); a broken or
    half-written rules package must never stop the findings from being printed.
    """
    try:
        from vitscfg.lint.registry import all_rules

        return all_rules()
    except Exception:  # metadata is optional, the findings are not
        return {}
