"""Reporters for `vitscfg check`: one module per output format.

Each renderer is `render(result, *, color=False, rules=None) -> str` and returns
the whole output without a trailing newline (the CLI prints it). Reporters only
render; the exit code is decided by the CLI from the CheckResult.

`vitscfg check` start-up time is a measured bar, so nothing heavy is imported
(no rich, no torch; colour is plain ANSI codes), and each format's module is
imported only when that format is used: the text path never pays for SARIF's
hashlib (OpenSSL) import.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

from vitscfg.lint.report._common import Renderer

if TYPE_CHECKING:
    from vitscfg.lint.registry import Rule
    from vitscfg.lint.result import CheckResult

_MODULES = {"text": "text", "json": "json_report", "sarif": "sarif", "github": "github"}


def _lazy(fmt: str) -> Renderer:
    """A renderer that imports its format's module on first call."""
    module_name = f"{__name__}.{_MODULES[fmt]}"

    def render(
        result: CheckResult,
        *,
        color: bool = False,
        rules: Mapping[str, Rule] | None = None,
    ) -> str:
        module = importlib.import_module(module_name)
        output: str = module.render(result, color=color, rules=rules)
        return output

    render.__name__ = f"render_{fmt}"
    render.__doc__ = f"Render a CheckResult as {fmt} (see {module_name})."
    return render


REPORTERS: dict[str, Renderer] = {fmt: _lazy(fmt) for fmt in _MODULES}

__all__ = ["REPORTERS", "Renderer"]
