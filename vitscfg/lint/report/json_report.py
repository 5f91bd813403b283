"""The machine reporter: exactly one JSON object, schema_version 2.

Other tools and CI parse this, so the key set and key order are fixed:
`{"schema_version", "files": [{"path", "dialect", "dialect_score",
"closest_dialect", "dialect_reason", "diagnostics": [...]}], "summary": {"errors",
"warnings", "infos"}}`. A new field means a new schema_version (2 added the
dialect's fit, why it was chosen and, for "unknown", the closest dialect). Named json_report so it does not shadow the stdlib `json`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from vitscfg.lint.report._common import sorted_diagnostics, sorted_files

if TYPE_CHECKING:
    from vitscfg.diagnostic import Diagnostic
    from vitscfg.lint.registry import Rule
    from vitscfg.lint.result import CheckResult

SCHEMA_VERSION = 2


def _diagnostic(diag: Diagnostic) -> dict[str, Any]:
    # Insertion order is the documented key order.
    return {
        "code": diag.code,
        "severity": diag.severity.value,
        "pointer": diag.pointer,
        "line": diag.line,
        "column": diag.column,
        "message": diag.message,
        "hint": diag.hint or None,
        "fixable": diag.fix is not None,
    }


def render(
    result: CheckResult,
    *,
    color: bool = False,
    rules: Mapping[str, Rule] | None = None,
) -> str:
    """Render `result` as one JSON object (indent=2, non-ASCII kept as is).

    `color` and `rules` are accepted for a uniform signature and ignored: a
    parser must get the same bytes on a terminal and in a pipe.
    """
    document = {
        "schema_version": SCHEMA_VERSION,
        "files": [
            {
                "path": file.path,
                "dialect": file.dialect,
                "dialect_score": file.dialect_score,
                "closest_dialect": file.closest_dialect,
                "dialect_reason": file.dialect_reason or None,
                "diagnostics": [_diagnostic(d) for d in sorted_diagnostics(file)],
            }
            for file in sorted_files(result)
        ],
        "summary": {
            "errors": result.errors,
            "warnings": result.warnings,
            "infos": result.infos,
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False)
