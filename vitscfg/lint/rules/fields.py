"""VC1xx: one field at a time, against the dialect's pydantic schema (compiled:
see config/compiled.py).

Validation runs once per file (`_validate`, cached on the Context); each rule
returns its share of the findings so that codes stay stable and selectable.
"""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Iterable
from typing import Any

from vitscfg.config.compiled import CompiledSection, load_compiled
from vitscfg.config.dialect import DIALECTS
from vitscfg.diagnostic import Fix, Severity, pointer_of
from vitscfg.lint.registry import Context, Finding, rule

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


def _validate(ctx: Context) -> dict[str, list[Finding]]:
    cached = ctx.cache.get("fields")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    out: dict[str, list[Finding]] = {c: [] for c in ("VC101", "VC102", "VC103", "VC104", "VC105")}
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


def _validate_model(
    ctx: Context,
    model: CompiledSection,
    value: dict[str, Any],
    base: str,
    out: dict[str, list[Finding]],
) -> None:
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
            message = f"`{key}` is {shown}: {error['msg'].lower()}"
        else:
            message = f"`{key}` is {shown}, but the trainer needs {what}"
            if isinstance(given, str) and expected == "bool":
                message += ' (any non-empty string, even "false", counts as true in Python)'
        hint = f"write {json.dumps(coerced)} (vitscfg check --fix does it)" if ok else None
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
        close = difflib.get_close_matches(key, sorted(fields), n=1, cutoff=0.75)
        if close and close[0] not in value:
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


@rule("VC101", "wrong-type", Severity.ERROR)
def wrong_type(ctx: Context) -> Iterable[Finding]:
    """## What it does
    Reports a value of the wrong JSON type: a string where a number or boolean is
    read, a float where an integer is needed, an integer `port` where so-vits-svc
    needs a string. `--fix` converts the unambiguous cases ("true" -> true,
    "16" -> 16, 16.0 -> 16, 8001 -> "8001").

    ## Why is this bad?
    The trainers do no type checking. `"fp16_run": "false"` is a non-empty string,
    so Python treats it as true and trains in fp16; `"batch_size": "16"` crashes
    the DataLoader; a float segment size crashes slicing.

    ## Example
    ```json
    {"train": {"fp16_run": "false", "batch_size": "16"}}
    ```

    ## Use instead
    ```json
    {"train": {"fp16_run": false, "batch_size": 16}}
    ```
    """
    return _validate(ctx)["VC101"]


@rule("VC102", "out-of-range", Severity.ERROR)
def out_of_range(ctx: Context) -> Iterable[Finding]:
    """## What it does
    Reports values outside what the trainer can use: batch_size < 1,
    learning_rate <= 0 or > 1, lr_decay outside (0, 1], betas outside [0, 1),
    eps <= 0, negative loss weights, zero log/eval intervals, non-positive STFT
    sizes.

    ## Why is this bad?
    AdamW raises a ValueError for a bad learning rate, beta or epsilon; an interval
    of 0 is a ZeroDivisionError at step 0; lr_decay > 1 makes the learning rate
    grow every epoch until training diverges; a negative loss weight maximises that
    loss.

    ## Example
    ```json
    {"train": {"betas": [0.8, 1.2], "log_interval": 0}}
    ```

    ## Use instead
    ```json
    {"train": {"betas": [0.8, 0.99], "log_interval": 200}}
    ```
    """
    return _validate(ctx)["VC102"]


@rule("VC103", "missing-required-key", Severity.ERROR)
def missing_required_key(ctx: Context) -> Iterable[Finding]:
    """## What it does
    Reports a key (or section) that the dialect's trainer reads unconditionally
    but the config lacks.

    ## Why is this bad?
    Configs become attribute bags (`hps.train.eval_interval`): a missing key is an
    AttributeError the first time the code touches it, which for `eval_interval`
    is after the first training step and for Bert-VITS2's `bf16_run` at start-up.

    ## Example
    ```json
    {"train": {"batch_size": 16}}
    ```

    ## Use instead
    Copy the missing keys from the fork's reference config (the hint gives the
    reference value).
    """
    return _validate(ctx)["VC103"]


@rule("VC104", "unknown-key", Severity.WARNING)
def unknown_key(ctx: Context) -> Iterable[Finding]:
    """## What it does
    Reports keys the dialect's trainer never reads. When a known key with a close
    spelling is missing, the finding is an error with a did-you-mean.

    ## Why is this bad?
    No VITS trainer validates its config: `learing_rate` is accepted and ignored,
    and the real `learning_rate` is then missing (AttributeError) or, where a
    default exists, silently replaced by it. Unknown `model` keys are swallowed by
    `**kwargs`.

    ## Example
    ```json
    {"train": {"learing_rate": 2e-4}}
    ```

    ## Use instead
    ```json
    {"train": {"learning_rate": 2e-4}}
    ```
    """
    return _validate(ctx)["VC104"]


@rule("VC105", "key-without-effect", Severity.INFO)
def key_without_effect(ctx: Context) -> Iterable[Finding]:
    """## What it does
    Reports keys that are valid somewhere but do nothing in this dialect:
    `init_lr_ratio` (read by no trainer), `warmup_epochs` outside so-vits-svc 4.1
    and Style-Bert-VITS2, `n_layers_q` (the posterior encoder is fixed at 16
    layers), `fp16_run` in Bert-VITS2 2.3 (it reads `bf16_run`), and keys of other
    forks such as `use_gpu` (read only by vitscfg's own trainer; warning).

    ## Why is this bad?
    People tune them and nothing happens: a warm-up that never runs, a GPU switch
    that the reference trainer ignores (it requires CUDA).

    ## Example
    ```json
    {"train": {"warmup_epochs": 5}}
    ```

    ## Use instead
    Delete the key, or use a trainer that reads it.
    """
    return _validate(ctx)["VC105"]
