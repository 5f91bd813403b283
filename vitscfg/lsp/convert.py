"""vitscfg's Diagnostic (1-based line:column in code points, a JSON pointer) to an
LSP Diagnostic (0-based positions in the client's code units, a range).

The start is exactly `check`'s line:column. The range then covers what the
finding is about: `"key": value` when both sit on that line, else the key (or
the value) alone, so an editor underlines the same place `check` points at.
"""

from __future__ import annotations

import bisect
import re

from lsprotocol import types

from vitscfg.config.jsonpos import line_starts
from vitscfg.config.load import Document
from vitscfg.diagnostic import Diagnostic, Severity

SOURCE = "vitscfg"
_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
}
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"?')
_PLAIN = re.compile(r"[^\s:,{}\[\]#]+")


class Positions:
    """Offsets in a text <-> LSP positions in the negotiated encoding."""

    def __init__(self, text: str, encoding: str = "utf-16") -> None:
        self.text = text
        self.starts = line_starts(text)
        self.encoding = encoding

    def _units(self, chunk: str) -> int:
        if self.encoding == "utf-8":
            return len(chunk.encode("utf-8", "surrogatepass"))
        if self.encoding == "utf-32":
            return len(chunk)
        return len(chunk.encode("utf-16-le", "surrogatepass")) // 2

    def line_end(self, line: int) -> int:
        """Offset of the end of 0-based `line`, before its line break."""
        end = self.starts[line + 1] if line + 1 < len(self.starts) else len(self.text)
        while end > self.starts[line] and self.text[end - 1] in "\r\n":
            end -= 1
        return end

    def position(self, offset: int) -> types.Position:
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self.starts, offset) - 1
        return types.Position(line, self._units(self.text[self.starts[line] : offset]))

    def offset(self, position: types.Position) -> int:
        if position.line >= len(self.starts):
            return len(self.text)
        start = self.starts[position.line]
        end = self.line_end(position.line)
        units = 0
        for index in range(start, end):
            if units >= position.character:
                return index
            units += self._units(self.text[index])
        return end


def token_end(text: str, start: int) -> int:
    """End of the key or scalar that begins at `start` (a JSON string or a plain word)."""
    pattern = _STRING if text[start : start + 1] == '"' else _PLAIN
    match = pattern.match(text, start)
    return match.end() if match else start


def diagnostic_span(diag: Diagnostic, doc: Document) -> tuple[int, int]:
    """Start and end offsets in `doc.text` of what `diag` is about."""
    starts = line_starts(doc.text)
    line = max(1, min(diag.line, len(starts)))
    start = min(starts[line - 1] + max(diag.column, 1) - 1, len(doc.text))
    line_end = starts[line] if line < len(starts) else len(doc.text)
    line_end = len(doc.text[start:line_end].rstrip("\r\n")) + start
    span = doc.spans.get(diag.pointer)
    end = token_end(doc.text, start)
    if span is not None:
        if (span.key_line, span.key_column) == (diag.line, diag.column):
            if span.end <= line_end:
                end = span.end
        elif span.start == start:
            end = min(span.end, line_end)
    return start, max(start, min(end, line_end))


def to_lsp(
    diag: Diagnostic, doc: Document | None, positions: Positions, shift: int = 0
) -> types.Diagnostic:
    """`shift`: characters before doc.text in the editor's buffer (a BOM: 1)."""
    if doc is None:
        start = end = 0
    else:
        start, end = diagnostic_span(diag, doc)
    message = diag.message + (f"\nfix: {diag.hint}" if diag.hint else "")
    return types.Diagnostic(
        range=types.Range(positions.position(start + shift), positions.position(end + shift)),
        message=message,
        severity=_SEVERITY[diag.severity],
        code=diag.code,
        source=SOURCE,
        data={"pointer": diag.pointer} if diag.pointer else None,
    )


def bom_shift(text: str) -> int:
    return 1 if text.startswith("\ufeff") else 0
