"""The language server's parts in-process (no pygls client): the cursor scanner,
position conversion, the two-pass split against `check`, fixes, completion."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("lsprotocol")
from lsprotocol import types  # noqa: E402

from tests.conftest import REPO, shared_configs  # noqa: E402
from vitscfg.config.load import load, load_bytes  # noqa: E402
from vitscfg.lint.fix import fixed_text  # noqa: E402
from vitscfg.lint.run import CheckOptions, check_document  # noqa: E402
from vitscfg.lsp import actions, completion, hover  # noqa: E402
from vitscfg.lsp.analysis import analyse, data_diagnostics, merged, tree_around  # noqa: E402
from vitscfg.lsp.convert import Positions, diagnostic_span, to_lsp  # noqa: E402
from vitscfg.lsp.cursor import Cursor, cursor_at, hover_cursor, json_cursor  # noqa: E402
from vitscfg.lsp.documents import lang_of, uri_path  # noqa: E402

BROKEN = REPO / "tests" / "fixtures" / "configs" / "broken_segment.json"
YAML = """train:
  batch_size: 16
  fp16_run: true
data:
  sampling_rate: 22050
  hop_length: 256
model:
  resblock: "1"
"""


def test_json_cursor_knows_key_value_and_path() -> None:
    text = '{"train": {"batch_size": 16, "fp1'
    cursor = json_cursor(text, len(text))
    assert cursor == Cursor(("train",), True, "fp1", "fp1", len(text) - 3, True)
    text = '{"train": {"fp16_run": tr'
    cursor = json_cursor(text, len(text))
    assert (cursor.path, cursor.in_key, cursor.key, cursor.prefix) == (
        ("train",),
        False,
        "fp16_run",
        "tr",
    )
    # Lists do not confuse the path; a closed object pops it.
    text = '{"model": {"upsample_rates": [8, 8], "x": {}}, "data": {"'
    assert json_cursor(text, len(text)).path == ("data",)


def test_yaml_cursor_follows_indentation() -> None:
    offset = YAML.index("fp16_run")
    assert cursor_at(YAML, offset + 4, "yaml").path == ("train",)
    assert cursor_at(YAML, offset + 4, "yaml").in_key
    end = YAML.index("true")
    cursor = cursor_at(YAML, end, "yaml")
    assert (cursor.path, cursor.key, cursor.in_key) == (("train",), "fp16_run", False)
    hovered = hover_cursor(YAML, YAML.index("hop_length") + 2, "yaml")
    assert hover.field_of(hovered) == ("data", "hop_length")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet='{}[]":, \n\\abtrue0123/#-\t', max_size=80), st.data())
def test_cursor_never_fails(text: str, data: st.DataObject) -> None:
    offset = data.draw(st.integers(-2, len(text) + 2))
    for fmt in ("json", "yaml"):
        cursor = cursor_at(text, offset, fmt)
        assert 0 <= cursor.start <= max(0, min(offset, len(text)))
        hover_cursor(text, max(0, min(offset, len(text))), fmt)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('ab"\n\r:é中😋')), max_size=40))
def test_positions_round_trip(text: str) -> None:
    for encoding in ("utf-16", "utf-8", "utf-32"):
        positions = Positions(text, encoding)
        for offset in range(len(text) + 1):
            if text[offset - 1 : offset + 1] == "\r\n":
                continue  # inside a line break: no position of its own
            assert positions.offset(positions.position(offset)) == offset


def test_utf16_columns_count_surrogate_pairs() -> None:
    positions = Positions('{"x😋": 1}', "utf-16")
    assert positions.position(len('{"x😋"')) == types.Position(0, 6)
    assert Positions('{"x😋": 1}', "utf-32").position(len('{"x😋"')) == types.Position(0, 5)


def test_vc201_range_covers_key_and_value() -> None:
    doc = load(BROKEN)
    diag = next(
        d
        for d in check_document(doc, CheckOptions(check_data=False)).diagnostics
        if d.code == "VC201"
    )
    start, end = diagnostic_span(diag, doc)
    assert doc.text[start:end] == '"segment_size": 8000'
    lsp = to_lsp(diag, doc, Positions(doc.text))
    assert lsp.range.start == types.Position(diag.line - 1, diag.column - 1)
    assert lsp.code == "VC201" and lsp.severity == types.DiagnosticSeverity.Error


@pytest.mark.parametrize("path", shared_configs(), ids=lambda p: p.name[:40])
def test_fast_and_data_passes_equal_check(path: Path) -> None:
    """The editor's two passes together report exactly what `check` reports."""
    text = path.read_text(encoding="utf-8-sig")
    analysis, _ = analyse(text, str(path))
    assert analysis.doc is not None and analysis.skipped is None
    both = merged(analysis.diagnostics, data_diagnostics(analysis.doc))
    full = check_document(load_bytes(text.encode(), str(path)), CheckOptions()).diagnostics
    assert both == full


def test_non_configs_and_huge_buffers_are_skipped() -> None:
    analysis, note = analyse('{"name": "my-app", "version": "1.0.0"}', "/x/package.json")
    assert analysis.diagnostics == () and analysis.skipped and note
    flat = "sampling_rate: 22050\nhop_length: 256\nbatch_size: 8\n"  # a flat YAML config
    analysis, _ = analyse(flat, "/x/config.yaml")
    assert analysis.skipped is None and analysis.doc is not None and analysis.doc.parsed
    analysis, note = analyse("{" + " " * 2_000_000 + "}", "/x/config.json")
    assert analysis.doc is None and analysis.skipped and "too large" in analysis.skipped
    analysis, _ = analyse("\udcff\x00binary", "/x/config.json")
    assert [d.code for d in analysis.diagnostics] == ["VC001"]


def test_quick_fix_and_fix_all_match_check_fix() -> None:
    text = BROKEN.read_text(encoding="utf-8")
    doc = load_bytes(text.encode(), str(BROKEN))
    found = check_document(doc, CheckOptions(check_data=False)).diagnostics
    positions = Positions(text)
    got = actions.code_actions("file:///c.json", doc, found, positions, 0, (0, 10_000))
    titles = [a.title for a in got]
    assert any(t.startswith("VC201: round segment_size to 7936") for t in titles)
    fix_all = got[-1]
    assert fix_all.kind == actions.FIX_ALL and fix_all.edit and fix_all.edit.changes
    (edit,) = fix_all.edit.changes["file:///c.json"]
    start, end = positions.offset(edit.range.start), positions.offset(edit.range.end)
    assert text[:start] + edit.new_text + text[end:] == fixed_text(doc, found)[0]


def test_bom_fix_removes_the_first_character() -> None:
    text = '\ufeff{"train": {"batch_size": 16}}'
    doc = load_bytes(text.encode(), "c.json")
    found = check_document(doc, CheckOptions(check_data=False)).diagnostics
    got = actions.code_actions("u", doc, found, Positions(text), 1, (0, 0), ["quickfix"])
    bom = next(a for a in got if a.title.startswith("VC006"))
    assert bom.edit and bom.edit.changes
    (edit,) = bom.edit.changes["u"]
    assert (edit.range.start, edit.range.end, edit.new_text) == (
        types.Position(0, 0),
        types.Position(0, 1),
        "",
    )


def test_completion_for_yaml_and_unknown_dialects() -> None:
    rng = types.Range(types.Position(0, 0), types.Position(0, 0))
    cursor = Cursor(("train",), True, "", "", 0, False)
    items = completion.completions(cursor, "vits2", {"batch_size"}, "yaml", rng)
    labels = {i.label: i for i in items}
    assert "batch_size" not in labels and labels["segment_size"].text_edit is not None
    assert labels["segment_size"].text_edit.new_text == "segment_size: "
    # An unknown dialect: every dialect's fields, so a renamed fork still gets help.
    merged_labels = {i.label for i in completion.completions(cursor, "unknown", set(), "json", rng)}
    assert {"segment_size", "batch_size"} <= merged_labels
    value = Cursor(("model",), False, "transformer_flow_type", "", 0, True)
    values = {i.label for i in completion.completions(value, "vits2", set(), "json", rng)}
    assert '"fft"' in values


def test_tree_around_drops_the_line_being_typed() -> None:
    text = '{"train": {\n  "seed": 1,\n  "ba\n}}'
    assert tree_around(text, 2, "c.json") == {"train": {"seed": 1}}


def test_lang_and_paths() -> None:
    assert lang_of("fr-CA") == "fr" and lang_of("en_US") == "en" and lang_of(None) is None
    assert uri_path("file:///home/a%20b/config.json") == "/home/a b/config.json"
    assert uri_path("file:///C:/x/config.json") == "C:/x/config.json"
    assert uri_path("untitled:Untitled-1") == "untitled:Untitled-1"


def test_hover_text_is_explain_text() -> None:
    from vitscfg.explain import find_field, render_field

    text = json.dumps({"train": {"segment_size": 8192}}, indent=2)
    cursor = hover_cursor(text, text.index("segment_size") + 3, "json")
    got = hover.hover(cursor, "fr")
    assert got is not None and isinstance(got.contents, types.MarkupContent)
    assert got.contents.value == render_field(find_field("train.segment_size")[0], "fr")


def test_lsp_command_without_pygls_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from typer.testing import CliRunner

    from vitscfg.cli import app

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pygls" else real(name, *a)
    )
    result = CliRunner().invoke(app, ["lsp"])
    assert result.exit_code == 2
    assert "pip install 'vitscfg[lsp]'" in result.output


def test_data_key_follows_content_and_filelist_mtime(tmp_path: Path) -> None:
    from vitscfg.lsp.data import data_key

    (tmp_path / "train.txt").write_text("a.wav|x\n", encoding="utf-8")
    text = '{"data": {"training_files": "train.txt", "sampling_rate": 22050}}'
    path = str(tmp_path / "config.json")
    key = data_key(load_bytes(text.encode(), path))
    assert key == data_key(load_bytes(text.replace(", ", ",\n  ").encode(), path))
    assert key != data_key(load_bytes(text.replace("22050", "16000").encode(), path))
    os.utime(tmp_path / "train.txt", (1, 1))
    assert key != data_key(load_bytes(text.encode(), path))


_CONFIGISH = st.text(
    alphabet='{}[]":, \n\r\\trainmodelsegment_size0123456789.-eé😋\ufeff', max_size=120
)


@settings(max_examples=150, deadline=None)
@given(_CONFIGISH, st.sampled_from(["c.json", "c.yaml"]))
def test_any_buffer_gives_diagnostics_inside_the_text(text: str, name: str) -> None:
    """Whatever is typed, the fast pass answers and every range lies in the buffer."""
    analysis, _ = analyse(text, name)
    positions = Positions(text)
    shift = 1 if text.startswith("\ufeff") else 0
    end = positions.position(len(text))
    for diag in analysis.diagnostics:
        got = to_lsp(diag, analysis.doc, positions, shift)
        for pos in (got.range.start, got.range.end):
            assert (pos.line, pos.character) <= (end.line, end.character)
        assert (got.range.start.line, got.range.start.character) <= (
            got.range.end.line,
            got.range.end.character,
        )


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_half_edited_configs_keep_answering(data: st.DataObject) -> None:
    """A real config cut or typed into anywhere: fast pass, completion and hover answer."""
    text = BROKEN.read_text(encoding="utf-8")
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 40)))
    text = text[:start] + data.draw(st.text(alphabet='"{}[],: \nab1.', max_size=6)) + text[end:]
    analysis, _ = analyse(text, "c.json")
    positions = Positions(text)
    for diag in analysis.diagnostics:
        to_lsp(diag, analysis.doc, positions)
    offset = data.draw(st.integers(0, len(text)))
    cursor = cursor_at(text, offset, "json")
    rng = types.Range(positions.position(cursor.start), positions.position(offset))
    completion.completions(cursor, analysis.dialect, set(), "json", rng)
    hover.hover(hover_cursor(text, offset, "json"), "en")


def test_hover_on_a_section_names_the_dialect_and_why() -> None:
    text = BROKEN.read_text(encoding="utf-8")
    analysis, _ = analyse(text, str(BROKEN))
    cursor = hover_cursor(text, text.index('"train"') + 2, "json")
    assert hover.hover(cursor, "en") is None
    got = hover.dialect_hover(cursor, analysis.dialect, analysis.dialect_reason)
    assert got is not None and isinstance(got.contents, types.MarkupContent)
    expected = check_document(load(BROKEN), CheckOptions(check_data=False))
    assert f"**{expected.dialect}**" in got.contents.value
    assert expected.dialect_reason and expected.dialect_reason in got.contents.value
