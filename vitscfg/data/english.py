"""English text normalisation for `english_cleaners`: abbreviations and numbers spelled
out ("Dr." -> "doctor", "$3.50" -> "three dollars, fifty cents", "1984" -> "nineteen
eighty four"), as the reference's cleaner does, so its configs train the same text.

Its own module because it is a small language-specific rule set of its own (number
words, ordinals, years, money), used by text.py's cleaners only.
"""

from __future__ import annotations

import re

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
