"""Where a dialect keeps a reference key: forks rename `data` keys (daniilrobnikov/vits2
reads `n_fft`, `sample_rate`, `n_mels`, `f_min`, `f_max`; Applio `sample_rate`), and a
cross-field rule must read the name the fork reads, or it silently skips that fork.

The dialect's schema is the source: of the reference name and its known synonyms
(config/synonyms.py), the names the dialect's `data` section declares; the one the file
spells wins (Applio's schema keeps `sampling_rate` beside its own `sample_rate`).
"""

from __future__ import annotations

from vitscfg.config.compiled import load_compiled
from vitscfg.config.dialect import DIALECTS
from vitscfg.config.synonyms import SYNONYMS
from vitscfg.lint.registry import Context


def data_key(ctx: Context, key: str) -> str:
    """The name ``ctx``'s dialect reads for the reference `data` key ``key``."""
    if ctx.dialect not in DIALECTS:
        return key
    section = load_compiled(ctx.dialect).sections.get("data")
    if section is None:
        return key
    declared = [k for k in (key, *SYNONYMS.get(key, ())) if k in section.fields]
    spelled = ctx.section("data")
    return next((k for k in declared if k in spelled), declared[0] if declared else key)


def data_pointer(ctx: Context, key: str) -> str:
    """The JSON pointer of :func:`data_key` in the `data` section."""
    return f"/data/{data_key(ctx, key)}"
