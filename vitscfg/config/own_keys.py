"""vitscfg's own keys in the configs of forks it builds or trains.

Why: vitscfg builds several forks' networks (`vitscfg.model.build_nets`) and trains some
forks' configs itself, reading its own keys there too (`model.discriminator_width`,
`train.grad_accum_steps`, `train.use_gpu`, ...). `check` must then say that vitscfg reads
them, not that they have no effect. Read by `check`, so it imports neither pydantic nor
torch: the train keys come from the compiled schemas (vitscfg's train section less VITS's).
"""

from __future__ import annotations

from functools import cache

from vitscfg.config.compiled import load_compiled

#: Dialects whose configs `vitscfg train` trains itself; it refuses the others, with the
#: reason in vitscfg/model/support.py (tests/lint/test_vitscfg_keys_in_forks.py ties them).
TRAINED_DIALECTS = frozenset({"vits", "vits2", "mb-istft-vits", "mb-istft-vits2"})

#: vitscfg's own model keys that `vitscfg train` and `vitscfg estimate` read in these
#: dialects' configs: vitscfg builds those forks' discriminators with the width.
MODEL_KEYS: dict[str, frozenset[str]] = {
    "model.discriminator_width": TRAINED_DIALECTS | {"bert-vits2", "style-bert-vits2", "melotts"},
}


@cache
def train_keys() -> frozenset[str]:
    """``train.<key>`` for every key of vitscfg's train section that VITS's lacks."""
    ours = load_compiled("vitscfg").sections["train"].fields
    reference = load_compiled("vits").sections["train"].fields
    return frozenset(f"train.{key}" for key in ours - reference)


def reads_own_key(pointer: str, dialect: str | None) -> str | None:
    """Which vitscfg command reads vitscfg's own key ``pointer`` (``section.key``) in a
    ``dialect`` config, or None where only vitscfg's own dialect does."""
    if dialect in MODEL_KEYS.get(pointer, ()):
        return "model"
    if dialect in TRAINED_DIALECTS and pointer in train_keys():
        return "train"
    return None
