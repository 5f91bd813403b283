"""Entry point (`vitscfg` console script and `python -m vitscfg`).

`check` is dispatched before typer is imported: it runs in pre-commit on every
commit, and typer + click cost more start-up time than the check itself.
"""

from __future__ import annotations

import sys


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "check":
        from vitscfg.lint.command import run

        sys.exit(run(sys.argv[2:]))
    if sys.argv[1:] == ["lsp"]:  # editors start the server often: no typer either
        from vitscfg.lsp import serve

        sys.exit(serve())
    from vitscfg.cli import app

    app()


if __name__ == "__main__":
    main()
