"""Reporters for `vitscfg check`: one module per output format.

Each renderer is `render(result, *, color=False, rules=None) -> str` and returns
the whole output without a trailing newline (the CLI prints it). Reporters only
render; the exit code is decided by the CLI from the CheckResult.

Nothing heavy is imported here (no rich, no torch): `vitscfg check` start-up
time is a measured bar, so colour is plain ANSI escape codes.
"""

from __future__ import annotations

from vitscfg.lint.report import github, json_report, sarif, text
from vitscfg.lint.report._common import Renderer

REPORTERS: dict[str, Renderer] = {
    "text": text.render,
    "json": json_report.render,
    "sarif": sarif.render,
    "github": github.render,
}

__all__ = ["REPORTERS", "Renderer"]
