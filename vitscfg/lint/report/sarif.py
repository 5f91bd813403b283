"""SARIF 2.1.0 for GitHub code scanning (`github/codeql-action/upload-sarif`).

One run; `tool.driver.rules` carries each rule's summary and full markdown doc,
so the alert page explains the rule without a link. Columns are Unicode code
points (what the loader counts), declared with `columnKind`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import vitscfg
from vitscfg.lint.report._common import (
    hinted_message,
    registry_rules,
    sorted_diagnostics,
    sorted_files,
)

if TYPE_CHECKING:
    from vitscfg.diagnostic import Diagnostic
    from vitscfg.lint.registry import Rule
    from vitscfg.lint.result import CheckResult

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/vitscfg/vitscfg"
SRCROOT = "%SRCROOT%"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def artifact_location(path: str, cwd: Path | None = None) -> dict[str, str]:
    """The artifactLocation of `path`: relative to `%SRCROOT%` when under cwd.

    GitHub resolves relative URIs against the checkout, so a path under the
    working directory is written relative and POSIX; anything else is kept as
    given (it cannot be shown on a diff anyway). Both are percent-encoded, as a
    URI must be (a space in a file name would otherwise be invalid).
    """
    base = Path.cwd() if cwd is None else cwd
    given = Path(path)
    absolute = Path(os.path.normpath(given if given.is_absolute() else base / given))
    try:
        relative = absolute.relative_to(base)
    except ValueError:
        return {"uri": quote(given.as_posix(), safe="/:")}
    return {"uri": quote(PurePosixPath(relative).as_posix(), safe="/"), "uriBaseId": SRCROOT}


def _rule_descriptor(code: str, rule: Rule | None, level: str) -> dict[str, Any]:
    """A reportingDescriptor; codes with no registered rule (e.g. parse errors
    raised by the loader) still get one, so every result has a valid ruleIndex."""
    if rule is None:
        return {"id": code, "defaultConfiguration": {"level": level}}
    descriptor: dict[str, Any] = {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary or rule.name},
    }
    if rule.doc:
        descriptor["fullDescription"] = {"text": rule.doc, "markdown": rule.doc}
        descriptor["help"] = {"text": rule.summary or rule.doc, "markdown": rule.doc}
    descriptor["defaultConfiguration"] = {"level": _LEVEL[rule.severity.value]}
    return descriptor


def _fingerprint(path: str, diag: Diagnostic) -> str:
    """Stable across edits that only move lines: keyed by code, file and pointer."""
    key = "\0".join((diag.code, Path(path).as_posix(), diag.pointer))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def render(
    result: CheckResult,
    *,
    color: bool = False,
    rules: Mapping[str, Rule] | None = None,
) -> str:
    """Render `result` as a SARIF 2.1.0 log (indent=2).

    Every rule is declared, whether it fired or not: `rules` when given, else the
    whole registry. Code scanning closes an alert only when the rule that raised it
    is declared by a later run and reports nothing, so declaring just the codes that
    fired would leave fixed alerts open forever. Codes with no registered rule (if
    the registry cannot be imported) are still declared. `color` is ignored.
    """
    files = sorted_files(result)
    findings = [(file, diag) for file in files for diag in sorted_diagnostics(file)]
    known = dict(rules) if rules is not None else registry_rules()

    codes: list[str] = sorted(known)
    first_level: dict[str, str] = {}
    for _, diag in findings:
        first_level.setdefault(diag.code, _LEVEL[diag.severity.value])
        if diag.code not in codes:
            codes.append(diag.code)
    codes.sort()
    index = {code: i for i, code in enumerate(codes)}
    descriptors = [
        _rule_descriptor(code, known.get(code), first_level.get(code, "warning")) for code in codes
    ]

    results = [
        {
            "ruleId": diag.code,
            "ruleIndex": index[diag.code],
            "level": _LEVEL[diag.severity.value],
            "message": {"text": hinted_message(diag, " Hint: ")},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": artifact_location(file.path),
                        "region": {"startLine": diag.line, "startColumn": diag.column},
                    }
                }
            ],
            "partialFingerprints": {"vitscfgPointer/v1": _fingerprint(file.path, diag)},
        }
        for file, diag in findings
    ]
    log = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "vitscfg",
                        "version": vitscfg.__version__,
                        "informationUri": INFORMATION_URI,
                        "rules": descriptors,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False)
