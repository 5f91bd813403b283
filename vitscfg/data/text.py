"""Text frontend of the bundled trainer: cleaners, symbol ids, blank interspersing.

The cleaner names and what they do follow jaywalnut310/vits `text/cleaners.py`
(constraints.md C10) so that a config written for the reference trains the same
symbols here, but the code is our own and needs no external program except for
`english_cleaners2` (phonemizer + the espeak-ng library), whose absence is
reported as a `CleanerUnavailable` error carrying the install command instead
of an ImportError traceback in a DataLoader worker.

Unknown symbols are an error naming the character, the line and the file (the
reference raises a bare KeyError; some forks drop them silently, so those sounds
are never learned). `vitscfg check` reports the same lines ahead of time (VC314).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType

Cleaner = Callable[[str], str]


class TextFrontendError(Exception):
    """A problem with the text pipeline that the user must fix; the message says how."""


class UnknownCleanerError(TextFrontendError):
    def __init__(self, name: str) -> None:
        known = ", ".join(sorted(CLEANERS))
        super().__init__(f"unknown text cleaner {name!r} in data.text_cleaners (known: {known})")
        self.name = name


class CleanerUnavailable(TextFrontendError):
    """A cleaner needs a program or package that is not installed.

    `install` holds the command(s) that fix it, so a CLI can print them verbatim."""

    def __init__(self, cleaner: str, missing: str, install: str) -> None:
        super().__init__(
            f"text cleaner {cleaner!r} needs {missing}, which is not installed; "
            f"install it with: {install}"
        )
        self.cleaner = cleaner
        self.missing = missing
        self.install = install


class UnknownSymbolError(TextFrontendError):
    """A character of the (cleaned) text has no id in the symbol set."""

    def __init__(
        self,
        char: str,
        text: str,
        source: str | None = None,
        line: int | None = None,
        cleaners: Sequence[str] | None = None,
    ) -> None:
        where = ""
        if source is not None:
            where = f" in {source}" + (f", line {line}" if line is not None else "")
        elif line is not None:
            where = f" on line {line}"
        name = unicodedata.name(char, "unnamed")
        super().__init__(
            f"character {char!r} (U+{ord(char):04X} {name}){where} is not in the symbol set "
            f"(text: {text!r}); "
            + (
                f"the cleaners {list(cleaners)} leave it in: remove it from the filelist or pick "
                "other data.text_cleaners"
                if cleaners is not None
                else "the text is used as-is (data.cleaned_text: true): clean it first, or set "
                "data.cleaned_text to false and pick data.text_cleaners"
            )
        )
        self.char = char
        self.source = source
        self.line = line


# ---------------------------------------------------------------------------
# Basic steps
# ---------------------------------------------------------------------------

_WHITESPACE = re.compile(r"\s+")

# NFKD leaves these without an ASCII base letter; spelled the usual way.
_ONE_TO_ONE = ("øØđĐłŁðÐı‘’‚“”„«»–—\u00a0", 'oOdDlLdDi\'\'\'"""""-- ')
_SPELLED = {"ß": "ss", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "þ": "th", "Þ": "TH", "…": "..."}
_ASCII_EXTRA = str.maketrans({**dict(zip(*_ONE_TO_ONE, strict=True)), **_SPELLED})


def lowercase(text: str) -> str:
    return text.lower()


def collapse_whitespace(text: str) -> str:
    """Runs of whitespace become one space; ends are stripped (the reference keeps
    them, but a leading/trailing space only adds a silent symbol)."""
    return _WHITESPACE.sub(" ", text).strip()


def convert_to_ascii(text: str) -> str:
    """ASCII transliteration without the `unidecode` dependency: NFKD splits accented
    letters into base + combining marks, the marks are dropped, a few letters NFKD
    cannot decompose are spelled out, and anything still non-ASCII (other scripts,
    symbols) is removed, as unidecode does for characters it has no mapping for."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_ASCII_EXTRA))
    kept = (c for c in decomposed if not unicodedata.combining(c))
    return "".join(c for c in kept if ord(c) < 128)


# ---------------------------------------------------------------------------
# English: abbreviations and numbers
# ---------------------------------------------------------------------------

_ABBREVIATIONS = tuple(
    (re.compile(rf"\b{short}\.", re.IGNORECASE), long)
    for short, long in (
        ("mrs", "misess"),
        ("mr", "mister"),
        ("dr", "doctor"),
        ("st", "saint"),
        ("co", "company"),
        ("jr", "junior"),
        ("maj", "major"),
        ("gen", "general"),
        ("drs", "doctors"),
        ("rev", "reverend"),
        ("lt", "lieutenant"),
        ("hon", "honorable"),
        ("sgt", "sergeant"),
        ("capt", "captain"),
        ("esq", "esquire"),
        ("ltd", "limited"),
        ("col", "colonel"),
        ("ft", "fort"),
    )
)


def expand_abbreviations(text: str) -> str:
    for pattern, long in _ABBREVIATIONS:
        text = pattern.sub(long, text)
    return text


_ONES = (  # noqa: SIM905 (one line of words reads better than 20 items)
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL_IRREGULAR = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}


def _below_thousand(n: int) -> list[str]:
    words: list[str] = []
    if n >= 100:
        words += [_ONES[n // 100], "hundred"]
        n %= 100
    if n >= 20:
        words.append(_TENS[n // 10])
        n %= 10
        if n:
            words.append(_ONES[n])
    elif n or not words:
        words.append(_ONES[n])
    return words


def number_to_words(n: int) -> str:
    """Cardinal in words, space separated ("twenty one": the vits symbol set has no
    hyphen) and without "and", as the reference's inflect call (andword='')."""
    if n < 0:
        return "minus " + number_to_words(-n)
    if n >= 10**15:  # beyond trillions: read digit by digit
        return " ".join(_ONES[int(d)] for d in str(n))
    if n == 0:
        return "zero"
    words: list[str] = []
    for value, name in _SCALES:
        if n >= value:
            words += [*_below_thousand(n // value), name]
            n %= value
    if n:
        words += _below_thousand(n)
    return " ".join(words)


def ordinal_to_words(n: int) -> str:
    words = number_to_words(n).split(" ")
    last = words[-1]
    if last in _ORDINAL_IRREGULAR:
        words[-1] = _ORDINAL_IRREGULAR[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def year_or_number(n: int) -> str:
    """1000 < n < 3000 read as a year ("nineteen eighty four", "two thousand five",
    "nineteen hundred"), like the reference; other numbers as cardinals."""
    if not 1000 < n < 3000 or n % 1000 == 0:
        return number_to_words(n)
    if 2000 < n < 2010:
        return "two thousand " + number_to_words(n % 100)
    high, low = divmod(n, 100)
    if low == 0:
        return number_to_words(high) + " hundred"
    if low < 10:
        return f"{number_to_words(high)} oh {number_to_words(low)}"
    return f"{number_to_words(high)} {number_to_words(low)}"


def _digits(s: str) -> str:
    return " ".join(_ONES[int(d)] for d in s)


def _money(amount: str, unit: tuple[str, str], sub: tuple[str, str]) -> str:
    whole_s, _, frac_s = amount.partition(".")
    whole = int(whole_s or "0")
    cents = int((frac_s + "00")[:2]) if frac_s else 0
    parts = []
    if whole or not cents:
        parts.append(f"{number_to_words(whole)} {unit[0] if whole == 1 else unit[1]}")
    if cents:
        parts.append(f"{number_to_words(cents)} {sub[0] if cents == 1 else sub[1]}")
    return ", ".join(parts)


_COMMA_NUMBER = re.compile(r"(?<![\d,])\d{1,3}(?:,\d{3})+(?!\d)")
_DOLLARS = re.compile(r"\$(\d+(?:\.\d+)?)")
_POUNDS = re.compile(r"£(\d+(?:\.\d+)?)")
_EUROS = re.compile(r"€(\d+(?:\.\d+)?)")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s?%")
_DECIMAL = re.compile(r"(\d+)\.(\d+)")
_ORDINAL = re.compile(r"\b(\d+)(?:st|nd|rd|th)\b", re.IGNORECASE)
_INTEGER = re.compile(r"\d+")


def _decimal(m: re.Match[str]) -> str:
    return f"{year_or_number(int(m.group(1))) if len(m.group(1)) < 16 else _digits(m.group(1))} point {_digits(m.group(2))}"


def _integer(m: re.Match[str]) -> str:
    s = m.group(0)
    if len(s) > 1 and s.startswith("0"):  # "007", phone numbers: digit by digit
        return _digits(s)
    return year_or_number(int(s))


def normalize_numbers(text: str) -> str:
    """Numbers to words: 1,000 / $3.50 / £2 / €5 / 12% / 3.14 / 21st / 1984 / 42."""
    text = _COMMA_NUMBER.sub(lambda m: m.group(0).replace(",", ""), text)
    text = _POUNDS.sub(lambda m: _money(m.group(1), ("pound", "pounds"), ("penny", "pence")), text)
    text = _DOLLARS.sub(
        lambda m: _money(m.group(1), ("dollar", "dollars"), ("cent", "cents")), text
    )
    text = _EUROS.sub(lambda m: _money(m.group(1), ("euro", "euros"), ("cent", "cents")), text)
    text = _PERCENT.sub(lambda m: f"{m.group(1)} percent", text)
    text = _DECIMAL.sub(_decimal, text)
    text = _ORDINAL.sub(lambda m: ordinal_to_words(int(m.group(1))), text)
    return _INTEGER.sub(_integer, text)


# ---------------------------------------------------------------------------
# Cleaners (the names configs use)
# ---------------------------------------------------------------------------


def basic_cleaners(text: str) -> str:
    """Lowercase and collapse whitespace; for any language whose letters are symbols."""
    return collapse_whitespace(lowercase(text))


def transliteration_cleaners(text: str) -> str:
    """basic_cleaners after ASCII transliteration (non-English Latin-script text)."""
    return collapse_whitespace(lowercase(convert_to_ascii(text)))


def english_cleaners(text: str) -> str:
    """English without phonemes: ASCII, lowercase, numbers and abbreviations spelled out."""
    # Numbers first: the currency signs £ and € are not ASCII and would be lost.
    text = lowercase(convert_to_ascii(normalize_numbers(text)))
    return collapse_whitespace(expand_abbreviations(text))


def _english_pre_phonemes(text: str) -> str:
    return expand_abbreviations(lowercase(convert_to_ascii(text)))


def _phonemize(texts: list[str]) -> list[str]:
    """IPA with stress and punctuation (the reference's english_cleaners2 settings),
    all texts in one call so that the espeak backend is set up once."""
    try:
        from phonemizer import phonemize  # type: ignore[import-not-found,unused-ignore]
        from phonemizer.backend import (  # type: ignore[import-not-found,unused-ignore]
            EspeakBackend,
        )
    except Exception:  # ImportError, or an OSError from a broken install
        raise CleanerUnavailable(
            "english_cleaners2", "the phonemizer package", "pip install phonemizer"
        ) from None
    try:
        available = bool(EspeakBackend.is_available())
    except Exception:
        available = False
    if not available:
        raise CleanerUnavailable(
            "english_cleaners2",
            "the espeak-ng library",
            "apt-get install espeak-ng (macOS: brew install espeak-ng)",
        )
    out = phonemize(
        texts,
        language="en-us",
        backend="espeak",
        strip=True,
        preserve_punctuation=True,
        with_stress=True,
    )
    return [str(s) for s in out]


def english_cleaners2(text: str) -> str:
    """English to IPA through phonemizer + espeak-ng (numbers are read by espeak)."""
    return collapse_whitespace(_phonemize([_english_pre_phonemes(text)])[0])


CLEANERS: Mapping[str, Cleaner] = MappingProxyType(
    {
        "basic_cleaners": basic_cleaners,
        "transliteration_cleaners": transliteration_cleaners,
        "english_cleaners": english_cleaners,
        "english_cleaners2": english_cleaners2,
    }
)
_BATCHED: Mapping[str, tuple[Cleaner, Callable[[list[str]], list[str]], Cleaner]] = (
    MappingProxyType(
        {"english_cleaners2": (_english_pre_phonemes, _phonemize, collapse_whitespace)}
    )
)


def check_cleaners(names: Iterable[str]) -> list[str]:
    """The names as a list, or UnknownCleanerError for the first unknown one."""
    names = list(names)
    for name in names:
        if name not in CLEANERS:
            raise UnknownCleanerError(name)
    return names


def clean_text(text: str, cleaners: Sequence[str]) -> str:
    for name in check_cleaners(cleaners):
        text = CLEANERS[name](text)
    return text


def clean_texts(texts: Sequence[str], cleaners: Sequence[str]) -> list[str]:
    """clean_text over many texts; phonemizing cleaners run once for the whole batch
    (espeak start-up dominates a per-line call)."""
    out = list(texts)
    for name in check_cleaners(cleaners):
        batched = _BATCHED.get(name)
        if batched is None:
            fn = CLEANERS[name]
            out = [fn(t) for t in out]
        else:
            pre, batch, post = batched
            out = [post(t) for t in batch([pre(t) for t in out])] if out else out
    return out


# ---------------------------------------------------------------------------
# Symbols to ids
# ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _symbol_ids(symbols: tuple[str, ...]) -> Mapping[str, int]:
    # A later duplicate wins, as in the reference's dict comprehension: the vits set
    # lists "'" twice (ids 174 and 176), and trained checkpoints use 176.
    return MappingProxyType({s: i for i, s in enumerate(symbols)})


def text_to_ids(
    text: str,
    symbols: Sequence[str],
    cleaned: bool,
    cleaners: Sequence[str] = (),
    *,
    source: str | None = None,
    line: int | None = None,
) -> list[int]:
    """Ids of `text`: cleaned with `cleaners` first unless `cleaned` is true (the
    filelist already holds symbol strings). `source`/`line` only improve the error."""
    if cleaned:
        return symbols_to_ids(text, symbols, source=source, line=line)
    text = clean_text(text, cleaners)
    return symbols_to_ids(text, symbols, source=source, line=line, cleaners=cleaners)


def symbols_to_ids(
    text: str,
    symbols: Sequence[str],
    *,
    source: str | None = None,
    line: int | None = None,
    cleaners: Sequence[str] | None = None,
) -> list[int]:
    """Map an already-cleaned string character by character; UnknownSymbolError
    for the first character outside `symbols` (`cleaners`: those that produced
    the text, named in the error)."""
    table = _symbol_ids(tuple(symbols))
    try:
        return [table[c] for c in text]
    except KeyError as exc:
        raise UnknownSymbolError(str(exc.args[0]), text, source, line, cleaners) from None


def intersperse(ids: Sequence[int], item: int = 0) -> list[int]:
    """[a, b] -> [item, a, item, b, item]: the blank between symbols of `add_blank`."""
    result = [item] * (len(ids) * 2 + 1)
    result[1::2] = ids
    return result
