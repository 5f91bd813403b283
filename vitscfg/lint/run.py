"""`vitscfg check` as a function: paths in, CheckResult out (no printing, no exit)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vitscfg.config.dialect import UNKNOWN, DialectGuess, detect
from vitscfg.config.load import Document, UnreadableInput, load
from vitscfg.diagnostic import Diagnostic
from vitscfg.lint.registry import Context, all_rules
from vitscfg.lint.result import CheckResult, FileResult


@dataclass(frozen=True)
class CheckOptions:
    dialect: str | None = None  # force a dialect instead of detecting it
    select: tuple[str, ...] = ()  # code prefixes; empty = all
    ignore: tuple[str, ...] = ()
    check_data: bool = True
    search_dirs: tuple[Path, ...] = field(default_factory=tuple)

    def wants(self, code: str) -> bool:
        if self.select and not any(code.startswith(p) for p in self.select):
            return False
        return not any(code.startswith(p) for p in self.ignore)


def check_document(doc: Document, options: CheckOptions) -> FileResult:
    """Run every applicable rule on a loaded document."""
    guess = detect(doc.data) if doc.parsed else DialectGuess(UNKNOWN, "", 0.0)
    dialect = options.dialect or guess.name
    reason = "set with --dialect" if options.dialect else guess.reason
    diagnostics = [d for d in doc.problems if options.wants(d.code)]
    if doc.parsed:
        dirs = [Path(doc.path).resolve().parent, *options.search_dirs, Path(os.getcwd())]
        ctx = Context(doc, dialect, options.check_data, dirs)
        for code, rule_ in all_rules().items():
            if not options.wants(code) or not rule_.applies_to(ctx.dialect):
                continue
            if rule_.needs_data and not options.check_data:
                continue
            for finding in rule_.func(ctx):
                line, column = doc.locate(finding.pointer)
                diagnostics.append(
                    Diagnostic(
                        code,
                        finding.severity or rule_.severity,
                        finding.message,
                        finding.pointer,
                        finding.hint,
                        line,
                        column,
                        finding.fix,
                    )
                )
    diagnostics.sort(key=Diagnostic.sort_key)
    return FileResult(
        doc.path,
        dialect if doc.parsed else None,
        diagnostics,
        doc.text,
        reason,
        None if options.dialect or not doc.parsed else guess.score,
        guess.closest if not options.dialect else None,
    )


CONFIG_SUFFIXES = (".json", ".yaml", ".yml")
#: Folders a folder argument never descends into (environments, caches, VCS metadata).
SKIP_DIRS = frozenset({"node_modules", "__pycache__", "site-packages"})


def expand_paths(
    paths: Iterable[str | os.PathLike[str]], unreadable: list[str]
) -> list[str | os.PathLike[str]]:
    """Files stay; a folder becomes its config files (JSON/YAML, recursively, sorted,
    hidden folders skipped), as `ruff check DIR` does. A folder without any is recorded
    in ``unreadable`` (a usage error), so a mistyped folder is never a silent pass."""
    out: list[str | os.PathLike[str]] = []
    for path in paths:
        if not os.path.isdir(path):
            out.append(path)
            continue
        found = []
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS)
            found += [os.path.join(root, f) for f in files if f.endswith(CONFIG_SUFFIXES)]
        if not found:
            unreadable.append(f"{path}: no config files (*.json, *.yaml, *.yml) in this folder")
        out.extend(sorted(found))
    return out


def check_paths(
    paths: Iterable[str | os.PathLike[str]],
    options: CheckOptions,
    unreadable: list[str] | None = None,
) -> CheckResult:
    """Check each file. An unreadable path raises UnreadableInput (exit 2 in the CLI), or,
    when `unreadable` is given, is recorded there and the other files are still checked."""
    result = CheckResult()
    for path in paths:
        try:
            doc = load(path)
        except UnreadableInput as exc:
            if unreadable is None:
                raise
            unreadable.append(str(exc))
            continue
        result.files.append(check_document(doc, options))
    return result


def parse_codes(values: Sequence[str] | None) -> tuple[str, ...]:
    """`--select VC1,VC201 --select VC3` -> ("VC1", "VC201", "VC3")."""
    codes: list[str] = []
    for value in values or ():
        codes.extend(c.strip().upper() for c in value.split(",") if c.strip())
    return tuple(codes)
