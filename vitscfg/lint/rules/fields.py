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

    ## Fix safety
    Safe for the conversions it offers, which have one meaning: `"true"`/`"false"`
    (any case) to booleans, digit strings and whole floats to integers, numbers to
    strings where a string is read. Note that `"false"` -> `false` restores what the
    file says, not what the trainer did with it (a non-empty string is true). Nothing
    is offered for `"yes"`, `"1"` as a boolean, or `"16.5"` as an integer.

    ## Known problems
    In YAML files a number such as `2e-4` is read as a string by YAML 1.1 loaders
    (PyYAML); forks that load YAML convert it with `float()`, so it is reported as
    info there, not as an error. In a file of an unknown fork only keys that VITS
    names the same way are checked.
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

    ## Known problems
    Keys a fork's own pipeline writes before training (Style-Bert-VITS2's `data.spk2id`
    from preprocess_text.py, the RVC WebUI's and Applio's batch size from the command
    line) are warnings naming that step, from the table in `vitscfg/config/pipeline.py`.
    A preprocessing step vitscfg does not know about still gets an error; pass
    `--ignore VC103` for that key's file if the step fills it. Files no dialect fits
    (`unknown`) never get this finding.
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

    ## Known problems
    A key read by a fork variant vitscfg has no dialect for (e.g. `freeze_YUE_bert`
    in a Cantonese Bert-VITS2) is a warning here; `--ignore VC104` silences it. Another
    fork's name for a key (`sample_rate` for `sampling_rate`, `n_fft`, `n_mels`, ...) is
    never offered as a did-you-mean: when this dialect's own key is missing, the finding
    says which key the trainer reads; a file that uses several such names is usually
    another fork's, and is detected as that fork or as `unknown`.
    """
    return validate(ctx)["VC104"]


@rule("VC105", "key-without-effect", Severity.INFO)
def key_without_effect(ctx: Context) -> Iterable[Finding]:
    """## What it does
    Reports keys that are valid somewhere but do nothing in this dialect:
    `init_lr_ratio` (read by no trainer), `warmup_epochs` outside so-vits-svc 4.1
    and Style-Bert-VITS2, `n_layers_q` (the posterior encoder is fixed at 16
    layers), `fp16_run` in Bert-VITS2 2.3 (it reads `bf16_run`), and keys of other
    forks such as `use_gpu` (read only by vitscfg's own trainer; warning). In the
    dialects `vitscfg train` trains itself (VITS, VITS2, MB-iSTFT-VITS(2)), vitscfg's
    own keys (`use_gpu`, `grad_accum_steps`, `model.discriminator_width`, ...) are an
    info instead: vitscfg reads them, the fork's own trainer does not.

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
