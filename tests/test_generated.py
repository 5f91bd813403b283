"""Generated files must match their sources (schemas/, docs/, compiled schemas).
Run `make generate` after changing a schema or a rule."""

from __future__ import annotations

import pytest

from tests.conftest import REPO
from vitscfg import docsgen
from vitscfg.config import compiled, jsonschema


@pytest.mark.parametrize(
    ("folder", "expected"),
    [
        (REPO / "schemas", jsonschema.expected_files),
        (REPO / "docs", docsgen.expected_files),
        (compiled.FOLDER, compiled.expected_files),
    ],
    ids=["schemas", "docs", "compiled"],
)
def test_generated_files_are_fresh(folder, expected):
    for name, text in expected().items():
        path = folder / name
        assert path.exists(), f"{path} is missing: run `make generate`"
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run `make generate`"
