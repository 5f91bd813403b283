"""The rule registry: one small function per rule, registered with a stable code.

A rule's docstring is its documentation (ruff style: `What it does`, `Why is
this bad?`, `Example`, optional `Use instead` and `References`). `vitscfg
explain`, `docs/rules.md` and the SARIF rule metadata are all generated from it,
so there is one place to edit.

Codes: VC0xx reading the file, VC1xx single fields (schema), VC2xx cross-field
rules, VC3xx the data on disk.
Codes are never reused; a renamed rule keeps its code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vitscfg.config.dialect import UNKNOWN
from vitscfg.diagnostic import Fix, Severity

if TYPE_CHECKING:
    from vitscfg.config.load import Document


@dataclass(frozen=True)
class Finding:
    """What a rule returns: the runner adds the code, position and default severity."""

    pointer: str
    message: str
    hint: str | None = None
    severity: Severity | None = None
    fix: Fix | None = None


@dataclass
class Context:
    """Everything a rule may look at. Rules never read files except data rules."""

    doc: Document
    dialect: str
    check_data: bool = True
    search_dirs: list[Path] = field(default_factory=list)
    # Work shared by several rules of one run (e.g. schema validation), by name.
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def data(self) -> dict[str, Any]:
        return self.doc.data if isinstance(self.doc.data, dict) else {}

    def section(self, name: str) -> dict[str, Any]:
        value = self.data.get(name)
        return value if isinstance(value, dict) else {}

    def get(self, pointer: str, default: Any = None) -> Any:
        return self.doc.get(pointer, default)

    def number(self, pointer: str) -> int | float | None:
        """The value at pointer if it is a real number (not a bool), else None.

        Cross-field rules only fire on well-typed values; type errors are the
        schema's job (VC1xx), so a rule never reports twice for one mistake."""
        value = self.get(pointer)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return value

    def integer(self, pointer: str) -> int | None:
        value = self.number(pointer)
        return value if isinstance(value, int) else None

    def int_list(self, pointer: str) -> list[int] | None:
        value = self.get(pointer)
        if (
            isinstance(value, list)
            and value
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
            return value
        return None


RuleFunc = Callable[[Context], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity
    func: RuleFunc
    dialects: frozenset[str] | None  # None: applies to every dialect
    needs_data: bool
    # Also runs on configs of an unknown fork: it judges only what means the same in
    # every fork (syntax, types and ranges, STFT and generator arithmetic).
    any_fork: bool = False

    @property
    def doc(self) -> str:
        import inspect  # only explain/docs/SARIF need it, not the check path

        return inspect.cleandoc(self.func.__doc__ or "")

    @property
    def summary(self) -> str:
        """First paragraph of `What it does`, for SARIF shortDescription and tables."""
        text = self.doc.split("## What it does", 1)[-1].strip()
        return " ".join(text.split("\n\n", 1)[0].split())

    def applies_to(self, dialect: str) -> bool:
        if dialect == UNKNOWN:
            return self.any_fork
        return self.dialects is None or dialect in self.dialects


_RULES: dict[str, Rule] = {}


def rule(
    code: str,
    name: str,
    severity: Severity,
    *,
    dialects: Iterable[str] | None = None,
    needs_data: bool = False,
    any_fork: bool = False,
) -> Callable[[RuleFunc], RuleFunc]:
    """Register a rule. `severity` is the default; a Finding may lower or raise it
    where a fork behaves differently (e.g. crash in vits, silent in vfft)."""

    def register(func: RuleFunc) -> RuleFunc:
        if code in _RULES:
            raise ValueError(f"rule code {code} registered twice")
        _RULES[code] = Rule(
            code,
            name,
            severity,
            func,
            frozenset(dialects) if dialects is not None else None,
            needs_data,
            any_fork,
        )
        return func

    return register


def all_rules() -> dict[str, Rule]:
    """Every registered rule, by code. Importing the rule modules registers them."""
    from vitscfg.lint import rules  # noqa: F401  (import for side effect: registration)

    return dict(sorted(_RULES.items()))
