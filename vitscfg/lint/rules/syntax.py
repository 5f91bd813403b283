"""VC0xx: reading the file. The loader (config/load.py, config/jsonpos.py) emits
these diagnostics; the functions here only carry their documentation."""

from __future__ import annotations

from collections.abc import Iterable

from vitscfg.diagnostic import Severity
from vitscfg.lint.registry import Context, Finding, rule


def _emitted_by_loader(ctx: Context) -> Iterable[Finding]:
    return ()


@rule("VC001", "invalid-syntax", Severity.ERROR, any_fork=True)
def invalid_syntax(ctx: Context) -> Iterable[Finding]:
    """## What it does
    Reports a file that is not valid JSON (or YAML for .yaml/.yml files), with the
    line and column where parsing stopped.

    ## Why is this bad?
    Every trainer loads its config with `json.loads` before anything else: the run
    stops at once with a JSONDecodeError that gives only a character offset.

    ## Example
    ```json
    {"train": {"batch_size": 16 "epochs": 100}}
    ```

    ## Use instead
    ```json
    {"train": {"batch_size": 16, "epochs": 100}}
    ```
    """
    return _emitted_by_loader(ctx)


@rule("VC002", "duplicate-key", Severity.WARNING, any_fork=True)
def duplicate_key(ctx: Context) -> Iterable[Finding]:
    """## What it does
    Reports a key that appears twice in the same object.

    ## Why is this bad?
    Python's `json` (and YAML loaders) silently keep the last value. The file then
    says two things and the trainer believes the second: an edit to the first copy
    has no effect, which is a classic way to lose an afternoon.

    ## Example
    ```json
    {"train": {"batch_size": 32, "learning_rate": 2e-4, "batch_size": 8}}
    ```

    ## Use instead
    Keep one entry per key.
    """
    return _emitted_by_loader(ctx)


@rule("VC003", "comment-in-json", Severity.ERROR, any_fork=True)
def comment_in_json(ctx: Context) -> Iterable[Finding]:
    """## What it does
    Reports `//`, `#` or `/* */` comments in a JSON config.

    ## Why is this bad?
    JSON has no comments; `json.loads` in the trainer fails on the first one.

    ## Example
    ```json
    {"train": {"batch_size": 16 // fits a 12 GB card}}
    ```

    ## Use instead
    ```json
    {"train": {"batch_size": 16, "_comment": "fits a 12 GB card"}}
    ```
    """
    return _emitted_by_loader(ctx)


@rule("VC004", "trailing-comma", Severity.ERROR, any_fork=True)
def trailing_comma(ctx: Context) -> Iterable[Finding]:
    """## What it does
    Reports a comma before a closing `}` or `]`. `--fix` deletes it.

    ## Why is this bad?
    Allowed in Python and JavaScript, rejected by `json.loads`: the trainer stops
    before it starts.

    ## Example
    ```json
    {"train": {"betas": [0.8, 0.99],}}
    ```

    ## Use instead
    ```json
    {"train": {"betas": [0.8, 0.99]}}
    ```

    ## Fix safety
    Safe: `--fix` deletes only the comma, a character `json.loads` rejects; no value
    changes.
    """
    return _emitted_by_loader(ctx)


@rule("VC005", "non-finite-number", Severity.ERROR, any_fork=True)
def non_finite_number(ctx: Context) -> Iterable[Finding]:
    """## What it does
    Reports `NaN`, `Infinity` and `-Infinity` literals.

    ## Why is this bad?
    They are not JSON, but Python's `json` accepts them: the trainer starts and
    computes with them, and every loss becomes NaN.

    ## Example
    ```json
    {"train": {"c_kl": NaN}}
    ```

    ## Use instead
    ```json
    {"train": {"c_kl": 1.0}}
    ```
    """
    return _emitted_by_loader(ctx)


@rule("VC006", "byte-order-mark", Severity.ERROR, any_fork=True)
def byte_order_mark(ctx: Context) -> Iterable[Finding]:
    """## What it does
    Reports a UTF-8 byte-order mark at the start of the file (Windows editors add
    one). `--fix` removes it.

    ## Why is this bad?
    The reference `utils.get_hparams` reads the file as text and calls
    `json.loads`, which raises "Unexpected UTF-8 BOM".

    ## Example
    A file saved as "UTF-8 with BOM" by Notepad.

    ## Use instead
    Save as UTF-8 (without BOM).

    ## Fix safety
    Safe: `--fix` removes the three BOM bytes and nothing else.
    """
    return _emitted_by_loader(ctx)


@rule("VC007", "empty-file", Severity.ERROR, any_fork=True)
def empty_file(ctx: Context) -> Iterable[Finding]:
    """## What it does
    Reports an empty (or whitespace-only) config file.

    ## Why is this bad?
    There is nothing to train from; `json.loads` fails with "Expecting value".

    ## Example
    A zero-byte `config.json` left by an interrupted copy.

    ## Use instead
    Start from your fork's `configs/` folder or `examples/ljs_base.json`.
    """
    return _emitted_by_loader(ctx)


@rule("VC008", "placeholder-instead-of-config", Severity.ERROR, any_fork=True)
def placeholder_instead_of_config(ctx: Context) -> Iterable[Finding]:
    """## What it does
    Reports a file whose only content is one line that looks like a path.

    ## Why is this bad?
    Some forks ship a git symlink in their config slot; checked out without symlink
    support (Windows, zip downloads) it becomes a text file holding the target path.
    The trainer then fails with a bare JSONDecodeError.

    ## Example
    ```text
    ../configs/base.json
    ```

    ## Use instead
    Replace the file by the config it points to.
    """
    return _emitted_by_loader(ctx)


@rule("VC009", "not-an-object", Severity.ERROR, any_fork=True)
def not_an_object(ctx: Context) -> Iterable[Finding]:
    """## What it does
    Reports a document whose top level is not an object (a list, a string, ...).

    ## Why is this bad?
    Trainers read `config["train"]`, `config["data"]`, `config["model"]`: a list
    fails with a TypeError before anything else.

    ## Example
    ```json
    [{"train": {}}]
    ```

    ## Use instead
    ```json
    {"train": {}, "data": {}, "model": {}}
    ```
    """
    return _emitted_by_loader(ctx)
