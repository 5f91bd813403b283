"""JSON Schema export (`vitscfg schema`, files in schemas/), so editors can
validate configs through a `"$schema"` key. Generated from the pydantic models;
tests/test_generated.py fails when schemas/ is stale."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vitscfg.config.dialect import DIALECT_TITLES, DIALECTS
from vitscfg.config.schema import whole_config_model


def json_schema(dialect: str) -> dict[str, Any]:
    schema = whole_config_model(dialect).model_json_schema(by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://vitscfg.dev/schemas/{dialect}.schema.json",
        "description": f"Config of {DIALECT_TITLES[dialect]}, as vitscfg validates it "
        "(cross-field rules are checked by `vitscfg check`, not by this schema).",
        **schema,
    }


def render(dialect: str) -> str:
    return json.dumps(json_schema(dialect), indent=2, ensure_ascii=False) + "\n"


def expected_files() -> dict[str, str]:
    return {f"{d}.schema.json": render(d) for d in DIALECTS}


def write_all(folder: Path) -> list[Path]:
    from vitscfg.atomic import write_files

    return write_files(folder, expected_files())
