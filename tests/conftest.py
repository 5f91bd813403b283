"""Shared fixtures: the real configs of 10 forks and their expected dialects.

They are copied unchanged into tests/fixtures/shared_configs (with their README: repository
and commit of each) so that a lone clone runs the whole suite; the workplace's copy in
../shared/configs is the source, and tests/config/test_fixture_sync.py fails when the two
differ.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_CONFIGS = REPO / "tests" / "fixtures" / "shared_configs"
SHARED_SOURCE = REPO.parent / "shared" / "configs"  # the workplace's copy, when present


def shared_configs() -> list[Path]:
    return sorted(p for p in SHARED_CONFIGS.glob("*") if p.suffix in (".json", ".yaml", ".yml"))


def expected_dialects() -> dict[str, tuple[str, set[str]]]:
    """file name -> (dialect, pointers where errors are allowed) from configs/README.md."""
    readme = (SHARED_CONFIGS / "README.md").read_text(encoding="utf-8")
    table: dict[str, tuple[str, set[str]]] = {}
    for match in re.finditer(
        r"^\| `([^`]+)` \|[^|]*\|[^|]*\| ([a-z0-9-]+) \|(.*)\|\s*$", readme, re.M
    ):
        allowed = re.search(r"errors allowed at: ([^)]*)\)", match.group(3))
        table[match.group(1)] = (
            match.group(2),
            set(allowed.group(1).split()) if allowed else set(),
        )
    return table


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO
