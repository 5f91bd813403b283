"""The VC1xx engine: one validation of the file against the dialect's schema
(compiled: see config/compiled.py), split into findings per code.

Validation runs once per file (`validate`, cached on the Context); each VC1xx
rule in fields.py returns its share, so codes stay stable and selectable.

Calibrated for files the linter did not write (issue: false errors on real
configs of unseen forks):
- an `unknown` fork gets only type and range findings on keys that exist in VITS
  under the same name (the vits schema) -- never missing keys, never unknown keys;
- a required key the fork's pipeline fills in (config/pipeline.py) is a warning
  naming that step;
- another fork's name for a key (config/synonyms.py) is not offered as a typo;
- a YAML number that YAML 1.1 reads as a string (`2e-4`) is an info: YAML-reading
  trainers convert it with float().
"""

from __future__ import annotations

import difflib
import functools
import json
from typing import Any

from vitscfg.config.compiled import CompiledSection, load_compiled
from vitscfg.config.dialect import DIALECTS, UNKNOWN
from vitscfg.config.fastpath import surely_valid
from vitscfg.config.own_keys import reads_own_key
from vitscfg.config.pipeline import filled_by
from vitscfg.config.synonyms import canonical
from vitscfg.diagnostic import Fix, Severity, pointer_of
from vitscfg.lint.registry import Context, Finding

_TYPE_NAMES = {
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "str": "a string",
    "string": "a string",
    "list": "a list",
    "dict": "an object",
}


SECTIONS = ("train", "data", "model")


def _coerce(value: Any, expected: str) -> tuple[bool, Any]:
    """The unambiguous coercion of `value` to the expected JSON type, if one exists."""
    if expected == "bool" and isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return True, value.strip().lower() == "true"
    if expected in ("int", "float") and isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return False, None
        if expected == "int" and number.is_integer():
            return True, int(number)
        if expected == "float":
            return True, int(number) if number.is_integer() and "." not in value else number
    if expected == "int" and isinstance(value, float) and value.is_integer():
        return True, int(value)
    if expected in ("str", "string") and isinstance(value, int) and not isinstance(value, bool):
        return True, str(value)
    return False, None


@functools.cache
def _known_keys(section: str) -> dict[str, list[str]]:
    """key -> dialects whose schema declares it, for 'belongs to another fork' hints."""
    owners: dict[str, list[str]] = {}
    for name in DIALECTS:
        compiled = load_compiled(name).sections.get(section)
        for key in compiled.fields if compiled is not None else ():
            owners.setdefault(key, []).append(name)
    return owners


def validate(ctx: Context) -> dict[str, list[Finding]]:
    """Findings per VC1xx code for ctx's file, computed once per Context."""
    cached = ctx.cache.get("fields")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    out: dict[str, list[Finding]] = {c: [] for c in ("VC101", "VC102", "VC103", "VC104", "VC105")}
    if ctx.dialect == UNKNOWN:
        ctx.cache["fields"] = _validate_unknown(ctx, out)
        return out
    schema = load_compiled(ctx.dialect if ctx.dialect in DIALECTS else "vits")
    if "whole" in schema.sections:
        _validate_model(ctx, schema.sections["whole"], ctx.data, "", out)
        ctx.cache["fields"] = out
        return out
    for name in SECTIONS:
        model = schema.sections.get(name)
        if model is None:
            continue
        value = ctx.data.get(name)
        pointer = pointer_of(name)
        if value is None and name not in ctx.data:
            out["VC103"].append(
                Finding(
                    pointer,
                    f"the `{name}` section is missing: the trainer reads hps.{name}.* and "
                    "stops with an AttributeError",
                    f'add a "{name}": {{...}} section',
                )
            )
            continue
        if not isinstance(value, dict):
            out["VC101"].append(
                Finding(
                    pointer,
                    f"`{name}` must be an object, not {type(value).__name__}",
                    'write {"key": value, ...}',
                )
            )
            continue
        _validate_model(ctx, model, value, pointer, out)
        _unknown_keys(ctx, model, value, name, out)
    # A typo'd key already explains its missing twin: report the cause once.
    typo_targets = {
        f.hint.rsplit("`", 2)[-2] for f in out["VC104"] if f.severity is Severity.ERROR and f.hint
    }
    out["VC103"] = [f for f in out["VC103"] if f.pointer.rsplit("/", 1)[-1] not in typo_targets]
    if schema.top is not None:  # the fork's typed top-level keys (config/schema/top.py)
        present = {k: v for k, v in ctx.data.items() if k in schema.top.fields}
        if present:
            _validate_model(ctx, schema.top, present, "", out)
    known_top = set(SECTIONS) | schema.top_level | {"$schema"}
    for key in ctx.data:
        if key not in known_top:
            out["VC104"].append(
                Finding(
                    pointer_of(key),
                    f"top-level key `{key}` is not read by {ctx.dialect}'s trainer",
                    None,
                    Severity.INFO,
                )
            )
    ctx.cache["fields"] = out
    return out


def _validate_unknown(ctx: Context, out: dict[str, list[Finding]]) -> dict[str, list[Finding]]:
    """Types and ranges of the VITS-named keys in the sections present; nothing else.
    A flat file (no sections, e.g. one YAML mapping) has its top-level keys judged
    against the section that names them (learning_rate as train's, hop_length as data's)."""
    schema = load_compiled("vits")
    flat = not any(isinstance(ctx.data.get(name), dict) for name in SECTIONS)
    for name in SECTIONS:
        model, value = schema.sections.get(name), ctx.data if flat else ctx.data.get(name)
        if model is None or not isinstance(value, dict):
            continue
        known = {k: v for k, v in value.items() if k in model.fields}
        if known:
            _validate_model(ctx, model, known, "" if flat else pointer_of(name), out)
    out["VC103"] = []
    return out


def _validate_model(
    ctx: Context,
    model: CompiledSection,
    value: dict[str, Any],
    base: str,
    out: dict[str, list[Finding]],
) -> None:
    if surely_valid(model.core, value):  # the common case, without importing pydantic_core
        return
    from pydantic_core import ValidationError

    try:
        model.validator.validate_python(value, strict=True)
        return
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    seen: set[str] = set()
    for error in errors:
        tokens: list[str | int] = []
        node: Any = value
        for token in error["loc"]:
            # Union members add type names to `loc`; keep only real path steps.
            if isinstance(node, dict) and token in node or isinstance(token, str) and not tokens:
                tokens.append(token)
                node = node.get(token) if isinstance(node, dict) else None
            elif isinstance(node, list) and isinstance(token, int):
                tokens.append(token)
                node = node[token] if token < len(node) else None
        pointer = base + pointer_of(*tokens)
        if pointer in seen:
            continue
        seen.add(pointer)
        key = ".".join(str(t) for t in [base.strip("/").replace("/", "."), *tokens] if t != "")
        _field_error(ctx, model, error, key, pointer, tokens, out)


def _field_error(
    ctx: Context,
    model: CompiledSection,
    error: Any,
    key: str,
    pointer: str,
    tokens: list[str | int],
    out: dict[str, list[Finding]],
) -> None:
    kind: str = error["type"]
    given = error.get("input")
    name = str(tokens[0]) if tokens else ""
    if kind == "missing":
        ref = model.reference.get(name)
        example = f" (reference value: {json.dumps(ref)})" if ref is not None else ""
        step = filled_by(ctx.dialect, pointer)
        if step is not None:
            out["VC103"].append(
                Finding(
                    pointer,
                    f"`{key}` is not in the file: {ctx.dialect}'s trainer needs it, and "
                    f"{step} fills it in; run that step before training",
                    f'or add "{name}"{example} yourself',
                    Severity.WARNING,
                )
            )
            return
        out["VC103"].append(
            Finding(
                pointer,
                f"`{key}` is missing: {ctx.dialect}'s trainer reads it as a required "
                "attribute and stops with an AttributeError when it first needs it, possibly "
                "after hours of training",
                f'add "{name}"{example}',
            )
        )
        return
    if kind.endswith("_type") or kind.endswith("_parsing") or kind in ("literal_error", "enum"):
        expected = kind.split("_")[0]
        shown = json.dumps(given) if _jsonable(given) else repr(given)
        ok, coerced = _coerce(given, expected)
        fix = Fix(f"write {json.dumps(coerced)}", pointer, coerced) if ok else None
        what = _TYPE_NAMES.get(expected, error["msg"].lower())
        if kind == "literal_error":
            # Only the first letter: the allowed values are case-sensitive ("v2Pro").
            msg = str(error["msg"])
            message = f"`{key}` is {shown}: {msg[:1].lower()}{msg[1:]}"
        else:
            message = f"`{key}` is {shown}, but the trainer needs {what}"
            if isinstance(given, str) and expected == "bool":
                message += ' (any non-empty string, even "false", counts as true in Python)'
        hint = f"write {json.dumps(coerced)} (vitscfg check --fix does it)" if ok else None
        if ok and ctx.doc.format == "yaml" and expected in ("int", "float"):
            # YAML 1.1 (PyYAML) reads 2e-4 as a string; the forks that load YAML
            # pass such values through float()/int(), so the file trains as written.
            message = (
                f"`{key}` is {shown}: YAML reads this number as a string, which trainers "
                "that load YAML convert with float(); a trainer that does not would fail"
            )
            hint = f"write {json.dumps(coerced)} to make it a YAML number"
            out["VC101"].append(Finding(pointer, message, hint, Severity.INFO, fix))
            return
        out["VC101"].append(Finding(pointer, message, hint, fix=fix))
        return
    bound = error.get("ctx", {})
    limit = next(iter(bound.values()), None) if bound else None
    shown = json.dumps(given) if _jsonable(given) else repr(given)
    message = f"`{key}` = {shown} is out of range: {error['msg'].lower()}"
    hint = None
    ref = model.reference.get(name)
    if ref is not None:
        hint = f"the reference config uses {json.dumps(ref)}"
    elif limit is not None:
        hint = f"choose a value that satisfies: {error['msg'].lower()}"
    out["VC102"].append(Finding(pointer, message, hint))


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _unknown_keys(
    ctx: Context,
    model: CompiledSection,
    value: dict[str, Any],
    section: str,
    out: dict[str, list[Finding]],
) -> None:
    fields = model.fields
    noop = model.noop
    owners = _known_keys(section)
    for key in value:
        pointer = pointer_of(section, key)
        if key in noop:
            out["VC105"].append(
                Finding(
                    pointer,
                    f"`{section}.{key}` has no effect in {ctx.dialect}: {noop[key]}",
                    "delete it, or keep it knowing that edits change nothing",
                )
            )
            continue
        if key in fields:
            continue
        twin = canonical(key)
        if twin != key and twin in fields and twin in value:
            out["VC104"].append(
                Finding(
                    pointer,
                    f"`{section}.{key}` is what other forks call `{twin}`, which is also set: "
                    f"{ctx.dialect}'s trainer reads only `{twin}`, so editing `{key}` "
                    "changes nothing",
                    f"remove `{key}` and keep `{twin}`",
                    Severity.WARNING,
                )
            )
            continue
        if twin != key and twin in fields and twin not in value:
            out["VC104"].append(
                Finding(
                    pointer,
                    f"`{section}.{key}` is what other forks call `{twin}`, but "
                    f"{ctx.dialect}'s trainer reads `{twin}`, which is not set"
                    + (": it stops with an AttributeError" if twin in model.required else ""),
                    f"rename `{key}` to `{twin}` (or pass --dialect if this config is for "
                    "another trainer)",
                    Severity.ERROR if twin in model.required else Severity.WARNING,
                )
            )
            continue
        # YAML allows null, number and boolean keys: only a string key has a spelling.
        close = (
            difflib.get_close_matches(key, sorted(fields), n=1, cutoff=0.75)
            if isinstance(key, str)
            else []
        )
        if close and close[0] not in value and canonical(close[0]) != canonical(key):
            out["VC104"].append(
                Finding(
                    pointer,
                    f"unknown key `{section}.{key}`: did you mean `{close[0]}`? The trainer "
                    f"ignores `{key}` and {'crashes because' if close[0] in model.required else 'silently uses the default since'} "
                    f"`{close[0]}` is not set",
                    f"rename `{key}` to `{close[0]}`",
                    Severity.ERROR,
                )
            )
        elif reads_own_key(f"{section}.{key}", ctx.dialect) == "train":
            out["VC105"].append(
                Finding(
                    pointer,
                    f"`{section}.{key}` is vitscfg's own key: `vitscfg train` reads it when "
                    f"it trains this {ctx.dialect} config, but {ctx.dialect}'s own trainer "
                    "ignores it",
                    f"keep it to train with vitscfg; with {ctx.dialect}'s own trainer it has "
                    "no effect",
                    Severity.INFO,
                )
            )
        elif reads_own_key(f"{section}.{key}", ctx.dialect) == "model":
            out["VC105"].append(
                Finding(
                    pointer,
                    f"`{section}.{key}` is vitscfg's own key: `vitscfg train` and `vitscfg "
                    f"estimate` build this {ctx.dialect} model with it, but {ctx.dialect}'s "
                    "own trainer ignores it",
                    "keep it for vitscfg (a D trained at a width other than 1.0 does not "
                    "load in the fork's own trainer)",
                    Severity.INFO,
                )
            )
        elif key in owners:
            where = ", ".join(owners[key])
            extra = (
                " (the reference forks require CUDA and use every visible GPU)"
                if key == "use_gpu"
                else ""
            )
            out["VC105"].append(
                Finding(
                    pointer,
                    f"`{section}.{key}` is read by {where}, not by {ctx.dialect}'s trainer: "
                    f"it has no effect here{extra}",
                    "remove it, or pass --dialect if this config is for another trainer",
                    Severity.WARNING,
                )
            )
        else:
            similar = f" (similar key `{close[0]}` is also set)" if close else ""
            out["VC104"].append(
                Finding(
                    pointer,
                    f"unknown key `{section}.{key}`{similar}: {ctx.dialect}'s trainer never "
                    "reads it, so it has no effect",
                    "remove it or check the spelling",
                    Severity.WARNING,
                )
            )
