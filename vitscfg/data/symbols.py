"""Symbol sets that decide which characters a cleaned filelist may contain.

With `data.cleaned_text: true` the loader maps each character of the text column
straight to an id through the fork's `text/symbols.py`; an unknown character is a
KeyError in jaywalnut310/vits (`text/__init__.py`) and is silently dropped in the
CjangCjengh forks. The ids are positions in this list, so
the order matters to the trainer's text frontend, not only the membership.
"""

from __future__ import annotations

from typing import Any

# jaywalnut310/vits text/symbols.py (english_cleaners2 output: IPA from phonemizer).
PAD = "_"
PUNCTUATION = ';:,.!?¡¿—…"«»“” '
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
LETTERS_IPA = (
    "ɑɐɒæɓʙβɔɕçɗɖðʤəɘɚɛɜɝɞɟʄɡɠɢʛɦɧħɥʜɨɪʝɭɬɫɮʟɱɯɰŋɳɲɴøɵɸθœɶʘɹɺɾɻʀʁɽʂʃʈʧʉʊʋⱱʌɣɤʍχʎʏʑʐʒʔʡʕʢǀǁǂǃˈˌːˑʼʴʰʱʲʷˠˤ˞"
    "↓↑→↗↘'̩'ᵻ"
)

# Ordered as in the reference (ids are list positions); "'" occurs twice there.
VITS_SYMBOLS: tuple[str, ...] = (PAD, *PUNCTUATION, *LETTERS, *LETTERS_IPA)
VITS_SYMBOL_SET: frozenset[str] = frozenset(VITS_SYMBOLS)


def symbols_from_config(value: Any) -> frozenset[str] | None:
    """The top-level `symbols` list of CjangCjengh/SayaSS/vfft configs, if well formed.

    Each entry is one symbol; the loader looks text up character by character, so
    only single-character entries can ever match."""
    if isinstance(value, list) and value and all(isinstance(s, str) for s in value):
        return frozenset(value)
    return None
