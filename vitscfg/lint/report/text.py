"""The human reporter (ruff-like): `path:line:col: CODE [severity] message`,
the source line with a caret under the column, an optional `hint:` line, and
one summary line at the end.

Without colour the output is plain ASCII framing around the user's own text,
stable enough for golden files; colour is plain ANSI codes (not rich) so that
`vitscfg check` starts fast.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING

from vitscfg.lint.report._common import plural, sorted_diagnostics, sorted_files

if TYPE_CHECKING:
    from vitscfg.diagnostic import Diagnostic
    from vitscfg.lint.registry import Rule
    from vitscfg.lint.result import CheckResult, FileResult

_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"
_SEVERITY_COLOR = {"error": "\x1b[31m", "warning": "\x1b[33m", "info": "\x1b[34m"}

# A source line longer than this is shown as a window around the column, so a
# minified one-line config does not flood the terminal.
_MAX_SNIPPET = 100
_CONTEXT_BEFORE = 40

# Control characters, U+0000-U+001F and U+007F-U+009F (newline included): a config key can carry an escape sequence
# into a message, and the header of a diagnostic must stay one greppable line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _visible(text: str, keep_tabs: bool = False) -> str:
    """Show control characters as escapes instead of letting the terminal act on them."""

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        if keep_tabs and char == "\t":
            return char
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char, f"\\x{ord(char):02x}")

    return _CONTROL.sub(escape, text)


class _Style:
    """Wraps text in ANSI codes, or leaves it alone when colour is off."""

    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, *codes: str) -> str:
        if not self.color or not codes:
            return text
        return "".join(codes) + text + _RESET


def _caret_pad(prefix: str) -> str:
    """Blank out `prefix` so a caret after it lands under the next character.

    Tabs are kept (the terminal expands them the same way on both lines) and
    wide East Asian characters count as two cells, so the caret stays aligned
    under CJK text, which several forks' configs contain.
    """
    cells = []
    for char in prefix:
        if char == "\t":
            cells.append("\t")
        elif unicodedata.east_asian_width(char) in ("W", "F"):
            cells.append("  ")
        else:
            cells.append(" ")
    return "".join(cells)


def _snippet(source_line: str, column: int) -> tuple[str, str]:
    """The (possibly windowed) source line and the padding that puts a caret under `column`."""
    index = max(column - 1, 0)
    line = source_line
    lead = ""
    if len(line) > _MAX_SNIPPET:
        start = max(0, min(index - _CONTEXT_BEFORE, len(line) - _MAX_SNIPPET))
        end = start + _MAX_SNIPPET
        lead = "..." if start > 0 else ""
        tail = "..." if end < len(line) else ""
        line = line[start:end]
        index -= start
        line = lead + line + tail
        index += len(lead)
    shown = _visible(line, keep_tabs=True)
    prefix = _visible(line[:index], keep_tabs=True)
    # A column past the end of the line (e.g. "unexpected end of file") still
    # gets its caret, one cell after the last character.
    pad = _caret_pad(prefix) + " " * max(0, index - len(line))
    return shown, pad


def _header(file: FileResult) -> str:
    if file.dialect is None:
        return f"{file.path} (dialect: unknown, could not be parsed)"
    if file.dialect == "unknown":
        closest = (
            f"; closest {file.closest_dialect}, fit {file.dialect_score:.2f}"
            if file.closest_dialect and file.dialect_score is not None
            else ""
        )
        why = f"\n  why: {_visible(file.dialect_reason)}" if file.dialect_reason else ""
        return (
            f"{file.path} (dialect: unknown{closest}): only checks that hold in every fork "
            f"ran; pass --dialect NAME to check it as that fork{why}"
        )
    return f"{file.path} (dialect: {file.dialect})"


def _diagnostic(file: FileResult, diag: Diagnostic, gutter: int, style: _Style) -> list[str]:
    severity = diag.severity.value
    color = _SEVERITY_COLOR[severity]
    location = f"{file.path}:{diag.line}:{diag.column}:"
    lines = [
        f"{style(location, _BOLD)} {style(diag.code, _BOLD)} "
        f"{style('[' + severity + ']', color)} {_visible(diag.message)}"
    ]
    source = file.source_line(diag.line)
    if source.strip():
        shown, pad = _snippet(source, diag.column)
        number = str(diag.line).rjust(gutter)
        blank = " " * gutter
        lines.append(f"  {style(number + ' |', color)} {shown}")
        lines.append(f"  {style(blank + ' |', color)} {pad}{style('^', color, _BOLD)}")
    if diag.hint:
        lines.append(f"  {style('hint:', _BOLD)} {_visible(diag.hint)}")
    return lines


def _summary(result: CheckResult, files: list[FileResult]) -> str:
    if not files:
        return "No files checked."
    dialects = Counter(f.dialect for f in files if f.dialect is not None)
    # Most common first, then by name, so the line is the same on every run.
    parts = [
        name if count == 1 else f"{name} x{count}"
        for name, count in sorted(dialects.items(), key=lambda item: (-item[1], item[0]))
    ]
    unparsed = sum(1 for f in files if f.dialect is None)
    described = "dialects: " + (", ".join(parts) if parts else "none")
    if unparsed:
        described += f"; {unparsed} unparsed"
    where = f"{plural(len(files), 'file')} ({described})."
    counts = [
        plural(n, word)
        for n, word in (
            (result.errors, "error"),
            (result.warnings, "warning"),
            (result.infos, "info"),
        )
        if n
    ]
    if not counts:
        return f"All checks passed: {where}"
    return f"Found {', '.join(counts)} in {where}"


def render(
    result: CheckResult,
    *,
    color: bool = False,
    rules: Mapping[str, Rule] | None = None,
) -> str:
    """Render `result` for a terminal or a log.

    A header `path (dialect: NAME)` opens each file that has findings (clean
    files are only counted in the summary, so a pre-commit run over hundreds of
    configs stays short); the findings follow in line order. `rules` is
    accepted for a uniform signature and not needed here.
    """
    style = _Style(color)
    files = sorted_files(result)
    blocks: list[str] = []
    for file in files:
        diagnostics = sorted_diagnostics(file)
        if not diagnostics:
            if file.dialect == "unknown":  # say so: a clean unknown file was barely checked
                blocks.append(style(_header(file), _BOLD))
            continue
        gutter = len(str(max(d.line for d in diagnostics)))
        # A blank line between findings: each one spans up to four lines.
        findings = ["\n".join(_diagnostic(file, d, gutter, style)) for d in diagnostics]
        blocks.append(style(_header(file), _BOLD) + "\n" + "\n\n".join(findings))
    blocks.append(_summary(result, files))
    return "\n\n".join(blocks)
