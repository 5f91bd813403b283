"""`vitscfg lsp`: the language server's wiring (pygls, stdio).

Each handler is a few lines: it reads the buffer, calls the module that owns the
idea (analysis, data, convert, hover, actions, completion) and answers. Every
handler is guarded: a bug or a strange buffer ends in a logged message
(window/logMessage), never in a dead server.
"""

from __future__ import annotations

import functools
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from vitscfg import __version__
from vitscfg.diagnostic import Diagnostic
from vitscfg.lsp import actions, completion, hover
from vitscfg.lsp.analysis import analyse, relocate, tree_around
from vitscfg.lsp.convert import Positions, bom_shift, to_lsp
from vitscfg.lsp.cursor import cursor_at, hover_cursor
from vitscfg.lsp.data import DataChecks, DataKey, data_key
from vitscfg.lsp.documents import OpenDocument, lang_of, opened, uri_path

STATUS = "vitscfg/status"
_log = logging.getLogger("vitscfg.lsp")
F = TypeVar("F", bound=Callable[..., Any])


class VitscfgServer(LanguageServer):
    """Owns the open documents, the client's language and the data passes."""

    def __init__(self) -> None:
        super().__init__("vitscfg", __version__)
        self.docs: dict[str, OpenDocument] = {}
        self.lang = "en"
        self.last_check_ms = 0.0
        self._data: DataChecks | None = None

    @property
    def data_checks(self) -> DataChecks:
        # Created on first use, inside the running event loop.
        if self._data is None:
            self._data = DataChecks(self._data_done, self.log)
        return self._data

    def log(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        self.window_log_message(types.LogMessageParams(kind, message))

    def positions(self, uri: str) -> Positions:
        text = self.workspace.get_text_document(uri).source
        encoding = self.workspace.position_encoding
        # An enum member (PositionEncodingKind.Utf8) or a plain string: its value.
        return Positions(text, str(getattr(encoding, "value", encoding) or "utf-16"))

    def publish(self, uri: str) -> None:
        state = self.docs.get(uri)
        if state is None:
            return
        positions = self.positions(uri)
        shift = bom_shift(positions.text)
        found = [to_lsp(d, state.doc, positions, shift) for d in state.diagnostics()]
        if state.analysis.skipped and state.doc is None:
            found.append(
                types.Diagnostic(
                    range=types.Range(types.Position(0, 0), types.Position(0, 0)),
                    message=state.analysis.skipped,
                    severity=types.DiagnosticSeverity.Information,
                    source="vitscfg",
                )
            )
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri, found))

    def refresh(self, uri: str, *, saved: bool = False) -> None:
        """The fast pass on the buffer now; the data pass later, off the edit path."""
        started = time.perf_counter()
        text = self.workspace.get_text_document(uri).source
        before = self.docs.get(uri)
        path = before.path if before else uri_path(uri)
        analysis, note = analyse(text, path)
        if note:
            self.log(note, types.MessageType.Info)
        doc = analysis.doc
        data: tuple[Diagnostic, ...] = ()
        if doc is not None and doc.parsed and analysis.skipped is None:
            cached = self.data_checks.cached(doc)
            # Until the new data pass ends, the last one stays (placed on the new
            # text), so findings do not flicker on every keystroke.
            data = relocate(cached[1] if cached else (before.data if before else ()), doc)
        state = opened(uri, analysis, before, data)
        self.docs[uri] = state
        self.publish(uri)
        self.last_check_ms = (time.perf_counter() - started) * 1000
        if doc is not None and doc.parsed and analysis.skipped is None and state.local:
            if saved:
                self.data_checks.forget(uri, doc.path)
            self.data_checks.schedule(uri, doc, now=saved)

    def _data_done(self, uri: str, key: DataKey, found: tuple[Diagnostic, ...]) -> None:
        state = self.docs.get(uri)
        doc = state.doc if state else None
        if state is None or doc is None or not doc.parsed or data_key(doc) != key:
            return  # the text changed since: a newer pass is on its way
        self.docs[uri] = opened(uri, state.analysis, state, relocate(found, doc))
        self.publish(uri)


server = VitscfgServer()


def guarded(func: F) -> F:
    """Log instead of raising: one bad buffer must not stop the server."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            _log.exception("vitscfg lsp: %s failed", func.__name__)
            server.log(f"vitscfg: {func.__name__} failed: {type(exc).__name__}: {exc}")
            return None

    return wrapper  # type: ignore[return-value]


def _setting(settings: Any) -> None:
    """`vitscfg.lang` from initializationOptions or workspace settings."""
    if not isinstance(settings, dict):
        return
    section = settings.get("vitscfg", settings)
    lang = lang_of(section.get("lang")) if isinstance(section, dict) else None
    if lang:
        server.lang = lang


@server.feature(types.INITIALIZE)
@guarded
def initialize(params: types.InitializeParams) -> None:
    server.lang = lang_of(params.locale) or "en"
    _setting(params.initialization_options)


@server.feature(types.INITIALIZED)
@guarded
def initialized(params: types.InitializedParams) -> None:
    # The field docs cost ~0.3 s to build: build them now, not on the first hover.
    threading.Thread(target=hover.warm_up, name="vitscfg-docs", daemon=True).start()
    _pull_configuration()


def _pull_configuration() -> None:
    workspace = server.client_capabilities.workspace
    if workspace is None or not workspace.configuration:
        return

    def got(future: Any) -> None:
        try:
            result = future.result()
        except Exception:
            return
        if result:
            _setting({"vitscfg": result[0]})

    server.workspace_configuration(
        types.ConfigurationParams([types.ConfigurationItem(section="vitscfg")]), callback=got
    )


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
@guarded
def did_change_configuration(params: types.DidChangeConfigurationParams) -> None:
    _setting(params.settings)
    _pull_configuration()


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
@guarded
def did_open(params: types.DidOpenTextDocumentParams) -> None:
    server.refresh(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
@guarded
def did_change(params: types.DidChangeTextDocumentParams) -> None:
    server.refresh(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
@guarded
def did_save(params: types.DidSaveTextDocumentParams) -> None:
    server.refresh(params.text_document.uri, saved=True)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
@guarded
def did_close(params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    state = server.docs.pop(uri, None)
    server.data_checks.forget(uri)
    if state is not None:
        server.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri, []))


def _offset(uri: str, position: types.Position) -> tuple[OpenDocument, Positions, int] | None:
    state = server.docs.get(uri)
    if state is None:
        return None
    positions = server.positions(uri)
    return state, positions, positions.offset(position)


def _format(state: OpenDocument) -> str:
    return state.doc.format if state.doc is not None else "json"


@server.feature(types.TEXT_DOCUMENT_HOVER)
@guarded
def on_hover(params: types.HoverParams) -> types.Hover | None:
    found = _offset(params.text_document.uri, params.position)
    if found is None:
        return None
    state, positions, offset = found
    return hover.hover(hover_cursor(positions.text, offset, _format(state)), server.lang)


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, actions.FIX_ALL]),
)
@guarded
def on_code_action(params: types.CodeActionParams) -> list[types.CodeAction] | None:
    uri = params.text_document.uri
    state = server.docs.get(uri)
    if state is None or state.doc is None:
        return None
    positions = server.positions(uri)
    lines = (params.range.start.line, params.range.end.line)
    only = [str(k) for k in params.context.only] if params.context.only else None
    return actions.code_actions(
        uri, state.doc, state.diagnostics(), positions, bom_shift(positions.text), lines, only
    )


@server.feature(
    types.TEXT_DOCUMENT_COMPLETION,
    types.CompletionOptions(trigger_characters=['"', ":", " "], resolve_provider=True),
)
@guarded
def on_completion(params: types.CompletionParams) -> types.CompletionList | None:
    found = _offset(params.text_document.uri, params.position)
    if found is None:
        return None
    state, positions, offset = found
    cursor = cursor_at(positions.text, offset, _format(state))
    edit_range = types.Range(positions.position(cursor.start), params.position)
    tree = tree_around(positions.text, params.position.line, state.path) if cursor.in_key else None
    items = completion.completions(
        cursor,
        state.dialect,
        state.present_keys(tuple(t for t in cursor.path if t), tree),
        _format(state),
        edit_range,
    )
    return types.CompletionList(is_incomplete=False, items=items)


@server.feature(types.COMPLETION_ITEM_RESOLVE)
@guarded
def on_completion_resolve(item: types.CompletionItem) -> types.CompletionItem:
    data = item.data
    if isinstance(data, dict) and data.get("section") and data.get("name"):
        text = hover.field_markdown(str(data["section"]), str(data["name"]), server.lang)
        if text:
            item.documentation = types.MarkupContent(types.MarkupKind.Markdown, text)
    return item


@server.feature(STATUS)
@guarded
def status(params: Any) -> dict[str, Any]:
    """Health of the server, for tests and benchmarks: whether torch was ever
    imported (it must not be), the last fast pass's duration, pending data passes."""
    return {
        "version": __version__,
        "torch_imported": "torch" in sys.modules,
        "open_documents": len(server.docs),
        "last_check_ms": server.last_check_ms,
        "data_pending": server.data_checks.pending(),
        "lang": server.lang,
    }


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    server.start_io()
