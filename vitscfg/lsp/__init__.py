"""`vitscfg lsp`: the linter live in the editor (Language Server Protocol, stdio).

Needs the optional `[lsp]` extra (pygls). The server reuses the linter's public
API (`lint/run.py`, `lint/fix.py`, `explain.py`, the compiled schemas) and, like
`check`, never imports torch. This module itself imports nothing heavy, so the
CLI can call `serve` without typer (editors start the server often).
"""

from __future__ import annotations

import importlib.util
import sys


def serve() -> int:
    """Run the server on stdin/stdout until the client says exit; 2 without pygls."""
    if importlib.util.find_spec("pygls") is None:
        sys.stderr.write(
            "vitscfg: `vitscfg lsp` needs the [lsp] extra: pip install 'vitscfg[lsp]'\n"
        )
        return 2
    from vitscfg.lsp.server import main

    main()
    return 0
