"""The pydantic schemas, compiled to plain data for the fast `check` path.

Why: importing pydantic and building ~40 model classes costs ~200 ms per
`vitscfg check` process, more than the whole check, and check runs in pre-commit
on every commit. The pydantic models in config/schema/ stay the single source;
this module turns each section's core schema into a data-only typed-dict schema
(same constraints, same strictness, same error types) that `pydantic_core`
(pydantic's own validation engine) loads in a few milliseconds.

`python -m vitscfg.config.compiled` regenerates vitscfg/config/compiled/*.json;
tests/config/test_compiled.py fails when they are stale and checks that both
validators report the same errors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).with_name("compiled")
_DROP = {
    "metadata",
    "ref",
    "cls",
    "custom_init",
    "root_model",
    "config",
    "model_name",
    "post_init",
    "serialization",
    "computed_fields",
}


@dataclass(frozen=True)
class CompiledSection:
    """One section of one dialect: a validator and the facts the rules need."""

    core: dict[str, Any]
    required: frozenset[str]
    fields: frozenset[str]
    reference: dict[str, Any]
    noop: dict[str, str]

    @property
    def validator(self) -> Any:
        return _validator(json.dumps(self.core, sort_keys=True))


@cache
def _validator(core_json: str) -> Any:
    from pydantic_core import SchemaValidator

    return SchemaValidator(json.loads(core_json), {"strict": True})


# -- compiling (uses pydantic; run at development time) ------------------------


def _to_data(schema: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(schema, list):
        return [_to_data(item, definitions) for item in schema]
    if not isinstance(schema, dict):
        return schema
    kind = schema.get("type")
    if kind == "definitions":
        for item in schema["definitions"]:
            definitions[item["ref"]] = item
        return _to_data(schema["schema"], definitions)
    if kind == "definition-ref":
        return _to_data(definitions[schema["schema_ref"]], definitions)
    if kind in ("model", "default"):  # defaults are not needed to validate
        return _to_data(schema["schema"], definitions)
    if kind == "model-fields":
        fields = {}
        for name, field in schema["fields"].items():
            inner = field["schema"]
            fields[name] = {
                "type": "typed-dict-field",
                "schema": _to_data(inner, definitions),
                "required": inner.get("type") != "default",
            }
        return {"type": "typed-dict", "fields": fields, "extra_behavior": "allow"}
    return {key: _to_data(value, definitions) for key, value in schema.items() if key not in _DROP}


def compile_model(model: Any) -> dict[str, Any]:
    model.model_rebuild()
    core = _to_data(model.__pydantic_core_schema__, {})
    props = model.model_json_schema().get("properties", {})
    return {
        "core": core,
        "required": sorted(n for n, f in model.model_fields.items() if f.is_required()),
        "fields": sorted(model.model_fields),
        "reference": {
            n: p["x-reference-value"] for n, p in props.items() if "x-reference-value" in p
        },
        "noop": dict(getattr(model, "NOOP", {})),
    }


def compile_dialect(dialect: str) -> dict[str, Any]:
    from vitscfg.config.schema import SECTIONS, schema_for

    schema = schema_for(dialect)
    out: dict[str, Any] = {"dialect": dialect, "top_level": sorted(schema.top_level)}
    if schema.whole is not None:
        out["whole"] = compile_model(schema.whole)
        return out
    for name in SECTIONS:
        model = schema.section(name)
        if model is not None:
            out[name] = compile_model(model)
    if schema.top is not None:
        out["top"] = compile_model(schema.top)
    return out


def expected_files() -> dict[str, str]:
    from vitscfg.config.dialect import DIALECTS

    return {f"{d}.json": json.dumps(compile_dialect(d), indent=1) + "\n" for d in DIALECTS}


def write_all() -> list[Path]:
    from vitscfg.atomic import write_files

    return write_files(FOLDER, expected_files())


# -- loading (the check path: json + pydantic_core only) -------------------------


@dataclass(frozen=True)
class CompiledDialect:
    name: str
    top_level: frozenset[str]
    sections: dict[str, CompiledSection]  # "train"/"data"/"model", or "whole"
    top: CompiledSection | None = None  # the typed top-level keys (schema/top.py)


@cache
def load_compiled(dialect: str) -> CompiledDialect:
    raw = json.loads((FOLDER / f"{dialect}.json").read_text(encoding="utf-8"))
    sections = {
        key: CompiledSection(
            value["core"],
            frozenset(value["required"]),
            frozenset(value["fields"]),
            value["reference"],
            value["noop"],
        )
        for key, value in raw.items()
        if isinstance(value, dict)
    }
    top = sections.pop("top", None)
    return CompiledDialect(dialect, frozenset(raw["top_level"]), sections, top)


if __name__ == "__main__":
    for path in write_all():
        print(f"wrote {path}")
