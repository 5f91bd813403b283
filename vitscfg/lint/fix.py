"""`check --fix` / `--diff`: apply the safe fixes as text edits on the original
file, so key order, indentation and everything else stay as they were."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable

from vitscfg.config.load import Document
from vitscfg.diagnostic import Diagnostic


def fixed_text(doc: Document, diagnostics: Iterable[Diagnostic]) -> tuple[str, list[str]]:
    """The document's text with every applicable fix applied, and what was done."""
    edits: list[tuple[int, int, str]] = []
    done: list[str] = []
    for diag in diagnostics:
        fix = diag.fix
        if fix is None or fix.strip_bom:
            continue
        if fix.edit is not None:
            edits.append(fix.edit)
        elif fix.pointer is not None and fix.pointer in doc.spans:
            span = doc.spans[fix.pointer]
            edits.append((span.start, span.end, json.dumps(fix.value, ensure_ascii=False)))
        else:
            continue
        done.append(f"{diag.code} {fix.pointer or ''}: {fix.description}".replace(" :", ":"))
    text = doc.text
    last_start = len(text) + 1
    # Apply from the end so earlier offsets stay valid; skip overlapping edits.
    for start, end, replacement in sorted(set(edits), reverse=True):
        if end > last_start:
            continue
        text = text[:start] + replacement + text[end:]
        last_start = start
    if any(d.fix is not None and d.fix.strip_bom for d in diagnostics):
        done.append("VC006: remove the byte-order mark")
    return text, done


def unified_diff(path: str, before: str, after: str) -> str:
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"a/{path.lstrip('/')}",
            tofile=f"b/{path.lstrip('/')}",
        )
    )
