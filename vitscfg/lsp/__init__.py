"""`vitscfg lsp`: the linter live in the editor (Language Server Protocol, stdio).

Needs the optional `[lsp]` extra (pygls). The server reuses the linter's public
API (`lint/run.py`, `lint/fix.py`, `explain.py`, the compiled schemas) and, like
`check`, never imports torch.
"""
