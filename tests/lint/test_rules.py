"""Every VC0xx-VC2xx rule, driven by tests/fixtures/rules/<CODE>.json.

Each fixture has `positive` cases (the rule fires, at `pointer`, with `severity`,
and `--fix` writes `fixed_value` when given) and `negative` cases (it does not).
A case is raw `text`, or a `base` config from tests/fixtures/shared_configs (or examples/) with
a `patch` of JSON pointers (null deletes the key). The VC3xx data rules are
tested in test_data_rules.py with real files.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, SHARED_CONFIGS
from vitscfg.config.load import load, load_bytes
from vitscfg.diagnostic import split_pointer
from vitscfg.lint.fix import fixed_text
from vitscfg.lint.registry import all_rules
from vitscfg.lint.run import CheckOptions, check_document

FIXTURES = REPO / "tests" / "fixtures" / "rules"
UNSEEN = REPO / "tests" / "fixtures" / "unseen_configs"
BASES = {
    "vits": SHARED_CONFIGS / "jaywalnut310__vits__configs_ljs_base.json",
    "vits2": SHARED_CONFIGS / "p0p4k__vits2_pytorch__configs_vits2_ljs_base.json",
    "mbistft": SHARED_CONFIGS / "MasayaKawamura__MB-iSTFT-VITS__configs_ljs_mb_istft_vits.json",
    "bert": SHARED_CONFIGS / "fishaudio__Bert-VITS2__configs_config.json",
    "melo": SHARED_CONFIGS / "myshell-ai__MeloTTS__melo_configs_config.json",
    "rvc": SHARED_CONFIGS
    / "RVC-Project__Retrieval-based-Voice-Conversion-WebUI__configs_v1_32k.json",
    "sovits": SHARED_CONFIGS / "innnky__so-vits-svc__configs_config@4.0_e1b8e57.json",
    "sovits41": SHARED_CONFIGS
    / "svc-develop-team__so-vits-svc__configs_template_config_template.json",
    "vitscfg": REPO / "examples" / "ljs_base.json",
    # Real configs of forks the shared fixtures lack (tests/fixtures/unseen_configs).
    "svcfork": UNSEEN
    / "voicepaw__so-vits-svc-fork__src_so_vits_svc_fork_preprocessing_config_templates_so-vits-svc-4.0v1.json",
    "sbv2": UNSEEN / "litagin02__Style-Bert-VITS2__configs_config.json",
    "applio": UNSEEN / "IAHispano__Applio__rvc_configs_40000.json",
    "daniil": UNSEEN / "daniilrobnikov__vits2__datasets_ljs_base_config.yaml",
}


def _patched(base: str, patch: dict[str, Any]) -> dict[str, Any]:
    config = copy.deepcopy(load(BASES[base]).data)
    for pointer, value in patch.items():
        *parents, last = split_pointer(pointer)
        node = config
        for token in parents:
            node = node[int(token)] if isinstance(node, list) else node[token]
        if isinstance(node, list):
            node[int(last)] = value
        elif value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return config


def _run(case: dict[str, Any]) -> tuple[Any, Any]:
    if "text" in case:
        doc = load_bytes(case["text"].encode("utf-8"), "case.json")
    else:
        text = json.dumps(_patched(case["base"], case["patch"]), indent=2)
        doc = load_bytes(text.encode("utf-8"), "case.json")
    result = check_document(doc, CheckOptions(dialect=case.get("dialect"), check_data=False))
    return doc, result


def _cases(kind: str) -> list[Any]:
    params = []
    for path in sorted(FIXTURES.glob("VC*.json")):
        fixture = json.loads(path.read_text(encoding="utf-8"))
        for i, case in enumerate(fixture[kind]):
            params.append(pytest.param(fixture["code"], case, id=f"{fixture['code']}-{i}"))
    return params


@pytest.mark.parametrize(("code", "case"), _cases("positive"))
def test_rule_fires(code: str, case: dict[str, Any]) -> None:
    doc, result = _run(case)
    hits = [d for d in result.diagnostics if d.code == code]
    if "pointer" in case:
        hits = [d for d in hits if d.pointer == case["pointer"]]
    assert hits, [f"{d.code} {d.pointer} {d.message}" for d in result.diagnostics]
    expected = case.get("severity") or all_rules()[code].severity.value
    assert hits[0].severity.value == expected
    assert hits[0].message and hits[0].line >= 1
    if "fixed_value" in case:
        text, done = fixed_text(doc, hits)
        assert done, "the rule should offer a fix"
        assert load_bytes(text.encode(), "fixed.json").get(case["pointer"]) == case["fixed_value"]


@pytest.mark.parametrize(("code", "case"), _cases("negative"))
def test_rule_is_quiet(code: str, case: dict[str, Any]) -> None:
    _, result = _run(case)
    assert not [d for d in result.diagnostics if d.code == code]


def test_every_rule_has_fixtures_and_docs() -> None:
    rules = all_rules()
    have = {p.stem for p in FIXTURES.glob("VC*.json")}
    for code, rule_ in rules.items():
        if code < "VC300":
            assert code in have, f"{code} has no tests/fixtures/rules/{code}.json"
            fixture = json.loads((FIXTURES / f"{code}.json").read_text(encoding="utf-8"))
            assert fixture["positive"] and fixture["negative"]
        for section in ("## What it does", "## Why is this bad?", "## Example"):
            assert section in rule_.doc, f"{code} docstring lacks {section!r}"
        assert rule_.name == rule_.name.lower() and " " not in rule_.name


def test_codes_are_stable() -> None:
    """Codes are never reused: this list only grows (renames keep the code)."""
    known = Path(REPO / "tests" / "fixtures" / "rule_codes.txt").read_text().split()
    assert set(known) <= set(all_rules())


def test_every_fixable_rule_documents_its_fix_safety() -> None:
    """ruff-style docs: a rule whose findings carry a `--fix` says how safe it is."""
    rules = all_rules()
    fixable = {"VC004", "VC006"}  # fixed by the loader's syntax repairs
    for path in FIXTURES.glob("VC*.json"):
        fixture = json.loads(path.read_text(encoding="utf-8"))
        if any("fixed_value" in case for case in fixture["positive"]):
            fixable.add(fixture["code"])
    assert {"VC101", "VC201"} <= fixable
    for code in sorted(fixable):
        assert "## Fix safety" in rules[code].doc, code
