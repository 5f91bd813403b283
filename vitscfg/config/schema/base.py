"""Shared pieces of the per-dialect pydantic models.

Models are strict (a string "16" is not a batch size: the reference trainer
would crash on it) and keep unknown keys (`extra="allow"`) so that the linter,
not pydantic, decides whether an unknown key is a typo, a no-op or fine.
`defer_build=True` keeps `vitscfg check` fast: only the dialect in use pays for
building its validators.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field


class Section(BaseModel):
    """One section (`train`, `data` or `model`) of a dialect."""

    model_config = ConfigDict(strict=True, extra="allow", defer_build=True, frozen=True)

    # Keys the fork's trainer never reads (present in real configs, so valid JSON,
    # but editing them changes nothing): key -> why. Reported as info.
    NOOP: ClassVar[dict[str, str]] = {}


def field(
    default: Any = ...,
    *,
    en: str,
    fr: str | None = None,
    effect: str | None = None,
    effect_fr: str | None = None,
    reference: Any = None,
    unit: str | None = None,
    **constraints: Any,
) -> Any:
    """A documented field. `en`/`fr` say what it does in training; `effect` its cost
    in memory and speed; `reference` the value the reference config uses."""
    extra: dict[str, Any] = {}
    if fr:
        extra["description_fr"] = fr
    if effect:
        extra["x-effect"] = effect
    if effect_fr:
        extra["x-effect-fr"] = effect_fr
    if unit:
        extra["x-unit"] = unit
    if reference is not None:
        extra["x-reference-value"] = reference
    return Field(default, description=en, json_schema_extra=extra or None, **constraints)
