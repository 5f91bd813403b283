"""Text frontend of the bundled trainer: cleaners, symbol ids, blank interspersing.

The cleaner names and what they do follow jaywalnut310/vits `text/cleaners.py` so that
a config written for the reference trains the same symbols here, but the code is our own
and needs no external program except for
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

from vitscfg.data.english import expand_abbreviations, normalize_numbers

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
