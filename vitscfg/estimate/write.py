"""`estimate --write`: put the recommendation into the config, as `check --fix` edits.

The new ``train.batch_size`` / ``train.segment_size`` are fixes at JSON pointers, applied
by `vitscfg.lint.fix.fixed_text` on the original text (key order, indentation, comments
and everything else kept, JSON or YAML), written atomically, then the written file is
checked again and the verdict said: a recommendation must not leave a config that
`vitscfg check` (and so `train`) refuses.
"""

from __future__ import annotations

from typing import TextIO

from vitscfg.diagnostic import Diagnostic, Fix, Severity


def _fix(pointer: str, value: int) -> Diagnostic:
    what = f"{pointer.rsplit('/', 1)[-1]} {value} (the estimate's recommendation)"
    return Diagnostic("estimate", Severity.INFO, what, pointer, fix=Fix(what, pointer, value))


def write_recommendation(
    path: str, batch_size: int, segment_size: int, stream: TextIO, *, check_data: bool
) -> int:
    """Edit, show the diff, write, re-check; the exit code (0 written or already so, 1
    not written or the written file fails `check`). Messages go to ``stream``."""
    from vitscfg.atomic import atomic_write_text
    from vitscfg.config.load import load, load_bytes
    from vitscfg.lint.fix import fixed_text, unified_diff
    from vitscfg.lint.run import CheckOptions, check_document

    doc = load(path)
    fixes = [_fix("/train/batch_size", batch_size), _fix("/train/segment_size", segment_size)]
    if any(d.pointer not in doc.spans for d in fixes):
        stream.write(
            "vitscfg estimate: --write: train.batch_size / train.segment_size not found; "
            "not written\n"
        )
        return 1
    after, _ = fixed_text(doc, fixes)
    if after == doc.text:
        stream.write("--write: the config already uses the recommendation\n")
        return 0
    bom = "\ufeff" if doc.bom else ""
    if not load_bytes((bom + after).encode("utf-8"), path).parsed:  # never write a broken file
        stream.write(f"vitscfg estimate: --write: {path} would not parse; not written\n")
        return 1
    stream.write(unified_diff(path, doc.text, after))
    atomic_write_text(path, bom + after)
    stream.write(f"wrote {path}\n")
    result = check_document(load(path), CheckOptions(check_data=check_data))
    if result.count(Severity.ERROR):
        stream.write(
            f"re-checked {path}: {result.count(Severity.ERROR)} error(s); "
            f"run `vitscfg check {path}`\n"
        )
        return 1
    warnings = result.count(Severity.WARNING)
    stream.write(
        f"re-checked {path}: no errors"
        + (f", {warnings} warning(s) (`vitscfg check {path}`)" if warnings else "")
        + "\n"
    )
    return 0
