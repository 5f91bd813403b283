"""VC210-VC217: generator and encoder shapes."""

from __future__ import annotations

from collections.abc import Iterator

from vitscfg.diagnostic import Fix, Severity
from vitscfg.lint.registry import Context, Finding, rule


@rule("VC210", "heads-do-not-divide-hidden", Severity.ERROR, any_fork=True)
def heads_do_not_divide_hidden(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Checks `model.hidden_channels % model.n_heads == 0` and that
    `model.inter_channels` is even.

    ## Why is this bad?
    Multi-head attention splits the channels evenly between heads (an assert at
    model construction), and the flow's coupling layers split z in two halves.

    ## Example
    ```json
    {"model": {"hidden_channels": 192, "n_heads": 5}}
    ```

    ## Use instead
    ```json
    {"model": {"hidden_channels": 192, "n_heads": 2}}
    ```

    ## References
    vits attentions.py:104, modules.py:308.
    """
    hidden = ctx.integer("/model/hidden_channels")
    heads = ctx.integer("/model/n_heads")
    if hidden and heads and heads > 0 and hidden % heads:
        divisors = [h for h in range(1, min(hidden, 16) + 1) if hidden % h == 0]
        yield Finding(
            "/model/n_heads",
            f"hidden_channels {hidden} is not divisible by n_heads {heads}: model "
            "construction fails",
            f"use n_heads in {divisors}",
        )
    inter = ctx.integer("/model/inter_channels")
    if inter and inter % 2:
        yield Finding(
            "/model/inter_channels",
            f"inter_channels {inter} is odd: the flow splits z into two equal halves",
            f"use {inter + 1}",
        )


@rule("VC211", "upsample-kernels-mismatch", Severity.ERROR, any_fork=True)
def upsample_kernels_mismatch(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Checks `len(upsample_kernel_sizes) == len(upsample_rates)`, each kernel >= its
    stride with an even difference, and that `upsample_initial_channel` survives
    halving once per stage.

    ## Why is this bad?
    Layers are built with `zip` but run `len(upsample_rates)` times: fewer kernels
    is an IndexError in the first step, more are silently ignored. The
    transposed-convolution padding `(k - u) // 2` gives exactly `L x u` samples
    only for an even difference; an odd one adds a sample per stage and the loss
    shapes no longer match.

    ## Example
    ```json
    {"model": {"upsample_rates": [8, 8, 2, 2], "upsample_kernel_sizes": [16, 16, 4]}}
    ```

    ## Use instead
    ```json
    {"model": {"upsample_rates": [8, 8, 2, 2], "upsample_kernel_sizes": [16, 16, 4, 4]}}
    ```

    ## References
    vits models.py:248-260.
    """
    rates = ctx.int_list("/model/upsample_rates")
    kernels = ctx.int_list("/model/upsample_kernel_sizes")
    if not rates or not kernels:
        return
    if len(kernels) < len(rates):
        yield Finding(
            "/model/upsample_kernel_sizes",
            f"{len(kernels)} upsample kernels for {len(rates)} upsample rates: "
            "IndexError in the first step",
            f"add kernels for the last strides, e.g. {[2 * r for r in rates]}",
        )
    elif len(kernels) > len(rates):
        yield Finding(
            "/model/upsample_kernel_sizes",
            f"{len(kernels)} upsample kernels for {len(rates)} rates: the extra "
            f"{len(kernels) - len(rates)} are silently ignored",
            f"use {kernels[: len(rates)]}",
            Severity.WARNING,
        )
    for i, (u, k) in enumerate(zip(rates, kernels, strict=False)):
        if k < u or (k - u) % 2:
            yield Finding(
                f"/model/upsample_kernel_sizes/{i}",
                f"kernel {k} for stride {u}: the kernel must be >= the stride with an "
                "even difference, else the output length drifts and the losses crash",
                f"use {2 * u}",
            )
    initial = ctx.integer("/model/upsample_initial_channel")
    if initial and initial // 2 ** len(rates) < 1:
        yield Finding(
            "/model/upsample_initial_channel",
            f"{initial} channels halved {len(rates)} times reach 0",
            f"use at least {2 ** len(rates)}",
        )


@rule("VC212", "resblock-shape-mismatch", Severity.ERROR, any_fork=True)
def resblock_shape_mismatch(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Checks the HiFi-GAN residual blocks: as many dilation lists as kernel sizes,
    at least 3 dilations per block for type "1" and 2 for type "2", and odd
    kernel sizes.

    ## Why is this bad?
    Blocks are counted from the kernels but built with `zip`: a missing dilation
    list is an IndexError in the first step. With an even kernel the padding
    `(k*d - d) / 2` shortens the signal and the residual addition fails.

    ## Example
    ```json
    {"model": {"resblock_kernel_sizes": [3, 7, 11], "resblock_dilation_sizes": [[1, 3, 5]]}}
    ```

    ## Use instead
    ```json
    {"model": {"resblock_kernel_sizes": [3, 7, 11],
               "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]]}}
    ```

    ## References
    vits models.py:247,261; modules.py:187-240.
    """
    kernels = ctx.int_list("/model/resblock_kernel_sizes")
    dilations = ctx.get("/model/resblock_dilation_sizes")
    if not kernels or not isinstance(dilations, list):
        return
    if len(dilations) < len(kernels):
        yield Finding(
            "/model/resblock_dilation_sizes",
            f"{len(dilations)} dilation lists for {len(kernels)} resblock kernels: "
            "IndexError in the first step",
            f"give one list per kernel, e.g. {[[1, 3, 5]] * len(kernels)}",
        )
    need = 3 if ctx.get("/model/resblock") == "1" else 2
    for i, dil in enumerate(dilations):
        if isinstance(dil, list) and len(dil) < need:
            yield Finding(
                f"/model/resblock_dilation_sizes/{i}",
                f"resblock type {ctx.get('/model/resblock')!r} uses {need} dilations "
                f"per block, this list has {len(dil)}: IndexError at construction",
                f"use {[1, 3, 5][:need]}",
            )
    for i, k in enumerate(kernels):
        if k % 2 == 0:
            yield Finding(
                f"/model/resblock_kernel_sizes/{i}",
                f"even resblock kernel {k}: the padded convolution shortens the signal "
                "and the residual add fails",
                f"use {k + 1}",
            )


@rule("VC213", "resblock-not-a-string", Severity.WARNING, any_fork=True)
def resblock_not_a_string(ctx: Context) -> Iterator[Finding]:
    """## What it does
    Checks that `model.resblock` is the string "1" or "2". `--fix` turns 1 into "1".

    ## Why is this bad?
    The decoder tests `resblock == "1"`; anything else, including the integer 1,
    silently builds ResBlock2: a different architecture, and reference checkpoints
    then load with mismatched or randomly initialised weights.

    ## Example
    ```json
    {"model": {"resblock": 1}}
    ```

    ## Use instead
    ```json
    {"model": {"resblock": "1"}}
    ```

    ## Fix safety
    Safe: `--fix` writes the number as the string the trainers compare against
    (`1` -> `"1"`), which is what the file meant.

    ## References
    vits models.py:250.
    """
    value = ctx.get("/model/resblock")
    if "resblock" not in ctx.section("model") or value in ("1", "2"):
        return
    fix = None
    if value in (1, 2) and not isinstance(value, bool):
        fix = Fix(f'write "{value}"', "/model/resblock", str(value))
    yield Finding(
        "/model/resblock",
        f'resblock is {value!r}, not the string "1" or "2": the decoder silently uses ResBlock2',
        f'write "{value}"' if fix else 'write "1" (HiFi-GAN V1)',
        fix=fix,
    )
