"""Golden-file tests for the `vitscfg check` reporters (text, json, sarif, github).

One hand-built CheckResult covers every case a reporter must handle: each
severity, a hint and a missing hint, a fixable finding, a file that could not be
parsed (dialect None), a clean file, CJK text before a caret, and a message with
characters that GitHub's workflow commands must escape.

The expected outputs live in tests/lint/golden/. After an intended change to a
format, rewrite them with

    VITSCFG_UPDATE_GOLDEN=1 .venv/bin/pytest tests/lint/test_reporters.py

and review the diff: it is the change every consumer of that format will see.

SARIF is validated against a subset of the SARIF 2.1.0 schema written here (the
properties GitHub code scanning reads), not the full OASIS schema: no copy of
that schema is available offline, so the structure is also asserted directly.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

import vitscfg
from vitscfg.diagnostic import Diagnostic, Fix, Severity
from vitscfg.lint.registry import Context, Finding, Rule
from vitscfg.lint.report import REPORTERS
from vitscfg.lint.report.github import escape_data, escape_property
from vitscfg.lint.report.sarif import artifact_location
from vitscfg.lint.result import CheckResult, FileResult

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("VITSCFG_UPDATE_GOLDEN") == "1"
GOLDEN_NAMES = {
    "text": "check.txt",
    "json": "check.json",
    "sarif": "check.sarif",
    "github": "check.github.txt",
}

LJS_SOURCE = """{
  "train": {
    "batch_size": 0,
    "fp16_run": true,
    "a,b:c": 1
  },
  "data": {"text_cleaners": ["中文清理"], "n_speakers": 0}
}
"""
BROKEN_SOURCE = """{
  "train": {
    "epochs": 10,
  }
}
"""


def _result() -> CheckResult:
    ljs = FileResult(
        path="configs/ljs_base.json",
        dialect="vits",
        source=LJS_SOURCE,
        diagnostics=[
            # Deliberately out of order: reporters sort by line, column, code.
            Diagnostic(
                "VC301",
                Severity.INFO,
                "n_speakers is 0: a single-speaker model",
                "/data/n_speakers",
                None,
                7,
                53,
            ),
            Diagnostic(
                "VC205",
                Severity.WARNING,
                'key "a,b:c" is 100% ignored\r\nby the trainer',
                "/train/a,b:c",
                None,
                5,
                5,
            ),
            Diagnostic(
                "VC101",
                Severity.ERROR,
                "train.batch_size must be >= 1, got 0",
                "/train/batch_size",
                "set it to the number of samples per GPU, e.g. 16",
                3,
                19,
                Fix("set batch_size to 16", "/train/batch_size", 16),
            ),
        ],
    )
    broken = FileResult(
        path="configs/broken.json",
        dialect=None,
        source=BROKEN_SOURCE,
        diagnostics=[
            Diagnostic(
                "VC004",
                Severity.ERROR,
                "trailing comma before '}'",
                "",
                "remove the comma after the last member",
                3,
                17,
            )
        ],
    )
    clean_vits = FileResult(path="configs/vctk_base.json", dialect="vits", source="{}\n")
    clean_rvc = FileResult(path="rvc/v1_32k.json", dialect="rvc", source="{}\n")
    # A config no dialect fits: text and json must say so, with the closest one.
    unknown = FileResult(
        path="other/flat.yaml",
        dialect="unknown",
        source="lr: 1\n",
        dialect_score=0.38,
        closest_dialect="vits2",
        dialect_reason="no dialect fits (closest vits2: 3/8 keys known to vits2)",
    )
    return CheckResult(files=[clean_rvc, ljs, broken, clean_vits, unknown])


def _fake_rule(code: str, name: str, severity: Severity, doc: str) -> Rule:
    def func(ctx: Context) -> Iterable[Finding]:
        return ()

    func.__doc__ = doc
    return Rule(code, name, severity, func, None, False, None)


def _rules() -> dict[str, Rule]:
    """Rules passed explicitly, so the test does not depend on the real registry.

    VC004 (a loader error) is deliberately missing, and VC102 has no finding."""
    return {
        "VC101": _fake_rule(
            "VC101",
            "batch-size-not-positive",
            Severity.ERROR,
            """## What it does
            Checks that `train.batch_size` is at least 1.

            ## Why is this bad?
            The data loader raises on a batch size of 0.
            """,
        ),
        "VC102": _fake_rule(
            "VC102",
            "learning-rate-not-positive",
            Severity.ERROR,
            """## What it does
            Checks that `train.learning_rate` is positive.
            """,
        ),
        "VC205": _fake_rule(
            "VC205",
            "unused-key",
            Severity.WARNING,
            """## What it does
            Reports keys that the dialect's trainer never reads.

            ## Why is this bad?
            A typo in a key name silently keeps the default.
            """,
        ),
        "VC301": _fake_rule(
            "VC301",
            "single-speaker",
            Severity.INFO,
            """## What it does
            Notes that the model is single-speaker.
            """,
        ),
    }


def _render(fmt: str, monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> str:
    # The version is in the SARIF output; pin it so a release does not break goldens.
    monkeypatch.setattr(vitscfg, "__version__", "0.0.0-test")
    return REPORTERS[fmt](_result(), rules=_rules(), **kwargs)


def test_reporter_registry_has_the_four_formats() -> None:
    assert sorted(REPORTERS) == ["github", "json", "sarif", "text"]


@pytest.mark.parametrize("fmt", sorted(GOLDEN_NAMES))
def test_golden(fmt: str, monkeypatch: pytest.MonkeyPatch) -> None:
    output = _render(fmt, monkeypatch) + "\n"
    path = GOLDEN / GOLDEN_NAMES[fmt]
    if UPDATE:
        path.write_text(output, encoding="utf-8", newline="\n")
    assert path.exists(), f"{path} missing: run with VITSCFG_UPDATE_GOLDEN=1"
    assert output == path.read_text(encoding="utf-8")


def test_text_without_color_has_no_escape_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    output = _render("text", monkeypatch)
    assert "\x1b" not in output
    # The raw CR/LF of the message is shown escaped, so each finding's first line
    # stays one greppable line.
    assert "is 100% ignored\\r\\nby the trainer" in output


def test_text_with_color_uses_ansi(monkeypatch: pytest.MonkeyPatch) -> None:
    output = _render("text", monkeypatch, color=True)
    assert "\x1b[1mVC101\x1b[0m" in output
    assert "\x1b[31m[error]\x1b[0m" in output
    assert "\x1b[33m[warning]\x1b[0m" in output
    assert "\x1b[34m[info]\x1b[0m" in output
    plain = re.sub(r"\x1b\[[0-9;]*m", "", output)
    assert plain == _render("text", monkeypatch)


def test_text_all_passed() -> None:
    result = CheckResult(
        files=[
            FileResult("a.json", "vits"),
            FileResult("b.json", "vits"),
            FileResult("c.json", "rvc"),
        ]
    )
    assert REPORTERS["text"](result) == "All checks passed: 3 files (dialects: vits x2, rvc)."
    assert REPORTERS["text"](CheckResult()) == "No files checked."


def test_text_caret_on_long_line() -> None:
    line = '{"a": ' + ", ".join(f'"k{i}": {i}' for i in range(60)) + "}"
    column = line.index('"k30"') + 1
    diag = Diagnostic("VC101", Severity.ERROR, "bad", "/k30", None, 1, column)
    out = REPORTERS["text"](CheckResult([FileResult("x.json", "vits", [diag], line)]))
    source, caret = out.splitlines()[2:4]
    assert source.startswith("  1 | ...") and source.endswith("...")
    assert source[caret.index("^") :].startswith('"k30"')


def test_json_round_trips_with_exact_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    data = json.loads(_render("json", monkeypatch))
    assert list(data) == ["schema_version", "files", "summary"]
    assert data["schema_version"] == 2
    assert data["summary"] == {"errors": 2, "warnings": 1, "infos": 1}
    assert [f["path"] for f in data["files"]] == [
        "configs/broken.json",
        "configs/ljs_base.json",
        "configs/vctk_base.json",
        "other/flat.yaml",
        "rvc/v1_32k.json",
    ]
    unknown = data["files"][3]
    assert (unknown["dialect"], unknown["closest_dialect"], unknown["dialect_score"]) == (
        "unknown",
        "vits2",
        0.38,
    )
    for file in data["files"]:
        assert list(file) == [
            "path",
            "dialect",
            "dialect_score",
            "closest_dialect",
            "dialect_reason",
            "diagnostics",
        ]
        for diag in file["diagnostics"]:
            assert list(diag) == [
                "code",
                "severity",
                "pointer",
                "line",
                "column",
                "message",
                "hint",
                "fixable",
            ]
            assert diag["severity"] in ("error", "warning", "info")
    assert data["files"][0]["dialect"] is None
    ljs = data["files"][1]["diagnostics"]
    assert [d["code"] for d in ljs] == ["VC101", "VC205", "VC301"]
    assert ljs[1]["hint"] is None and ljs[0]["fixable"] is True and ljs[1]["fixable"] is False


# The parts of SARIF 2.1.0 that GitHub code scanning reads, with the schema's own
# required properties and enums for them (sarif-schema-2.1.0: sarifLog, run, tool,
# toolComponent, reportingDescriptor, result, location, physicalLocation, region).
_MESSAGE = {
    "type": "object",
    "required": ["text"],
    "properties": {"text": {"type": "string"}, "markdown": {"type": "string"}},
}
_LEVEL = {"enum": ["none", "note", "warning", "error"]}
SARIF_SUBSET_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "$schema": {"type": "string", "format": "uri"},
        "version": {"enum": ["2.1.0"]},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool"],
                "properties": {
                    "columnKind": {"enum": ["utf16CodeUnits", "unicodeCodePoints"]},
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "version": {"type": "string"},
                                    "informationUri": {"type": "string", "format": "uri"},
                                    "rules": {
                                        "type": "array",
                                        "uniqueItems": True,
                                        "items": {
                                            "type": "object",
                                            "required": ["id"],
                                            "properties": {
                                                "id": {"type": "string"},
                                                "name": {"type": "string"},
                                                "shortDescription": _MESSAGE,
                                                "fullDescription": _MESSAGE,
                                                "help": _MESSAGE,
                                                "defaultConfiguration": {
                                                    "type": "object",
                                                    "properties": {"level": _LEVEL},
                                                },
                                            },
                                        },
                                    },
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["message"],
                            "properties": {
                                "ruleId": {"type": "string"},
                                "ruleIndex": {"type": "integer", "minimum": -1},
                                "level": _LEVEL,
                                "message": _MESSAGE,
                                "partialFingerprints": {
                                    "type": "object",
                                    "additionalProperties": {"type": "string"},
                                },
                                "locations": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "properties": {
                                                    "artifactLocation": {
                                                        "type": "object",
                                                        "properties": {
                                                            "uri": {
                                                                "type": "string",
                                                                "format": "uri-reference",
                                                            },
                                                            "uriBaseId": {"type": "string"},
                                                        },
                                                    },
                                                    "region": {
                                                        "type": "object",
                                                        "properties": {
                                                            "startLine": {
                                                                "type": "integer",
                                                                "minimum": 1,
                                                            },
                                                            "startColumn": {
                                                                "type": "integer",
                                                                "minimum": 1,
                                                            },
                                                        },
                                                    },
                                                },
                                            }
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def test_sarif_is_valid_and_consistent(monkeypatch: pytest.MonkeyPatch) -> None:
    log = json.loads(_render("sarif", monkeypatch))
    jsonschema.Draft7Validator(SARIF_SUBSET_SCHEMA).validate(log)
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "vitscfg"
    assert driver["version"] == "0.0.0-test"
    assert driver["informationUri"] == "https://github.com/vitscfg/vitscfg"
    ids = [r["id"] for r in driver["rules"]]
    # Every rule passed in, plus VC004 which only the loader reports.
    assert ids == ["VC004", "VC101", "VC102", "VC205", "VC301"]
    by_id = {r["id"]: r for r in driver["rules"]}
    assert by_id["VC101"]["shortDescription"]["text"] == (
        "Checks that `train.batch_size` is at least 1."
    )
    assert "## Why is this bad?" in by_id["VC101"]["help"]["markdown"]
    assert by_id["VC301"]["defaultConfiguration"]["level"] == "note"
    assert by_id["VC004"]["defaultConfiguration"]["level"] == "error"
    levels = []
    for res in run["results"]:
        assert driver["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
        levels.append(res["level"])
        location = res["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert not location["artifactLocation"]["uri"].startswith("/")
    assert levels == ["error", "error", "warning", "note"]
    assert run["results"][1]["message"]["text"] == (
        "train.batch_size must be >= 1, got 0"
        " Hint: set it to the number of samples per GPU, e.g. 16"
    )


def test_sarif_without_rules_lists_only_codes_that_appear(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log = json.loads(REPORTERS["sarif"](_result(), rules={}))
    assert [r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]] == [
        "VC004",
        "VC101",
        "VC205",
        "VC301",
    ]


def test_sarif_declares_every_registered_rule() -> None:
    """The CLI passes no rules: every registered rule is still declared, so code
    scanning sees a fixed alert's rule run clean and closes the alert."""
    from vitscfg.lint.registry import all_rules

    log = json.loads(REPORTERS["sarif"](CheckResult(files=[]), rules=None))
    ids = [r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]]
    assert ids == sorted(all_rules()) and len(ids) > 40
    assert log["runs"][0]["results"] == []


def test_sarif_artifact_location(tmp_path: Path) -> None:
    assert artifact_location("configs/a b.json", tmp_path) == {
        "uri": "configs/a%20b.json",
        "uriBaseId": "%SRCROOT%",
    }
    assert artifact_location(str(tmp_path / "x" / "c.json"), tmp_path) == {
        "uri": "x/c.json",
        "uriBaseId": "%SRCROOT%",
    }
    outside = tmp_path.parent / "elsewhere.json"
    assert artifact_location(str(outside), tmp_path) == {"uri": outside.as_posix()}
    assert artifact_location("../up.json", tmp_path) == {"uri": "../up.json"}


_GITHUB_LINE = re.compile(
    r"^::(error|warning|notice) file=([^,:]*),line=(\d+),col=(\d+),title=([^,:]*)::(.*)$"
)


def _unescape(text: str) -> str:
    """Decode GitHub's workflow-command escapes in one left-to-right pass, as the runner does."""
    table = {"%25": "%", "%0D": "\r", "%0A": "\n", "%3A": ":", "%2C": ","}
    return re.sub(r"%(?:25|0D|0A|3A|2C)", lambda m: table[m.group()], text)


def test_github_escapes_message_and_properties(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _render("github", monkeypatch).splitlines()
    assert len(lines) == 4
    warning = next(line for line in lines if line.startswith("::warning"))
    assert warning == (
        "::warning file=configs/ljs_base.json,line=5,col=5,title=vitscfg (VC205)::"
        'key "a,b:c" is 100%25 ignored%0D%0Aby the trainer'
    )
    assert lines[0].startswith("::error file=configs/broken.json,line=3,col=17,")
    assert lines[-1].startswith("::notice ")


@given(st.text(), st.text())
def test_github_escaping_round_trips(data: str, prop: str) -> None:
    escaped_data = escape_data(data)
    escaped_prop = escape_property(prop)
    assert not set("\r\n") & set(escaped_data)
    assert not set("\r\n:,") & set(escaped_prop)
    assert _unescape(escaped_data) == data
    assert _unescape(escaped_prop) == prop


@given(
    path=st.text(min_size=1),
    message=st.text(),
    hint=st.none() | st.text(min_size=1),
    severity=st.sampled_from(list(Severity)),
)
def test_github_line_parses_back(
    path: str, message: str, hint: str | None, severity: Severity
) -> None:
    diag = Diagnostic("VC101", severity, message, "", hint, 2, 3)
    output = REPORTERS["github"](CheckResult([FileResult(path, "vits", [diag])]))
    match = _GITHUB_LINE.match(output)
    assert match is not None, output
    command, file, line, col, title, text = match.groups()
    assert command == {"error": "error", "warning": "warning", "info": "notice"}[severity.value]
    assert (_unescape(file), line, col, _unescape(title)) == (path, "2", "3", "vitscfg (VC101)")
    assert _unescape(text) == (f"{message} hint: {hint}" if hint else message)
