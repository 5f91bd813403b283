"""Cleaners for the dataset's language, and which transcripts the symbol set cannot spell.

vitscfg's text frontend (vitscfg.data.text) has the reference's cleaners; the symbol set
is the reference's (letters, punctuation, IPA). English text gets ``english_cleaners``
(numbers, abbreviations, ASCII); other Latin-script languages ``transliteration_cleaners``
(ASCII); anything else ``basic_cleaners`` and the coverage report says what falls
outside the symbols. ``english_cleaners2`` (phonemes) needs espeak-ng, so it is chosen
only on request (``--cleaners``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

LANGUAGE_CLEANERS: dict[str, list[str]] = {
    "en": ["english_cleaners"],
    "latin": ["transliteration_cleaners"],
    "other": ["basic_cleaners"],
}
_ENGLISH_WORDS = frozenset(
    ("the", "and", "of", "to", "a", "in", "is", "it", "that", "was", "he", "for", "you", "with")
)
_WORD = re.compile(r"[^\W\d_]+")


def guess_language(texts: Sequence[str]) -> str:
    """ "en", "latin" or "other" from the letters and common words of the transcripts."""
    letters = Counter(c for t in texts[:2000] for c in t if c.isalpha())
    total = sum(letters.values())
    if total == 0:
        return "other"
    latin = sum(n for c, n in letters.items() if c.isascii() or "LATIN" in _name(c))
    if latin / total < 0.9:
        return "other"
    words = [w.lower() for t in texts[:2000] for w in _WORD.findall(t)]
    common = sum(w in _ENGLISH_WORDS for w in words)
    ascii_share = sum(n for c, n in letters.items() if c.isascii()) / total
    return "en" if words and common / len(words) > 0.08 and ascii_share > 0.98 else "latin"


def _name(char: str) -> str:
    import unicodedata

    return unicodedata.name(char, "")


@dataclass(frozen=True)
class Cleaned:
    text: str | None  # None: cannot be spelled (see reason)
    reason: str = ""


def clean_all(texts: Sequence[str], cleaners: Sequence[str]) -> list[Cleaned]:
    """Each transcript cleaned and checked against the reference symbol set."""
    from vitscfg.data.symbols import VITS_SYMBOL_SET
    from vitscfg.data.text import clean_texts

    cleaned = clean_texts(list(texts), list(cleaners))
    # Letters a cleaner deletes (english_cleaners' ASCII step drops what it cannot
    # transliterate) would vanish from the training text without a word: count them as
    # outside the symbol set too.
    letters = sorted({c for t in texts for c in t if c.isalpha() and c not in VITS_SYMBOL_SET})
    lost = {
        c
        for c, kept in zip(letters, clean_texts(letters, list(cleaners)), strict=True)
        if not kept.strip()
    }
    out = []
    for raw, text in zip(texts, cleaned, strict=True):
        missing = sorted({c for c in text if c not in VITS_SYMBOL_SET} | (lost & set(raw)))
        if missing:
            shown = "".join(missing[:10])
            out.append(Cleaned(None, f"characters outside the symbol set: {shown!r}"))
        elif not text.strip():
            out.append(Cleaned(None, "empty transcript after cleaning"))
        else:
            out.append(Cleaned(text))
    return out
