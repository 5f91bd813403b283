"""The `vitscfg` command line: typer declarations only; work happens in the
packages (lint/, config/, train/, estimate/). Heavy modules are imported inside
the command that needs them, so `vitscfg check` never imports torch.

Exit codes: 0 ok, 1 findings or failure, 2 usage error or unreadable input.
"""

from __future__ import annotations

import os
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


@app.command()
def check(
    files: Annotated[
        list[Path], typer.Argument(help="Config files (JSON or YAML).", show_default=False)
    ],
    output_format: Annotated[
        str, typer.Option("--format", help="text, json, sarif or github.")
    ] = "text",
    dialect: Annotated[
        str | None,
        typer.Option(help="Force a dialect instead of detecting it (see `vitscfg dialects`)."),
    ] = None,
    select: Annotated[
        list[str] | None, typer.Option(help="Only these codes or prefixes (VC2, VC201,VC203).")
    ] = None,
    ignore: Annotated[
        list[str] | None, typer.Option(help="Skip these codes or prefixes.")
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Warnings fail the run too.")] = False,
    no_data: Annotated[
        bool, typer.Option("--no-data", help="Do not read filelists or audio.")
    ] = False,
    fix: Annotated[
        bool, typer.Option("--fix", help="Apply the safe fixes in place (atomic).")
    ] = False,
    diff: Annotated[
        bool, typer.Option("--diff", help="Show the safe fixes as a diff; change nothing.")
    ] = False,
    color: Annotated[
        bool | None,
        typer.Option("--color/--no-color", help="Colour text output (default: on a terminal)."),
    ] = None,
) -> None:
    """Validate configs: every field of the fork's schema, the cross-field rules that
    make trainers crash or misbehave, and (when found) the data on disk."""
    from vitscfg.config.dialect import DIALECTS
    from vitscfg.config.load import UnreadableInput
    from vitscfg.lint.report import REPORTERS
    from vitscfg.lint.run import CheckOptions, check_paths, parse_codes
    from vitscfg.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        raise _fail(str(exc)) from None
    if output_format not in REPORTERS:
        raise _fail(f"unknown --format {output_format!r}; choose from {', '.join(REPORTERS)}")
    chosen = dialect or settings.dialect
    if chosen is not None and chosen not in DIALECTS:
        raise _fail(f"unknown dialect {chosen!r}; choose from {', '.join(DIALECTS)}")
    options = CheckOptions(
        dialect=chosen,
        select=parse_codes(select) or settings.select,
        ignore=parse_codes(ignore) or settings.ignore,
        check_data=settings.data and not no_data,
    )
    try:
        result = check_paths(files, options)
    except UnreadableInput as exc:
        raise _fail(str(exc)) from None
    if fix or diff:
        from vitscfg.lint.fixcmd import apply_fixes

        result = apply_fixes(result, options, write=fix)
    use_color = (
        color
        if color is not None
        else (output_format == "text" and sys.stdout.isatty() and "NO_COLOR" not in os.environ)
    )
    text = REPORTERS[output_format](result, color=use_color)
    sys.stdout.write(text + ("\n" if text and not text.endswith("\n") else ""))
    raise typer.Exit(result.exit_code(strict or settings.strict))


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


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
