"""Every real config in tests/fixtures/shared_configs trains in its fork, so `check` must give it
no error (except where configs/README.md allows one) and must name its dialect."""

from __future__ import annotations

import pytest

from tests.conftest import expected_dialects, shared_configs
from vitscfg.diagnostic import Severity
from vitscfg.lint.run import CheckOptions, check_paths

EXPECTED = expected_dialects()


@pytest.mark.parametrize("path", shared_configs(), ids=lambda p: p.name)
def test_no_false_errors(path):
    dialect, allowed = EXPECTED[path.name]
    (result,) = check_paths([path], CheckOptions()).files
    assert result.dialect == dialect
    errors = [
        d for d in result.diagnostics if d.severity is Severity.ERROR and d.pointer not in allowed
    ]
    assert errors == [], [f"{d.code} {d.pointer}: {d.message}" for d in errors]


def test_allowed_errors_really_fire():
    """The README's allowed errors (MeloTTS's empty filelist slots) are real C13 cases."""
    melo = next(p for p in shared_configs() if "MeloTTS" in p.name)
    (result,) = check_paths([melo], CheckOptions()).files
    assert {d.pointer for d in result.diagnostics if d.severity is Severity.ERROR} == {
        "/data/training_files",
        "/data/validation_files",
    }
