"""`vitscfg explain CODE|FIELD`: the documentation of a rule or a config field,
rendered from the rule docstrings and the schema (the one source for docs/ too)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from vitscfg.config.schema import SCHEMAS, SECTIONS

_TYPE = {
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "string": "string",
    "array": "list",
    "object": "object",
    "null": "null",
}


@dataclass(frozen=True)
class FieldDoc:
    section: str
    name: str
    type: str
    required_in: tuple[str, ...]
    optional_in: tuple[str, ...]
    description: str
    description_fr: str | None
    effect: str | None
    effect_fr: str | None
    reference: Any
    bounds: str
    unit: str | None


def _type_of(prop: dict[str, Any]) -> str:
    if "anyOf" in prop:
        return " | ".join(_type_of(p) for p in prop["anyOf"])
    if "enum" in prop:
        return " | ".join(json.dumps(v) for v in prop["enum"])
    if "const" in prop:
        return json.dumps(prop["const"])
    kind = prop.get("type")
    if kind == "array" and "items" in prop:
        return f"list[{_type_of(prop['items'])}]"
    return _TYPE.get(str(kind), "any") if kind else "any"


def _bounds(prop: dict[str, Any]) -> str:
    parts = []
    for key, sym in (
        ("exclusiveMinimum", ">"),
        ("minimum", ">="),
        ("exclusiveMaximum", "<"),
        ("maximum", "<="),
    ):
        if key in prop:
            parts.append(f"{sym} {prop[key]}")
    if "minItems" in prop and prop.get("minItems") == prop.get("maxItems"):
        parts.append(f"exactly {prop['minItems']} items")
    items = prop.get("items")
    if isinstance(items, dict) and _bounds(items):
        parts.append(f"each item {_bounds(items)}")
    return ", ".join(parts)


def field_docs() -> dict[tuple[str, str], FieldDoc]:
    """Every field of every dialect, merged: the vitscfg/vits description wins."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    order = ["vitscfg", "vits", *[d for d in SCHEMAS if d not in ("vitscfg", "vits")]]
    for dialect in order:
        schema = SCHEMAS[dialect]
        for section in SECTIONS:
            model = schema.section(section)
            if model is None:
                continue
            js = model.model_json_schema()
            required = set(js.get("required", []))
            for name, prop in js.get("properties", {}).items():
                entry = merged.setdefault((section, name), {"prop": prop, "req": [], "opt": []})
                (entry["req"] if name in required else entry["opt"]).append(dialect)
    docs = {}
    for (section, name), entry in merged.items():
        prop = entry["prop"]
        docs[(section, name)] = FieldDoc(
            section,
            name,
            _type_of(prop),
            tuple(entry["req"]),
            tuple(entry["opt"]),
            prop.get("description", ""),
            prop.get("description_fr"),
            prop.get("x-effect"),
            prop.get("x-effect-fr"),
            prop.get("x-reference-value", prop.get("default")),
            _bounds(prop),
            prop.get("x-unit"),
        )
    return docs


def find_field(query: str) -> list[FieldDoc]:
    query = query.strip().lstrip("/").replace("/", ".")
    docs = field_docs()
    if "." in query:
        section, name = query.split(".", 1)
        return [docs[(section, name)]] if (section, name) in docs else []
    return [doc for (section, name), doc in sorted(docs.items()) if name == query]


def render_field(doc: FieldDoc, lang: str = "en") -> str:
    fr = lang == "fr"
    lines = [f"# {doc.section}.{doc.name}", ""]
    description = doc.description_fr if fr and doc.description_fr else doc.description
    lines.append(description)
    effect = doc.effect_fr if fr and doc.effect_fr else doc.effect
    if effect:
        lines += ["", f"{'Mémoire et vitesse' if fr else 'Memory and speed'}: {effect}"]
    lines.append("")
    unit = f" ({doc.unit})" if doc.unit else ""
    lines.append(f"- type: {doc.type}{unit}")
    if doc.bounds:
        lines.append(f"- {'bornes' if fr else 'bounds'}: {doc.bounds}")
    if doc.reference is not None:
        label = "valeur de référence" if fr else "reference value"
        lines.append(f"- {label}: {json.dumps(doc.reference)}")
    if doc.required_in:
        lines.append(
            f"- {'obligatoire dans' if fr else 'required in'}: {', '.join(doc.required_in)}"
        )
    if doc.optional_in:
        lines.append(
            f"- {'facultatif dans' if fr else 'optional in'}: {', '.join(doc.optional_in)}"
        )
    if fr and not doc.description_fr:
        lines += ["", "(pas encore de traduction française pour ce champ)"]
    return "\n".join(lines) + "\n"


def render_rule(code: str) -> str | None:
    from vitscfg.lint.registry import all_rules

    rule_ = all_rules().get(code.upper())
    if rule_ is None:
        return None
    dialects = ", ".join(sorted(rule_.dialects)) if rule_.dialects else "all"
    meta = [
        f"# {rule_.name} ({rule_.code})",
        "",
        f"Default severity: {rule_.severity.value}. Dialects: {dialects}.",
    ]
    if rule_.needs_data:
        meta.append("Reads the data on disk (skipped with --no-data).")
    return "\n".join(meta) + "\n\n" + rule_.doc + "\n"
