"""`check --fix` and `--diff` on a whole CheckResult: edit, write atomically,
re-check so that the report shows what is left."""

from __future__ import annotations

import sys

from vitscfg.atomic import atomic_write_text
from vitscfg.config.load import load, load_bytes
from vitscfg.lint.fix import fixed_text, unified_diff
from vitscfg.lint.result import CheckResult
from vitscfg.lint.run import CheckOptions, check_document


def apply_fixes(result: CheckResult, options: CheckOptions, *, write: bool) -> CheckResult:
    """Returns the result after fixing (write=True) or unchanged (diff only).
    Diffs and the list of applied fixes go to stderr so stdout stays parseable."""
    fixed = CheckResult()
    for file in result.files:
        doc = load(file.path)
        after, done = fixed_text(doc, file.diagnostics)
        strip_bom = any(d.fix is not None and d.fix.strip_bom for d in file.diagnostics)
        if not done:
            fixed.files.append(file)
            continue
        if not write:
            sys.stderr.write(
                unified_diff(file.path, doc.text, after)
                or f"{file.path}: remove the byte-order mark\n"
            )
            fixed.files.append(file)
            continue
        bom = "\ufeff" if doc.bom and not strip_bom else ""
        # Never write a fix that makes the file unparseable.
        if not load_bytes((bom + after).encode("utf-8"), file.path).parsed:
            sys.stderr.write(f"{file.path}: fixes not applied (the result would not parse)\n")
            fixed.files.append(file)
            continue
        atomic_write_text(file.path, bom + after)
        for line in done:
            sys.stderr.write(f"{file.path}: fixed {line}\n")
        fixed.files.append(check_document(load(file.path), options))
    return fixed
