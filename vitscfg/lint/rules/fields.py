"""VC101-VC105: one field at a time, against the dialect's schema.

The validation itself (one pass per file, calibrated for unknown forks, pipeline-
filled keys, synonyms and YAML strings) lives in _validate.py; each rule here
returns its share of the findings, so codes stay stable and selectable.
"""

from __future__ import annotations

from collections.abc import Iterable

from vitscfg.diagnostic import Severity
from vitscfg.lint.registry import Context, Finding, rule
from vitscfg.lint.rules._validate import validate


@rule("VC101", "wrong-type", Severity.ERROR, any_fork=True)
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
    return validate(ctx)["VC101"]


@rule("VC102", "out-of-range", Severity.ERROR, any_fork=True)
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
    return validate(ctx)["VC102"]


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
    return validate(ctx)["VC103"]


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
    return validate(ctx)["VC104"]


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
    return validate(ctx)["VC105"]
