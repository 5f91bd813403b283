"""`vitscfg check` argument parsing and execution, with argparse.

Why not typer here: `check` runs in pre-commit on every commit and its
start-up time is a measured bar; typer + click cost ~140 ms of imports on this
machine, more than the whole check. `vitscfg.cli.main` sends `check` straight
here; the typer app forwards `vitscfg check ...` here too, so the options are
declared once.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

FORMATS = ("text", "json", "sarif", "github")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vitscfg check",
        description="Validate VITS-family configs: every field of the fork's schema, the "
        "cross-field rules that make trainers crash or misbehave, and (when found) the data "
        "on disk. Exit 0: no errors; 1: errors found; 2: usage error or unreadable file.",
    )
    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="config files (JSON or YAML), or folders of them"
    )
    parser.add_argument(
        "--format",
        dest="output_format",
        default="text",
        choices=FORMATS,
        help="output format (default: text)",
    )
    parser.add_argument(
        "--dialect", help="force a dialect instead of detecting it (`vitscfg dialects` lists them)"
    )
    parser.add_argument(
        "--select",
        action="append",
        metavar="CODES",
        help="only these codes or prefixes, e.g. VC2 or VC201,VC203",
    )
    parser.add_argument(
        "--ignore", action="append", metavar="CODES", help="skip these codes or prefixes"
    )
    parser.add_argument("--strict", action="store_true", help="warnings fail the run too")
    parser.add_argument("--no-data", action="store_true", help="do not read filelists or audio")
    parser.add_argument(
        "--data-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="extra folder to resolve filelist and audio paths from",
    )
    parser.add_argument(
        "--fix", action="store_true", help="apply the safe fixes in place (atomic write)"
    )
    parser.add_argument(
        "--diff",
        action="store_true",
        help="print the safe fixes as a diff on stderr; change nothing",
    )
    color = parser.add_mutually_exclusive_group()
    color.add_argument(
        "--color",
        dest="color",
        action="store_const",
        const=True,
        default=None,
        help="colour text output (default: only on a terminal)",
    )
    color.add_argument("--no-color", dest="color", action="store_const", const=False)
    return parser


def run(argv: Sequence[str]) -> int:
    """Parse `argv` (without the leading 'check') and return the exit code."""
    from pathlib import Path

    args = build_parser().parse_args(list(argv))  # exits 2 on usage errors

    def fail(message: str) -> int:
        sys.stderr.write(f"vitscfg check: {message}\n")
        return 2

    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")  # skip entry-point scans
    from vitscfg.config.dialect import DIALECTS
    from vitscfg.lint.report import REPORTERS
    from vitscfg.lint.run import CheckOptions, check_paths, expand_paths, parse_codes
    from vitscfg.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        return fail(str(exc))
    dialect = args.dialect or settings.dialect
    if dialect is not None and dialect not in DIALECTS:
        return fail(f"unknown dialect {dialect!r}; choose from {', '.join(DIALECTS)}")
    options = CheckOptions(
        dialect=dialect,
        select=parse_codes(args.select) or settings.select,
        ignore=parse_codes(args.ignore) or settings.ignore,
        check_data=settings.data and not args.no_data,
        search_dirs=tuple(Path(d) for d in args.data_dir),
    )
    # Unreadable paths are usage errors (exit 2), but the readable files are still
    # checked and reported, so one bad glob does not hide every finding.
    unreadable: list[str] = []
    result = check_paths(expand_paths(args.files, unreadable), options, unreadable)
    for message in unreadable:
        fail(message)
    if args.fix or args.diff:
        from vitscfg.lint.fixcmd import apply_fixes

        result = apply_fixes(result, options, write=args.fix)
    use_color = (
        args.color
        if args.color is not None
        else (args.output_format == "text" and sys.stdout.isatty() and "NO_COLOR" not in os.environ)
    )
    text = REPORTERS[args.output_format](result, color=use_color)
    sys.stdout.write(text + ("\n" if text and not text.endswith("\n") else ""))
    return 2 if unreadable else result.exit_code(args.strict or settings.strict)
