"""The `vitscfg` command line: typer declarations only; work happens in the
packages (lint/, config/, train/, estimate/). Heavy modules are imported inside
the command that needs them, so `vitscfg check` never imports torch.

Exit codes: 0 ok, 1 findings or failure, 2 usage error or unreadable input.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="vitscfg",
    help="Lint, size and train VITS-family speech-model configs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _fail(message: str, code: int = 2) -> typer.Exit:
    sys.stderr.write(f"vitscfg: {message}\n")
    return typer.Exit(code)


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def check(ctx: typer.Context) -> None:
    """Validate configs: schema, cross-field rules and data (`vitscfg check --help`)."""
    from vitscfg.lint.command import run

    raise typer.Exit(run(ctx.args))


@app.command()
def explain(
    topic: Annotated[
        str,
        typer.Argument(
            help="A rule code (VC201) or a field (batch_size, train.segment_size).",
            show_default=False,
        ),
    ],
    lang: Annotated[str, typer.Option(help="en or fr.")] = "en",
) -> None:
    """Print the documentation of a rule (What / Why / Example) or of a config field."""
    from vitscfg.explain import find_field, render_field, render_rule

    if lang not in ("en", "fr"):
        raise _fail("--lang must be en or fr")
    if topic.upper().startswith("VC"):
        text = render_rule(topic)
        if text is None:
            raise _fail(f"no rule {topic.upper()}; `vitscfg rules` lists them", 1)
        sys.stdout.write(text)
        return
    docs = find_field(topic)
    if not docs:
        raise _fail(f"no field or rule named {topic!r}", 1)
    sys.stdout.write("\n".join(render_field(doc, lang) for doc in docs))


@app.command()
def rules() -> None:
    """List every rule: code, default severity, name."""
    from vitscfg.lint.registry import all_rules

    for code, rule_ in all_rules().items():
        sys.stdout.write(f"{code}  {rule_.severity.value:<7}  {rule_.name}\n")


@app.command()
def dialects() -> None:
    """List the dialects (forks) vitscfg knows."""
    from vitscfg.config.dialect import DIALECT_TITLES

    for name, title in DIALECT_TITLES.items():
        sys.stdout.write(f"{name:<18} {title}\n")


@app.command()
def lsp() -> None:
    """Run the language server on stdin/stdout, for editors (docs/editors.md)."""
    from vitscfg.lsp import serve

    raise typer.Exit(serve())


@app.command()
def preprocess(
    config: Annotated[
        Path, typer.Argument(help="Config whose filelists to prepare.", show_default=False)
    ],
    resample: Annotated[
        bool,
        typer.Option(
            help="Resample audio whose rate differs from data.sampling_rate (torchaudio)."
        ),
    ] = False,
) -> None:
    """Clean the filelists' text and build the spectrogram caches (with a progress bar)."""
    from vitscfg.data.preprocess import run_preprocess
    from vitscfg.opening import Refused, open_config

    try:  # the opening every command shares; the data rules are what preprocess fixes
        open_config(config, check_data=False, support=False)
    except Refused as exc:
        if exc.check is not None and exc.check.errors:
            from vitscfg.lint.report import REPORTERS

            sys.stderr.write(REPORTERS["text"](exc.check, color=False).rstrip("\n") + "\n")
        raise _fail(f"preprocess: {exc.message}", exc.exit_code) from None
    raise typer.Exit(run_preprocess(str(config), resample))


@app.command()
def init(
    dataset: Annotated[
        Path, typer.Argument(help="Folder of recordings and transcripts.", show_default=False)
    ],
    out: Annotated[Path, typer.Option(help="Project folder to write.", show_default=False)],
    layout: Annotated[
        str | None,
        typer.Option(
            "--format", help="ljspeech, vctk, filelists or speaker-folders (default: detected)."
        ),
    ] = None,
    sample_rate: Annotated[
        int | None,
        typer.Option(help="22050, 24000, 32000, 40000, 44100 or 48000 (default: the data's)."),
    ] = None,
    template: Annotated[str, typer.Option(help="tiny or base (the bundled examples).")] = "tiny",
    language: Annotated[
        str | None, typer.Option(help="en, latin or other (default: guessed from the text).")
    ] = None,
    cleaners: Annotated[
        str | None, typer.Option(help="Comma-separated text cleaners (overrides --language).")
    ] = None,
    val: Annotated[
        int | None, typer.Option(help="Validation clips (default: a few per speaker).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the validation split.")] = 1234,
    trim_db: Annotated[
        float | None, typer.Option(help="Trim leading/trailing audio this many dB below peak.")
    ] = None,
    drop_bad: Annotated[
        bool, typer.Option(help="Leave out (and list) clips without or with unreadable audio.")
    ] = False,
    vram: Annotated[
        str | None, typer.Option(help="Size the batch for this card: 24GiB or a name (T4).")
    ] = None,
    gpu: Annotated[bool, typer.Option("--gpu", help="Size the batch on this CUDA GPU.")] = False,
    batch_size: Annotated[
        int | None, typer.Option(help="Use this batch_size (no estimate).")
    ] = None,
    estimate: Annotated[bool, typer.Option(help="Size the batch with `vitscfg estimate`.")] = True,
    cpu: Annotated[bool, typer.Option("--cpu", help="Write train.use_gpu: false.")] = False,
) -> None:
    """Turn a folder of recordings into a checked, ready-to-train project (config, filelists,
    converted audio). Never modifies DATASET. Exit 0 ok, 1 data problems, 2 usage."""
    from vitscfg.init.run import InitOptions, run_init

    opts = InitOptions(
        dataset=dataset,
        out=out,
        layout=layout,
        sample_rate=sample_rate,
        template=template,
        language=language,
        cleaners=tuple(c.strip() for c in cleaners.split(",") if c.strip()) if cleaners else (),
        val=val,
        seed=seed,
        trim_db=trim_db,
        drop_bad=drop_bad,
        vram=vram,
        gpu=0 if gpu else None,
        batch_size=batch_size,
        estimate=estimate,
        use_gpu=not cpu,
    )
    raise typer.Exit(run_init(opts))


@app.command()
def schema(
    dialect: Annotated[str, typer.Option(help="Dialect whose JSON Schema to print.")] = "vitscfg",
    write: Annotated[
        Path | None,
        typer.Option(help="Write every dialect's schema into this folder instead (e.g. schemas/)."),
    ] = None,
) -> None:
    """Emit the JSON Schema of a dialect's config (editors validate through "$schema")."""
    from vitscfg.config.dialect import DIALECTS
    from vitscfg.config.jsonschema import render, write_all

    if write is not None:
        for path in write_all(write):
            sys.stdout.write(f"wrote {path}\n")
        return
    if dialect not in DIALECTS:
        raise _fail(f"unknown dialect {dialect!r}; choose from {', '.join(DIALECTS)}")
    sys.stdout.write(render(dialect))


@app.command()
def train(
    config: Annotated[Path, typer.Argument(help="Config to train.", show_default=False)],
    run_dir: Annotated[
        Path | None,
        typer.Option(help="Checkpoints and TensorBoard logs (default: runs/<config stem>)."),
    ] = None,
    max_steps: Annotated[
        int | None, typer.Option(help="Stop (and save) when the global step reaches N.")
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Continue from the newest valid checkpoint in the run dir.")
    ] = True,
    init_from: Annotated[
        Path | None,
        typer.Option(help="Warm-start G from a G_*.pth (fine-tuning; loads what fits)."),
    ] = None,
    init_d: Annotated[
        Path | None, typer.Option(help="With --init-from: warm-start D from a D_*.pth.")
    ] = None,
    resample: Annotated[
        bool, typer.Option(help="Resample audio whose rate differs from data.sampling_rate.")
    ] = False,
    cpu: Annotated[
        bool,
        typer.Option(
            "--cpu",
            help="Train on the CPU whatever train.use_gpu says (a fork's config has no "
            "use_gpu and means CUDA).",
        ),
    ] = False,
) -> None:
    """Train a VITS model with the bundled trainer (runs `check` first)."""
    from vitscfg.estimate.predict import start_reserved_prediction
    from vitscfg.train.run import run_train

    raise typer.Exit(
        run_train(
            config,
            run_dir=run_dir,
            max_steps=max_steps,
            resume=resume,
            init_from=init_from,
            init_d=init_d,
            resample=resample,
            cpu=cpu,
            memory_check=start_reserved_prediction,  # train/ never imports estimate/
        )
    )


@app.command()
def synth(
    text: Annotated[str, typer.Argument(help="Text to speak.", show_default=False)],
    checkpoint: Annotated[
        Path, typer.Option(help="Generator checkpoint G_<step>.pth.", show_default=False)
    ],
    config: Annotated[
        Path, typer.Option(help="The config the model was trained with.", show_default=False)
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="WAV file to write.")] = Path(
        "out.wav"
    ),
    speaker: Annotated[int, typer.Option(help="Speaker id (multi-speaker models).")] = 0,
    noise_scale: Annotated[float, typer.Option(help="Prior noise (variety of voice).")] = 0.667,
    noise_scale_w: Annotated[float, typer.Option(help="Duration noise (variety of rhythm).")] = 0.8,
    length_scale: Annotated[float, typer.Option(help="> 1 speaks slower.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Seed of the sampling noise.")] = 0,
) -> None:
    """Synthesise speech from text with a trained generator; writes a 16-bit WAV."""
    from vitscfg.train.synth import run_synth

    raise typer.Exit(
        run_synth(
            text,
            checkpoint=checkpoint,
            config=config,
            output=output,
            speaker=speaker,
            noise_scale=noise_scale,
            noise_scale_w=noise_scale_w,
            length_scale=length_scale,
            seed=seed,
        )
    )


def _int_list(value: str | None, option: str) -> tuple[int, ...]:
    if not value:
        return ()
    try:
        return tuple(int(v) for v in value.replace(" ", "").split(",") if v)
    except ValueError:
        raise _fail(f"{option} takes comma-separated integers, e.g. 4,8,16") from None


@app.command()
def estimate(
    config: Annotated[Path, typer.Argument(help="Config to size.", show_default=False)],
    gpu: Annotated[
        bool, typer.Option("--gpu", help="Measure real training steps on a CUDA GPU.")
    ] = False,
    gpu_index: Annotated[int, typer.Option("--gpu-index", help="CUDA device index for --gpu.")] = 0,
    vram: Annotated[
        str | None,
        typer.Option(help="What-if card: a size (24GiB) or a name (T4, A100-80GB, RTX 4090)."),
    ] = None,
    batch_sizes: Annotated[
        str | None,
        typer.Option(help="Grid batch sizes, e.g. 4,8,16 (default: around the config's)."),
    ] = None,
    segment_sizes: Annotated[
        str | None, typer.Option(help="Grid segment sizes, e.g. 8192,12800.")
    ] = None,
    margin: Annotated[
        float,
        typer.Option(
            help="Safety margin below capacity (mixed bucket shapes reserve up to ~6 % more than one shape)."
        ),
    ] = 0.07,
    output_format: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    plot: Annotated[
        str | None, typer.Option(help="'-' for a terminal plot, or a PNG path (matplotlib).")
    ] = None,
    write: Annotated[
        bool, typer.Option(help="Apply the recommendation to the config (diff shown, atomic).")
    ] = False,
    no_data: Annotated[
        bool, typer.Option("--no-data", help="Do not read filelists; use the loader's limits.")
    ] = False,
    max_text_len: Annotated[
        int | None, typer.Option(help="Override the worst-case text ids per item.")
    ] = None,
    max_spec_frames: Annotated[
        int | None, typer.Option(help="Override the worst-case spectrogram frames per item.")
    ] = None,
    precision: Annotated[
        str | None,
        typer.Option(
            help="Trace in fp32, fp16 or bf16 instead of what the config (and, for RVC, the GPU) picks."
        ),
    ] = None,
) -> None:
    """Which batch_size / segment_size fit this GPU (or RAM), and how long training takes.

    Without --gpu: a prediction from a trace of the training step on meta tensors (no GPU
    needed). --gpu: measured on the GPU (--gpu-index N picks it). Exit 0 ok, 1 the config
    fails check / unusable data / nothing fits, 2 usage error (no CUDA, no such GPU, ...).
    """
    from vitscfg.estimate.run import EstimateOptions, run_estimate

    opts = EstimateOptions(
        str(config),
        gpu_index if gpu else None,
        vram,
        _int_list(batch_sizes, "--batch-sizes"),
        _int_list(segment_sizes, "--segment-sizes"),
        margin,
        output_format,
        plot,
        write,
        no_data,
        max_text_len,
        max_spec_frames,
        precision=precision,
    )
    raise typer.Exit(run_estimate(opts))


def main() -> None:
    """Console-script entry point (see vitscfg/__main__.py for the fast `check` path)."""
    from vitscfg.__main__ import main as entry

    entry()


if __name__ == "__main__":
    main()
