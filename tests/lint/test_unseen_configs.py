"""Real configs of forks the shared fixtures lack (tests/fixtures/unseen_configs, issue 15):
`check` names the dialect the README gives and reports no error on any of them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vitscfg.config.fit import FIT_THRESHOLD
from vitscfg.diagnostic import Severity
from vitscfg.lint.run import CheckOptions, check_paths

FOLDER = Path(__file__).resolve().parent.parent / "fixtures" / "unseen_configs"


def _table() -> dict[str, tuple[str, str]]:
    """file name -> (dialect, trains) from the README."""
    readme = (FOLDER / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([^`]+)` \|[^|]*\|[^|]*\| ([a-z0-9-]+) \| (yes|no) \|", readme, re.M)
    return {name: (dialect, trains) for name, dialect, trains in rows}


TABLE = _table()
FILES = sorted(p for p in FOLDER.iterdir() if p.name != "README.md")


def test_readme_lists_every_file_and_enough_of_them() -> None:
    assert sorted(TABLE) == [p.name for p in FILES]
    assert len(FILES) >= 20
    assert sum(trains == "yes" for _, trains in TABLE.values()) >= 20


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:60])
def test_no_false_errors_and_the_right_dialect(path: Path) -> None:
    (result,) = check_paths([path], CheckOptions(check_data=False)).files
    assert result.dialect == TABLE[path.name][0], result.dialect_reason
    errors = [d for d in result.diagnostics if d.severity is Severity.ERROR]
    assert errors == [], [f"{d.code} {d.pointer}: {d.message}" for d in errors]
    if result.dialect == "unknown":
        assert result.closest_dialect and result.dialect_score is not None
        assert result.dialect_score < FIT_THRESHOLD
        # Never another fork's required or unknown keys.
        assert not {d.code for d in result.diagnostics} & {"VC103", "VC104", "VC105"}
    else:
        assert result.dialect_score is not None and result.dialect_score >= FIT_THRESHOLD
