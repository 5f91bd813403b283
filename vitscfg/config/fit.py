"""How well a config's keys fit one dialect's schema: a score in [0, 1].

Fingerprints (config/dialect.py) say which fork a config looks like; the fit says
whether the rest of the file agrees. A fork the linter does not know (its own
sections, renamed keys, another toolkit's layout) shares a few keys with VITS and
little else; judging it by the closest dialect's required keys is what turns a
valid file into dozens of false errors. So detection only commits to a dialect
whose fit is at least FIT_THRESHOLD.

score = the share of the file's keys (in the sections present, plus stray
top-level keys) that the dialect reads or knows as no-ops. Missing keys do not
lower it: a half-written config of a known fork is that fork with missing keys
(errors the user wants), while another fork's file is recognised by what it has
that the dialect does not read. One typo in a 45-key config costs ~2 %; a file of
another fork, with its renamed and extra keys, lands far below. The share of
required keys present (counting those the fork's pipeline fills) is reported
alongside, as part of the reason.
Reads the compiled schemas only (no pydantic), so it is cheap on the check path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vitscfg.config.compiled import CompiledSection, load_compiled
from vitscfg.config.pipeline import filled_by

SECTIONS = ("train", "data", "model")
#: Below this, the config is `unknown`. Measured on the real configs in
#: tests/fixtures: >= 0.94 in their own dialect, <= 0.68 for files of forks
#: vitscfg has no dialect for (tests/config/test_fit.py keeps both margins).
FIT_THRESHOLD = 0.8
# A file without train/data/model sections can at most look "somewhat like" a
# sectioned dialect (its keys may be VITS's, its layout is not), and a sectioned
# file like a whole-file one (piper's voice config).
_FLAT_CAP = 0.5


@dataclass(frozen=True)
class Fit:
    dialect: str
    score: float
    known: int  # keys of the file that the dialect reads (or knows as no-ops)
    total: int  # keys of the file, section keys and stray top-level keys
    required_met: int  # required keys present or filled by the fork's pipeline
    required: int

    def describe(self) -> str:
        known = f"{self.known}/{self.total} keys known to {self.dialect}"
        if not self.required:
            return known
        return f"{known}, {self.required_met}/{self.required} of its required keys present"


def _known(section: CompiledSection, keys: Any) -> int:
    return sum(1 for k in keys if k in section.fields or k in section.noop)


def fit(cfg: dict[str, Any], dialect: str) -> Fit:
    """The fit of `cfg` (a parsed config object) to `dialect`."""
    compiled = load_compiled(dialect)
    whole = compiled.sections.get("whole")
    if whole is not None:  # a whole-file schema (piper voice)
        keys = [k for k in cfg if k != "$schema"]
        known = _known(whole, keys)
        met = sum(1 for r in whole.required if r in cfg)
        scored = _score(dialect, known, len(keys), met, len(whole.required))
        if any(isinstance(cfg.get(s), dict) for s in SECTIONS):  # sectioned: not this layout
            return Fit(dialect, round(scored.score * _FLAT_CAP, 3), known, len(keys), met, 0)
        return scored
    present = [s for s in SECTIONS if isinstance(cfg.get(s), dict) and s in compiled.sections]
    if not present:
        everything = [s for s in compiled.sections.values()]
        keys = [k for k in cfg if k != "$schema"]
        known = sum(1 for k in keys if any(k in s.fields for s in everything))
        share = known / len(keys) if keys else 0.0
        return Fit(dialect, round(share * _FLAT_CAP, 3), known, len(keys), 0, 0)
    known = total = met = required = 0
    for name in present:
        section, keys = compiled.sections[name], cfg[name]
        known += _known(section, keys)
        total += len(keys)
        required += len(section.required)
        met += sum(1 for r in section.required if r in keys or filled_by(dialect, f"/{name}/{r}"))
    allowed = {*SECTIONS, *compiled.top_level, "$schema"}
    total += sum(1 for k in cfg if k not in allowed)
    return _score(dialect, known, total, met, required)


def _score(dialect: str, known: int, total: int, met: int, required: int) -> Fit:
    # Empty sections contradict nothing: a skeleton config is the fingerprinted fork.
    key_fit = known / total if total else 1.0
    return Fit(dialect, round(key_fit, 3), known, total, met, required)


def best_fit(cfg: dict[str, Any], dialects: tuple[str, ...]) -> Fit:
    """The dialect that fits best (ties: the first in `dialects`)."""
    fits = [fit(cfg, d) for d in dialects]
    return max(fits, key=lambda f: f.score)
