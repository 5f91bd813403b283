"""Text frontend: cleaners, number words, symbol ids, blanks, clear errors."""

from __future__ import annotations

import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vitscfg.data import english
from vitscfg.data import text as T
from vitscfg.data.symbols import VITS_SYMBOL_SET, VITS_SYMBOLS


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "zero"),
        (7, "seven"),
        (13, "thirteen"),
        (21, "twenty one"),
        (100, "one hundred"),
        (115, "one hundred fifteen"),
        (1000, "one thousand"),
        (100_000, "one hundred thousand"),
        (1_234_567, "one million two hundred thirty four thousand five hundred sixty seven"),
        (-4, "minus four"),
    ],
)
def test_number_to_words(n, words):
    assert english.number_to_words(n) == words


@pytest.mark.parametrize(
    ("n", "words"),
    [(1, "first"), (2, "second"), (3, "third"), (5, "fifth"), (12, "twelfth"), (20, "twentieth")]
    + [(21, "twenty first"), (101, "one hundred first"), (1000, "one thousandth")],
)
def test_ordinals(n, words):
    assert english.ordinal_to_words(n) == words


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("In 1984 we met.", "in nineteen eighty four we met."),
        (
            "Year 2005 and 2010, 1900, 1905",
            "year two thousand five and twenty ten, nineteen hundred, nineteen oh five",
        ),
        ("2000 people", "two thousand people"),
        ("It costs $3.50 now", "it costs three dollars, fifty cents now"),
        ("$1", "one dollar"),
        ("£2.01", "two pounds, one penny"),
        ("€5", "five euros"),
        ("1,000,000 ants", "one million ants"),
        ("pi is 3.14", "pi is three point one four"),
        ("the 21st day", "the twenty first day"),
        ("12% off", "twelve percent off"),
        ("agent 007", "agent zero zero seven"),
        ("Mr. and Mrs. Smith met Dr. Who", "mister and misess smith met doctor who"),
        ("St. Louis, Capt. Hook", "saint louis, captain hook"),
        ("  Café   Müller  ", "cafe muller"),
    ],
)
def test_english_cleaners(text, cleaned):
    assert T.english_cleaners(text) == cleaned


def test_basic_and_transliteration_cleaners():
    assert T.basic_cleaners("  Hello\t  WORLD \n") == "hello world"
    assert T.basic_cleaners("Ça va") == "ça va"  # basic keeps non-ASCII letters
    assert T.transliteration_cleaners("Ça   VA, Łódź straße") == "ca va, lodz strasse"
    assert T.transliteration_cleaners("“quoted” — œuvre…") == '"quoted" - oeuvre...'
    assert T.convert_to_ascii("日本 ok") == " ok"  # no mapping: removed


@given(st.text(max_size=60))
def test_cleaners_output_ascii_and_single_spaces(s):
    for name in ("transliteration_cleaners", "english_cleaners"):
        out = T.CLEANERS[name](s)
        assert out.isascii()
        assert "  " not in out and out == out.strip()


def test_registry_and_unknown_cleaner():
    assert set(T.CLEANERS) == {
        "basic_cleaners",
        "transliteration_cleaners",
        "english_cleaners",
        "english_cleaners2",
    }
    with pytest.raises(T.UnknownCleanerError, match="japanese_cleaners.*known: basic_cleaners"):
        T.clean_text("x", ["japanese_cleaners"])


def test_intersperse():
    assert T.intersperse([5, 6, 7]) == [0, 5, 0, 6, 0, 7, 0]
    assert T.intersperse([], 0) == [0]
    assert T.intersperse([1], 9) == [9, 1, 9]


def test_text_to_ids_cleaned_and_raw():
    ids = T.text_to_ids("Hi, 2!", VITS_SYMBOLS, False, ["english_cleaners"])
    assert "".join(VITS_SYMBOLS[i] for i in ids) == "hi, two!"
    # "'" is listed twice in the vits set; the later id wins, as in the reference.
    assert T.text_to_ids("'", VITS_SYMBOLS, True) == [176]
    ipa = "ðə kˈæt"
    assert [VITS_SYMBOLS[i] for i in T.text_to_ids(ipa, VITS_SYMBOLS, True)] == list(ipa)


def test_unknown_symbol_names_character_line_and_file():
    with pytest.raises(T.UnknownSymbolError) as info:
        T.text_to_ids("hello-world", VITS_SYMBOLS, True, source="lists/a.txt", line=7)
    msg = str(info.value)
    assert "'-'" in msg and "HYPHEN-MINUS" in msg and "lists/a.txt, line 7" in msg
    assert "cleaned_text" in msg
    assert info.value.char == "-" and info.value.line == 7
    with pytest.raises(T.UnknownSymbolError, match=r"cleaners \['basic_cleaners'\] leave it in"):
        T.text_to_ids("50", VITS_SYMBOLS, False, ["basic_cleaners"])


def test_english_cleaners_output_is_in_the_symbol_set():
    text = "Dr. Smith paid $12.50 on March 3rd, 1999 (twice)."
    cleaned = T.english_cleaners(text).replace("(", "").replace(")", "")
    assert set(cleaned) <= VITS_SYMBOL_SET


def test_english_cleaners2_without_phonemizer_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "phonemizer", None)  # import fails
    with pytest.raises(T.CleanerUnavailable) as info:
        T.english_cleaners2("hello")
    assert info.value.install == "pip install phonemizer"
    assert "english_cleaners2" in str(info.value)
    with pytest.raises(T.TextFrontendError):
        T.clean_texts(["a", "b"], ["english_cleaners2"])


def test_english_cleaners2_without_espeak_is_a_clear_error(monkeypatch):
    import types

    fake = types.ModuleType("phonemizer")
    backend = types.ModuleType("phonemizer.backend")

    class EspeakBackend:
        @staticmethod
        def is_available() -> bool:
            return False

    backend.EspeakBackend = EspeakBackend
    fake.phonemize = lambda *a, **k: pytest.fail("must not phonemize")
    monkeypatch.setitem(sys.modules, "phonemizer", fake)
    monkeypatch.setitem(sys.modules, "phonemizer.backend", backend)
    with pytest.raises(T.CleanerUnavailable, match="apt-get install espeak-ng"):
        T.english_cleaners2("hello")


def test_english_cleaners2_batches_one_call(monkeypatch):
    import types

    calls = []
    fake = types.ModuleType("phonemizer")
    backend = types.ModuleType("phonemizer.backend")
    backend.EspeakBackend = type("B", (), {"is_available": staticmethod(lambda: True)})

    def phonemize(texts, **kwargs):
        calls.append((list(texts), kwargs))
        return [t.upper() + "  " for t in texts]

    fake.phonemize = phonemize
    monkeypatch.setitem(sys.modules, "phonemizer", fake)
    monkeypatch.setitem(sys.modules, "phonemizer.backend", backend)
    assert T.clean_texts(["Mr. A", "b  c"], ["english_cleaners2"]) == ["MISTER A", "B C"]
    assert len(calls) == 1 and calls[0][1]["with_stress"] and calls[0][1]["language"] == "en-us"
    assert T.clean_texts([], ["english_cleaners2"]) == []


def test_real_phonemizer_when_installed():
    pytest.importorskip("phonemizer")
    try:
        out = T.english_cleaners2("Hello world.")
    except T.CleanerUnavailable:
        pytest.skip("espeak-ng library not installed")
    assert set(out) <= VITS_SYMBOL_SET
