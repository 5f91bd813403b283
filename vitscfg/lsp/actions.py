"""Code actions: the safe fixes of `check --fix`, one per finding (quick fix) and
all at once (source.fixAll.vitscfg), computed by the same `fixed_text`."""

from __future__ import annotations

from collections.abc import Sequence

from lsprotocol import types

from vitscfg.config.load import Document, load_bytes
from vitscfg.diagnostic import Diagnostic
from vitscfg.lint.fix import fixed_text
from vitscfg.lsp.convert import Positions, to_lsp

FIX_ALL = f"{types.CodeActionKind.SourceFixAll.value}.vitscfg"


def _edit(before: str, after: str, positions: Positions, shift: int) -> types.TextEdit:
    """One edit replacing only what differs (the common head and tail stay), so the
    editor keeps the cursor and folds everywhere else."""
    head = 0
    limit = min(len(before), len(after))
    while head < limit and before[head] == after[head]:
        head += 1
    tail = 0
    while tail < limit - head and before[-1 - tail] == after[-1 - tail]:
        tail += 1
    rng = types.Range(
        positions.position(head + shift), positions.position(len(before) - tail + shift)
    )
    return types.TextEdit(rng, after[head : len(after) - tail])


def _edits(
    doc: Document, diagnostics: Sequence[Diagnostic], positions: Positions, shift: int
) -> tuple[list[types.TextEdit], list[str]]:
    after, done = fixed_text(doc, diagnostics)
    edits: list[types.TextEdit] = []
    strip_bom = shift and any(d.fix is not None and d.fix.strip_bom for d in diagnostics)
    if after != doc.text:
        # Never offer a fix that makes the file unparseable (as `check --fix`).
        if not load_bytes(after.encode("utf-8", "surrogatepass"), doc.path).parsed:
            return [], []
        edits.append(_edit(doc.text, after, positions, shift))
    if strip_bom:
        edits.insert(
            0, types.TextEdit(types.Range(positions.position(0), positions.position(1)), "")
        )
    return edits, done if edits else []


def code_actions(
    uri: str,
    doc: Document,
    diagnostics: Sequence[Diagnostic],
    positions: Positions,
    shift: int,
    lines: tuple[int, int],
    only: Sequence[str] | None = None,
) -> list[types.CodeAction]:
    """Quick fixes for the findings on 0-based `lines` (inclusive), then fix-all."""
    fixable = [d for d in diagnostics if d.fix is not None]
    actions: list[types.CodeAction] = []

    def wanted(kind: str) -> bool:
        return not only or any(kind == k or kind.startswith(k + ".") for k in only)

    if wanted(types.CodeActionKind.QuickFix.value):
        for diag in fixable:
            if not lines[0] <= diag.line - 1 <= lines[1]:
                continue
            edits, done = _edits(doc, [diag], positions, shift)
            if not edits:
                continue
            assert diag.fix is not None
            actions.append(
                types.CodeAction(
                    title=f"{diag.code}: {diag.fix.description}",
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[to_lsp(diag, doc, positions, shift)],
                    edit=types.WorkspaceEdit(changes={uri: edits}),
                    is_preferred=True,
                )
            )
    if fixable and wanted(FIX_ALL):
        edits, done = _edits(doc, fixable, positions, shift)
        if edits:
            actions.append(
                types.CodeAction(
                    title=f"vitscfg: apply all safe fixes ({len(done)})",
                    kind=FIX_ALL,
                    edit=types.WorkspaceEdit(changes={uri: edits}),
                )
            )
    return actions
