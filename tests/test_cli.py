"""The command line as users and CI see it: exit codes, formats, --fix, explain."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SHARED_CONFIGS

LJS = SHARED_CONFIGS / "jaywalnut310__vits__configs_ljs_base.json"
BROKEN = REPO / "tests" / "fixtures" / "configs" / "broken_segment.json"


def vitscfg(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "vitscfg", *args],
        capture_output=True,
        text=True,
        cwd=cwd or REPO,
        env=env,
        timeout=120,
    )


def test_clean_config_exits_0():
    run = vitscfg("check", str(LJS))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stderr


def test_errors_exit_1_with_position_and_hint():
    run = vitscfg("check", "--no-data", str(BROKEN))
    assert run.returncode == 1
    assert "VC201" in run.stdout and "hint: use 7936 (31 frames) or 8192 (32 frames)" in run.stdout
    line = next(li for li in run.stdout.splitlines() if "VC201" in li)
    assert line.startswith(f"{BROKEN}:") and line.split(":")[1].isdigit()


@pytest.mark.parametrize(
    "args",
    [
        ("check",),
        ("check", "--format", "xml", str(LJS)),
        ("check", "--dialect", "nope", str(LJS)),
        ("check", "/definitely/missing.json"),
        ("check", "docs"),  # a folder without any config file
    ],
)
def test_usage_and_unreadable_exit_2(args):
    run = vitscfg(*args)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stderr and run.stderr.strip()


def test_strict_fails_on_warnings(tmp_path):
    config = json.loads(LJS.read_text())
    config["train"]["learning_rate"] = 0.01  # VC230 warning
    path = tmp_path / "c.json"
    path.write_text(json.dumps(config))
    assert vitscfg("check", "--no-data", str(path)).returncode == 0
    assert vitscfg("check", "--no-data", "--strict", str(path)).returncode == 1


def test_json_format_contract():
    run = vitscfg("check", "--no-data", "--format", "json", str(BROKEN), str(LJS))
    out = json.loads(run.stdout)
    assert out["schema_version"] == 2 and len(out["files"]) == 2
    diag = out["files"][0]["diagnostics"][0]
    assert {"code", "severity", "pointer", "line", "column", "message", "hint"} <= set(diag)
    assert out["summary"]["errors"] == 3


def test_select_and_ignore():
    run = vitscfg("check", "--no-data", "--format", "json", "--select", "VC2", str(BROKEN))
    codes = {d["code"] for d in json.loads(run.stdout)["files"][0]["diagnostics"]}
    assert codes and all(c.startswith("VC2") for c in codes)
    run = vitscfg("check", "--no-data", "--ignore", "VC1,VC2", str(BROKEN))
    assert run.returncode == 0


def test_pyproject_settings(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.vitscfg]\nignore = ["VC2", "VC101"]\n')
    target = tmp_path / "c.json"
    target.write_text(BROKEN.read_text())
    assert vitscfg("check", "--no-data", str(target), cwd=tmp_path).returncode == 0
    (tmp_path / "pyproject.toml").write_text("[tool.vitscfg]\nignore = 3\n")
    assert vitscfg("check", str(target), cwd=tmp_path).returncode == 2


def test_fix_is_atomic_and_keeps_layout(tmp_path):
    target = tmp_path / "c.json"
    original = BROKEN.read_text()
    target.write_text(original)
    diff = vitscfg("check", "--no-data", "--diff", str(target))
    assert target.read_text() == original  # --diff changes nothing
    assert (
        '-    "segment_size": 8000,' in diff.stderr and '+    "segment_size": 7936,' in diff.stderr
    )
    fixed = vitscfg("check", "--no-data", "--fix", str(target))
    after = target.read_text()
    assert '"segment_size": 7936' in after and '"fp16_run": false' in after
    assert len(after.splitlines()) == len(original.splitlines())  # indentation and order kept
    assert "fixed VC201" in fixed.stderr
    assert list(tmp_path.iterdir()) == [target]  # no temp file left behind
    # upsample_rates has no safe fix: still an error.
    assert fixed.returncode == 1 and "VC202" in fixed.stdout


def test_check_never_imports_torch_or_pydantic():
    code = (
        "import sys, io, contextlib\n"
        "from vitscfg.lint.command import run\n"
        f"with contextlib.redirect_stdout(io.StringIO()): run([{str(LJS)!r}])\n"
        "heavy = [m for m in ('torch', 'pydantic', 'typer', 'rich', 'numpy') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ""


def test_explain_rule_and_field():
    rule = vitscfg("explain", "VC201")
    assert rule.returncode == 0 and "# segment-not-multiple-of-hop (VC201)" in rule.stdout
    assert "## Why is this bad?" in rule.stdout
    field = vitscfg("explain", "batch_size", "--lang", "fr")
    assert "out of memory" in field.stdout and "train.batch_size" in field.stdout
    assert vitscfg("explain", "VC999").returncode == 1
    assert vitscfg("explain", "nonsense_field").returncode == 1


@pytest.mark.parametrize(
    "field",
    [
        "epochs",
        "eval_interval",
        "log_interval",
        "batch_size",
        "segment_size",
        "use_gpu",
        "fp16_run",
        "learning_rate",
        "lr_decay",
        "betas",
        "eps",
        "c_mel",
        "c_kl",
    ],
)
def test_guide_fields_documented_in_both_languages(field):
    from vitscfg.explain import find_field

    (doc,) = [d for d in find_field(field) if d.section == "train"]
    assert doc.description and doc.description_fr and doc.effect and doc.effect_fr


def test_schema_command():
    run = vitscfg("schema", "--dialect", "vits2")
    schema = json.loads(run.stdout)
    assert schema["properties"]["train"] and "$schema" in schema
    assert vitscfg("schema", "--dialect", "nope").returncode == 2


def test_help_is_fast_to_reach():
    run = vitscfg("--help")
    assert run.returncode == 0 and "check" in run.stdout


def test_unreadable_path_does_not_hide_other_files():
    run = vitscfg("check", "--format", "json", str(LJS), "/definitely/missing.json")
    assert run.returncode == 2
    assert "missing.json: no such file" in run.stderr
    assert len(json.loads(run.stdout)["files"]) == 1


def test_folder_checks_the_configs_in_it(tmp_path):
    """`vitscfg check DIR` as `ruff check DIR`: every JSON/YAML config below it, sorted,
    hidden folders skipped; the shared configs of 10 forks report no crash (exit 0/1)."""
    run = vitscfg("check", "--format", "json", "--no-data", str(SHARED_CONFIGS))
    assert run.returncode in (0, 1), run.stdout + run.stderr
    files = [f["path"] for f in json.loads(run.stdout)["files"]]
    assert len(files) == len(list(SHARED_CONFIGS.glob("*.json"))) and files == sorted(files)
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "sub" / "a.json").write_bytes(LJS.read_bytes())
    (tmp_path / ".hidden" / "b.json").write_text("{", encoding="utf-8")
    (tmp_path / "notes.md").write_text("not a config", encoding="utf-8")
    run = vitscfg("check", "--format", "json", "--no-data", str(tmp_path))
    assert run.returncode == 0, run.stdout + run.stderr
    assert [Path(f["path"]).name for f in json.loads(run.stdout)["files"]] == ["a.json"]
