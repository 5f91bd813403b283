"""`vitscfg lsp` driven over stdio by a real LSP client (pytest-lsp), one server
process for the whole module: diagnostics, hover, code actions, completion, and
bad input that must not take the server down."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import wave
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pygls")
pytest_lsp = pytest.importorskip("pytest_lsp")
from lsprotocol import types  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities  # noqa: E402

from tests.conftest import REPO, shared_configs  # noqa: E402
from vitscfg.config.load import load  # noqa: E402
from vitscfg.explain import find_field, render_field  # noqa: E402
from vitscfg.lint.run import CheckOptions, check_document  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="module")
BROKEN = REPO / "tests" / "fixtures" / "configs" / "broken_segment.json"


@pytest_lsp.fixture(
    scope="module",
    config=ClientServerConfig(server_command=[sys.executable, "-m", "vitscfg", "lsp"]),
)
async def client(lsp_client: LanguageClient) -> Any:
    params = types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), locale="en-US"
    )
    await lsp_client.initialize_session(params)
    yield
    await lsp_client.shutdown_session()


async def _wait(
    client: LanguageClient,
    uri: str,
    ok: Callable[[Sequence[types.Diagnostic]], bool],
    timeout: float = 10.0,
) -> Sequence[types.Diagnostic]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = client.diagnostics.get(uri)
        if found is not None and ok(found):
            return found
        await asyncio.sleep(0.01)
    raise AssertionError(f"no matching diagnostics for {uri}: {client.diagnostics.get(uri)}")


async def _status(client: LanguageClient) -> dict[str, Any]:
    result: Any = await client.protocol.send_request_async("vitscfg/status", {})
    # pygls hands back an unknown method's result as a named tuple.
    return result if isinstance(result, dict) else dict(result._asdict())


async def _idle(client: LanguageClient) -> None:
    """Wait until no data pass is pending (the debounce is 0.3 s)."""
    for _ in range(200):
        await asyncio.sleep(0.05)
        if (await _status(client))["data_pending"] == 0:
            return
    raise AssertionError("data passes never finished")


def _open(client: LanguageClient, path: Path, text: str | None = None) -> str:
    uri = path.resolve().as_uri()
    client.diagnostics.pop(uri, None)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(
                uri,
                "yaml" if path.suffix in (".yaml", ".yml") else "json",
                1,
                path.read_text(encoding="utf-8") if text is None else text,
            )
        )
    )
    return uri


def _change(client: LanguageClient, uri: str, text: str, version: int) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=version, uri=uri),
            [types.TextDocumentContentChangeWholeDocument(text)],
        )
    )


def _close(client: LanguageClient, uri: str) -> None:
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri))
    )


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines()) if needle in line)


async def test_segment_diagnostic_hover_and_fix(client: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    text = BROKEN.read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    line = _line_of(text, '"segment_size"')
    started = time.monotonic()
    uri = _open(client, path)
    found = await _wait(client, uri, lambda ds: any(d.code == "VC201" for d in ds), 2.0)
    assert time.monotonic() - started < 2.0
    vc201 = next(d for d in found if d.code == "VC201")
    assert vc201.range.start == types.Position(line, 4)
    assert vc201.range.end == types.Position(line, len('    "segment_size": 8000'))
    assert vc201.severity == types.DiagnosticSeverity.Error

    hovered = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(line, 10))
    )
    assert hovered is not None and isinstance(hovered.contents, types.MarkupContent)
    assert hovered.contents.value == render_field(find_field("train.segment_size")[0], "en")

    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            types.TextDocumentIdentifier(uri),
            vc201.range,
            types.CodeActionContext(diagnostics=[vc201]),
        )
    )
    assert actions is not None
    fix = next(a for a in actions if isinstance(a, types.CodeAction) and "VC201" in a.title)
    assert fix.kind == types.CodeActionKind.QuickFix
    assert fix.edit is not None and fix.edit.changes is not None
    (edit,) = fix.edit.changes[uri]
    assert edit.range.start.line == line and edit.new_text == "7936"
    lines = text.splitlines(keepends=True)
    lines[line] = (
        lines[line][: edit.range.start.character]
        + edit.new_text
        + lines[line][edit.range.end.character :]
    )
    assert json.loads("".join(lines))["train"]["segment_size"] == 7936
    fix_all = [a for a in actions if isinstance(a, types.CodeAction) and a.kind != "quickfix"]
    assert fix_all and fix_all[0].kind == "source.fixAll.vitscfg"
    _close(client, uri)


async def test_hover_in_french_by_setting(client: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    text = BROKEN.read_text(encoding="utf-8")
    uri = _open(client, path, text)
    line = _line_of(text, '"fp16_run"')
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams({"vitscfg": {"lang": "fr"}})
    )
    hovered = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(line, 8))
    )
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams({"vitscfg": {"lang": "en"}})
    )
    assert hovered is not None and isinstance(hovered.contents, types.MarkupContent)
    assert hovered.contents.value == render_field(find_field("train.fp16_run")[0], "fr")
    assert (await _status(client))["lang"] == "en"
    _close(client, uri)


async def test_completion_keys_and_values(client: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    text = BROKEN.read_text(encoding="utf-8")
    uri = _open(client, path, text)
    await _wait(client, uri, lambda ds: True)
    # A new key in train: offered keys are the dialect's, minus those present.
    edited = text.replace('"seed": 1234,', '"seed": 1234,\n    "', 1).replace('"eps": 1e-09,', "")
    _change(client, uri, edited, 2)
    line = _line_of(edited, '"seed"') + 1
    items = await client.text_document_completion_async(
        types.CompletionParams(types.TextDocumentIdentifier(uri), types.Position(line, 5))
    )
    assert isinstance(items, types.CompletionList)
    labels = {i.label for i in items.items}
    assert "eps" in labels and "lr_decay" not in labels and "seed" not in labels
    eps = next(i for i in items.items if i.label == "eps")
    assert eps.text_edit is not None and eps.text_edit.new_text == "eps"
    resolved = await client.completion_item_resolve_async(eps)
    assert isinstance(resolved.documentation, types.MarkupContent)
    assert resolved.documentation.value.startswith("# train.eps")
    # A value: fp16_run takes true or false.
    _change(client, uri, text, 3)
    line = _line_of(text, '"fp16_run"')
    items = await client.text_document_completion_async(
        types.CompletionParams(types.TextDocumentIdentifier(uri), types.Position(line, 16))
    )
    assert isinstance(items, types.CompletionList)
    assert {i.label for i in items.items} == {"true", "false"}
    _close(client, uri)


async def test_same_findings_as_check(client: LanguageClient) -> None:
    """Codes, severities and start positions equal `check`'s, data findings included."""
    for path in shared_configs()[:6]:
        uri = _open(client, path)
        await _wait(client, uri, lambda ds: True)
        await _idle(client)
        expected = check_document(load(path), CheckOptions())
        got = sorted(
            (d.code, int(d.severity or 0), d.range.start.line + 1, d.range.start.character + 1)
            for d in client.diagnostics[uri]
        )
        severity = {"error": 1, "warning": 2, "info": 3}
        want = sorted(
            (d.code, severity[d.severity.value], d.line, d.column) for d in expected.diagnostics
        )
        assert got == want, path.name
        _close(client, uri)


async def test_data_checks_resolve_against_the_configs_folder(
    client: LanguageClient, tmp_path: Path
) -> None:
    """The filelist sits next to the config, not in the server's working folder;
    a missing WAV is reported after the debounce and re-read on save."""
    config = json.loads(BROKEN.read_text(encoding="utf-8"))
    config["data"]["training_files"] = config["data"]["validation_files"] = "train.txt"
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    (tmp_path / "train.txt").write_text("wavs/a.wav|hello there.\n", encoding="utf-8")
    uri = _open(client, path)
    await _wait(client, uri, lambda ds: any(d.code == "VC305" for d in ds), 5.0)
    (tmp_path / "wavs").mkdir()
    with wave.open(str(tmp_path / "wavs" / "a.wav"), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(22050)
        out.writeframes(b"\x01\x00" * 22050)
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri))
    )
    await _wait(client, uri, lambda ds: not any(d.code == "VC305" for d in ds), 5.0)
    _close(client, uri)


async def test_bad_input_keeps_the_server_up(client: LanguageClient, tmp_path: Path) -> None:
    # Not JSON.
    uri = _open(client, tmp_path / "a.json", '{"train": {"batch_size": 16,,}')
    found = await _wait(client, uri, lambda ds: len(ds) > 0)
    assert found[0].code == "VC001"
    # Binary.
    binary = bytes(range(256)).decode("latin-1") * 8
    uri = _open(client, tmp_path / "b.json", binary)
    found = await _wait(client, uri, lambda ds: len(ds) > 0)
    assert found[0].code == "VC001"
    # 50 MB: one information diagnostic and a logged message, quickly.
    big = '{"train": {"x": "' + "a" * 50_000_000 + '"}}'
    started = time.monotonic()
    uri = _open(client, tmp_path / "big.json", big)
    found = await _wait(client, uri, lambda ds: len(ds) > 0, 30.0)
    assert "too large" in found[0].message
    assert time.monotonic() - started < 30.0
    _close(client, uri)
    del big
    # A file deleted while open: edits are still checked, data checks do not fail.
    path = tmp_path / "gone.json"
    text = BROKEN.read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    uri = _open(client, path)
    await _wait(client, uri, lambda ds: any(d.code == "VC201" for d in ds))
    os.remove(path)
    _change(client, uri, text.replace('"segment_size": 8000', '"segment_size": 8192'), 2)
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri))
    )
    await _wait(client, uri, lambda ds: not any(d.code == "VC201" for d in ds))
    await _idle(client)
    status = await _status(client)
    assert status["torch_imported"] is False
    assert status["open_documents"] >= 1
