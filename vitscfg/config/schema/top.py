"""Top-level keys a fork reads besides its `train` / `data` / `model` sections, typed and
documented like section fields (`vitscfg schema` exports them; `check` validates them).
"""

from __future__ import annotations

from typing import Literal

from vitscfg.config.schema.base import Section, field


class RvcTop(Section):
    """RVC's variant: its train script takes both on the command line (``-v``, ``-f0``) and
    records them in the exported model (``"version"``, ``"f0"``); written in the config,
    they tell vitscfg which of RVC's four networks the file trains."""

    version: Literal["v1", "v2"] = field(
        "v2",
        en='RVC model version. "v1": 256-d content features (HuBERT layer 9), discriminator '
        'periods 2-17; "v2": 768-d features (layer 12) and periods 23 and 37 added. Why it '
        "matters: it fixes the content encoder's input width and the discriminator, so it "
        "must match the features your preprocessing extracted and the pretrained G/D you "
        "start from. RVC passes it to train.py as -v; vitscfg reads it here (absent: v2, "
        "the WebUI's default) to build the networks `estimate` traces.",
    )
    if_f0: Literal[0, 1] | bool = field(
        1,
        en="1 (or true): a pitch-guided model, whose NSF decoder is driven by the F0 track "
        "and whose encoder adds a coarse-pitch embedding; 0: no pitch input (plain HiFi-GAN "
        "decoder). Why it matters: a pitch model needs F0 tracks extracted for every clip "
        "and an f0 pretrained base (f0G48k.pth, not G48k.pth), and it changes the generator's "
        "size. RVC passes it to train.py as -f0; vitscfg reads it here (absent: 1, the "
        "WebUI's default).",
    )
