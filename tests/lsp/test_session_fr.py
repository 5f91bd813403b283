"""A second client: French locale (LSP `initialize`), UTF-8 positions, YAML."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pygls")
pytest_lsp = pytest.importorskip("pytest_lsp")
from lsprotocol import types  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities  # noqa: E402

from tests.lsp.test_server import BROKEN, _line_of, _open, _wait  # noqa: E402
from vitscfg.explain import find_field, render_field  # noqa: E402

pytestmark = pytest.mark.asyncio


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "vitscfg", "lsp"]),
)
async def client(lsp_client: LanguageClient) -> Any:
    capabilities = client_capabilities("visual-studio-code")
    capabilities.general = types.GeneralClientCapabilities(
        position_encodings=[types.PositionEncodingKind.Utf8]
    )
    await lsp_client.initialize_session(
        types.InitializeParams(capabilities=capabilities, locale="fr-FR")
    )
    yield
    await lsp_client.shutdown_session()


async def test_french_utf8_yaml(client: LanguageClient, tmp_path: Path) -> None:
    text = BROKEN.read_text(encoding="utf-8").replace(
        '"segment_size": 8000', '"note": "réglé 😋", "segment_size": 8000'
    )
    uri = _open(client, tmp_path / "config.json", text)
    found = await _wait(client, uri, lambda ds: any(d.code == "VC201" for d in ds))
    line = _line_of(text, '"segment_size"')
    prefix = text.splitlines()[line].split('"segment_size"')[0]
    vc201 = next(d for d in found if d.code == "VC201")
    assert vc201.range.start == types.Position(line, len(prefix.encode("utf-8")))
    hovered = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), vc201.range.start)
    )
    assert hovered is not None and isinstance(hovered.contents, types.MarkupContent)
    assert hovered.contents.value == render_field(find_field("train.segment_size")[0], "fr")

    yaml_text = "train:\n  segment_size: 8192\n  fp16_run: \ndata:\n  hop_length: 256\n"
    uri = _open(client, tmp_path / "config.yaml", yaml_text)
    await _wait(client, uri, lambda ds: True)
    hovered = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(4, 4))
    )
    assert hovered is not None and isinstance(hovered.contents, types.MarkupContent)
    assert hovered.contents.value == render_field(find_field("data.hop_length")[0], "fr")
    items = await client.text_document_completion_async(
        types.CompletionParams(types.TextDocumentIdentifier(uri), types.Position(2, 12))
    )
    assert isinstance(items, types.CompletionList)
    assert {i.label for i in items.items} == {"true", "false"}
