"""What one `check` run found: per file, the dialect and the diagnostics.

Reporters only render these values; the CLI alone turns them into an exit code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vitscfg.diagnostic import Diagnostic, Severity


@dataclass
class FileResult:
    path: str
    dialect: str | None  # None when the file could not be parsed; "unknown": no dialect fits
    diagnostics: list[Diagnostic] = field(default_factory=list)
    source: str = ""  # the file's text, so the text reporter can quote lines
    dialect_reason: str = ""
    dialect_score: float | None = None  # how well the keys fit (None: set with --dialect)
    closest_dialect: str | None = None  # for "unknown": the dialect that fits best

    def count(self, severity: Severity) -> int:
        return sum(1 for d in self.diagnostics if d.severity is severity)

    def source_line(self, line: int) -> str:
        lines = self.source.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""


@dataclass
class CheckResult:
    files: list[FileResult] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(f.count(Severity.ERROR) for f in self.files)

    @property
    def warnings(self) -> int:
        return sum(f.count(Severity.WARNING) for f in self.files)

    @property
    def infos(self) -> int:
        return sum(f.count(Severity.INFO) for f in self.files)

    def exit_code(self, strict: bool = False) -> int:
        """0: no errors (and no warnings with --strict); 1: findings that fail the run."""
        if self.errors or (strict and self.warnings):
            return 1
        return 0
