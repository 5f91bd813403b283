"""The linter on an editor buffer: the same `check_document` as `vitscfg check`,
split in two passes so that typing never waits for the disk.

The fast pass (every rule but the data rules) runs on each change, on the
buffer's text. The data pass (VC3xx: filelists and audio headers, resolved
against the file's folder like `check`) runs off the edit path, in
data.py. Together they report exactly what `check` reports for the saved file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from vitscfg.config.compiled import load_compiled
from vitscfg.config.dialect import DIALECTS, detect_dialect
from vitscfg.config.load import YAML_SUFFIXES, Document, load_bytes
from vitscfg.diagnostic import Diagnostic
from vitscfg.lint.registry import all_rules
from vitscfg.lint.run import CheckOptions, check_document
from vitscfg.settings import Settings, SettingsError, find_pyproject, load_settings

#: Real configs are under 100 kB (the largest piper voice file is ~50 kB); above
#: this the buffer is not checked live, so a huge file cannot stall the editor.
MAX_LIVE_CHARS = 1_000_000
#: Top-level keys that make a JSON/YAML file a config worth linting.
CONFIG_KEYS = frozenset({"train", "data", "model"})


@dataclass(frozen=True)
class Analysis:
    """One fast pass over a buffer. `skipped` says why nothing was checked."""

    doc: Document | None
    diagnostics: tuple[Diagnostic, ...] = ()
    dialect: str | None = None
    skipped: str | None = None
    dialect_reason: str = ""  # why this dialect (check's "dialect: ..." line)


def buffer_format(path: str, language_id: str | None = None) -> str:
    if path.lower().endswith(YAML_SUFFIXES) or language_id == "yaml":
        return "yaml"
    return "json"


@cache
def _field_names() -> frozenset[str]:
    """Every key of a section (or of a whole-file schema) of any dialect. Top-level
    extras ("name", "version") are left out: package.json has them too."""
    names: set[str] = set()
    for dialect in DIALECTS:
        try:
            compiled = load_compiled(dialect)
        except (OSError, ValueError, KeyError):
            continue
        for section in compiled.sections.values():
            names |= section.fields
    return frozenset(names)


def looks_like_config(data: Any) -> bool:
    """A package.json or tsconfig.json opened in the same editor is not a VITS config:
    it gets no findings rather than a screen of 'missing section' errors. A flat
    config (no sections, as some YAML forks write) still counts: two or more of
    its top-level keys are fields vitscfg knows."""
    if not isinstance(data, dict):
        return True  # a broken top level is reported (VC009) like `check` does
    if CONFIG_KEYS & data.keys() or detect_dialect(data) is not None:
        return True
    return len(_field_names() & {k for k in data if isinstance(k, str)}) >= 2


@cache
def _settings(pyproject: Path | None, mtime: float) -> Settings:
    if pyproject is None:
        return Settings()
    return load_settings(pyproject.parent)


def options_for(path: str, *, data: bool) -> tuple[CheckOptions, str | None]:
    """The CheckOptions `vitscfg check` would use from the file's folder
    (`[tool.vitscfg]` of the nearest pyproject.toml), and a problem reading them."""
    pyproject = find_pyproject(Path(path).resolve().parent)
    try:
        mtime = os.stat(pyproject).st_mtime if pyproject else 0.0
        settings = _settings(pyproject, mtime)
    except (OSError, SettingsError) as exc:
        return CheckOptions(check_data=data), str(exc)
    select = settings.select
    if data:
        wanted = data_codes()
        select = tuple(c for c in wanted if not select or any(c.startswith(p) for p in select))
    return (
        CheckOptions(
            dialect=settings.dialect,
            select=select,
            ignore=settings.ignore,
            check_data=data and settings.data,
        ),
        None,
    )


@cache
def data_codes() -> tuple[str, ...]:
    return tuple(code for code, rule_ in all_rules().items() if rule_.needs_data)


def buffer_document(text: str, path: str) -> Document:
    # surrogatepass: a buffer holding lone surrogates (a binary file opened as
    # text) becomes invalid UTF-8, reported as VC001, instead of an exception.
    return load_bytes(text.encode("utf-8", "surrogatepass"), path)


def tree_around(text: str, line: int, path: str) -> Any:
    """The value tree of the buffer without the 0-based `line` being typed (a
    half-written key usually is the only thing that keeps it from parsing), or
    None when it still does not parse."""
    lines = text.splitlines(keepends=True)
    if 0 <= line < len(lines):
        del lines[line]
    doc = buffer_document("".join(lines), path)
    return doc.data if doc.parsed else None


def analyse(text: str, path: str) -> tuple[Analysis, str | None]:
    """The fast pass; the second value is a message for the client's log."""
    if len(text) > MAX_LIVE_CHARS:
        size = len(text.encode("utf-8", "surrogatepass")) / 1e6
        why = (
            f"{size:.1f} MB is too large to check while editing (limit "
            f"{MAX_LIVE_CHARS / 1e6:.0f} MB); run `vitscfg check` on it"
        )
        return Analysis(None, skipped=why), f"{path}: {why}"
    doc = buffer_document(text, path)
    if doc.parsed and not looks_like_config(doc.data):
        why = "not a VITS-family config (no train/data/model section): not checked"
        return Analysis(doc, skipped=why), f"{path}: {why}"
    options, problem = options_for(path, data=False)
    result = check_document(doc, replace(options, check_data=False))
    found = tuple(result.diagnostics)
    return Analysis(doc, found, result.dialect, dialect_reason=result.dialect_reason), problem


def data_diagnostics(doc: Document) -> tuple[Diagnostic, ...]:
    """The data pass alone (slow: reads filelists and audio headers)."""
    options, _ = options_for(doc.path, data=True)
    if not options.check_data or not options.select:
        return ()
    return tuple(check_document(doc, options).diagnostics)


def relocate(diagnostics: tuple[Diagnostic, ...], doc: Document) -> tuple[Diagnostic, ...]:
    """Data findings computed on an earlier text, placed where their keys are now."""
    out = []
    for diag in diagnostics:
        line, column = doc.locate(diag.pointer)
        out.append(replace(diag, line=line, column=column))
    return tuple(out)


def merged(fast: tuple[Diagnostic, ...], data: tuple[Diagnostic, ...]) -> list[Diagnostic]:
    return sorted((*fast, *data), key=Diagnostic.sort_key)
