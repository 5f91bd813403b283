"""`vitscfg lsp`: the language server's wiring (pygls, stdio).

`build()` registers one handler per LSP feature on a fresh VitscfgServer
(session.py owns the state). Each handler is a few lines: it reads the buffer,
calls the module that owns the idea (analysis, data, convert, hover, actions,
completion) and answers. Every handler is guarded: a bug or a strange buffer
ends in a logged message (window/logMessage), never in a dead server.
"""

from __future__ import annotations

import functools
import logging
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from lsprotocol import types

from vitscfg import __version__
from vitscfg.lsp import actions, completion, hover
from vitscfg.lsp.analysis import tree_around
from vitscfg.lsp.convert import Positions, bom_shift
from vitscfg.lsp.cursor import cursor_at, hover_cursor
from vitscfg.lsp.documents import OpenDocument, lang_of
from vitscfg.lsp.session import VitscfgServer

STATUS = "vitscfg/status"
_log = logging.getLogger("vitscfg.lsp")
F = TypeVar("F", bound=Callable[..., Any])


def lang_setting(settings: Any) -> str | None:
    """`vitscfg.lang` from initializationOptions or workspace settings."""
    if not isinstance(settings, dict):
        return None
    section = settings.get("vitscfg", settings)
    return lang_of(section.get("lang")) if isinstance(section, dict) else None


def _format(state: OpenDocument) -> str:
    return state.doc.format if state.doc is not None else "json"


def build() -> VitscfgServer:
    """A fresh server with one short handler per LSP feature."""
    ls = VitscfgServer()

    def guarded(func: F) -> F:
        """Log instead of raising: one bad buffer must not stop the server."""

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except Exception as exc:
                _log.exception("vitscfg lsp: %s failed", func.__name__)
                ls.log(f"vitscfg: {func.__name__} failed: {type(exc).__name__}: {exc}")
                return None

        return wrapper  # type: ignore[return-value]

    @ls.feature(types.INITIALIZE)
    @guarded
    def initialize(params: types.InitializeParams) -> None:
        ls.lang = lang_setting(params.initialization_options) or lang_of(params.locale) or "en"

    @ls.feature(types.INITIALIZED)
    @guarded
    def initialized(params: types.InitializedParams) -> None:
        # The field docs cost ~0.3 s to build: build them now, not on the first hover.
        threading.Thread(target=hover.warm_up, name="vitscfg-docs", daemon=True).start()
        _pull_configuration()

    def _pull_configuration() -> None:
        workspace = ls.client_capabilities.workspace
        if workspace is None or not workspace.configuration:
            return

        def got(future: Any) -> None:
            try:
                result = future.result()
            except Exception:
                return
            lang = lang_setting({"vitscfg": result[0]}) if result else None
            if lang:
                ls.lang = lang

        ls.workspace_configuration(
            types.ConfigurationParams([types.ConfigurationItem(section="vitscfg")]), callback=got
        )

    @ls.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    @guarded
    def did_change_configuration(params: types.DidChangeConfigurationParams) -> None:
        ls.lang = lang_setting(params.settings) or ls.lang
        _pull_configuration()

    @ls.feature(types.SHUTDOWN)
    @guarded
    def shutdown(params: None) -> None:
        ls.data_checks.close()

    @ls.feature(types.TEXT_DOCUMENT_DID_OPEN)
    @guarded
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        ls.refresh(params.text_document.uri)

    @ls.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    @guarded
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        ls.refresh(params.text_document.uri)

    @ls.feature(types.TEXT_DOCUMENT_DID_SAVE)
    @guarded
    def did_save(params: types.DidSaveTextDocumentParams) -> None:
        ls.refresh(params.text_document.uri, saved=True)

    @ls.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    @guarded
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        state = ls.docs.pop(uri, None)
        ls.data_checks.forget(uri)
        if state is not None:
            ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri, []))

    def _offset(uri: str, position: types.Position) -> tuple[OpenDocument, Positions, int] | None:
        state = ls.docs.get(uri)
        if state is None:
            return None
        positions = ls.positions(uri)
        return state, positions, positions.offset(position)

    @ls.feature(types.TEXT_DOCUMENT_HOVER)
    @guarded
    def on_hover(params: types.HoverParams) -> types.Hover | None:
        found = _offset(params.text_document.uri, params.position)
        if found is None:
            return None
        state, positions, offset = found
        cursor = hover_cursor(positions.text, offset, _format(state))
        reason = state.analysis.dialect_reason
        return hover.hover(cursor, ls.lang) or hover.dialect_hover(cursor, state.dialect, reason)

    @ls.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, actions.FIX_ALL]),
    )
    @guarded
    def on_code_action(params: types.CodeActionParams) -> list[types.CodeAction] | None:
        uri = params.text_document.uri
        state = ls.docs.get(uri)
        if state is None or state.doc is None:
            return None
        positions = ls.positions(uri)
        lines = (params.range.start.line, params.range.end.line)
        only = [str(k) for k in params.context.only] if params.context.only else None
        return actions.code_actions(
            uri, state.doc, state.diagnostics(), positions, bom_shift(positions.text), lines, only
        )

    @ls.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        # Not space: indenting a new line would pop up the key list on every keystroke.
        types.CompletionOptions(trigger_characters=['"', ":"], resolve_provider=True),
    )
    @guarded
    def on_completion(params: types.CompletionParams) -> types.CompletionList | None:
        found = _offset(params.text_document.uri, params.position)
        if found is None:
            return None
        state, positions, offset = found
        cursor = cursor_at(positions.text, offset, _format(state))
        edit_range = types.Range(positions.position(cursor.start), params.position)
        tree = (
            tree_around(positions.text, params.position.line, state.path) if cursor.in_key else None
        )
        items = completion.completions(
            cursor,
            state.dialect,
            state.present_keys(tuple(t for t in cursor.path if t), tree),
            _format(state),
            edit_range,
        )
        return types.CompletionList(is_incomplete=False, items=items)

    @ls.feature(types.COMPLETION_ITEM_RESOLVE)
    @guarded
    def on_completion_resolve(item: types.CompletionItem) -> types.CompletionItem:
        data = item.data
        if isinstance(data, dict) and data.get("section") and data.get("name"):
            text = hover.field_markdown(str(data["section"]), str(data["name"]), ls.lang)
            if text:
                item.documentation = types.MarkupContent(types.MarkupKind.Markdown, text)
        return item

    @ls.feature(STATUS)
    @guarded
    def status(params: Any) -> dict[str, Any]:
        """Health of the server, for tests and benchmarks: whether torch was ever
        imported (it must not be), the last fast pass's duration, pending data passes."""
        return {
            "version": __version__,
            "torch_imported": "torch" in sys.modules,
            "open_documents": len(ls.docs),
            "last_check_ms": ls.last_check_ms,
            "data_pending": ls.data_checks.pending(),
            "lang": ls.lang,
        }

    return ls


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    build().start_io()
