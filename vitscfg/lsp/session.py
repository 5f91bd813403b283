"""The server's state: the open buffers, the client's language, the data passes,
and the two moves that change them (a fast pass on an edit, a finished data
pass). Handlers in server.py call these; nothing else writes the state."""

from __future__ import annotations

import time

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from vitscfg import __version__
from vitscfg.diagnostic import Diagnostic
from vitscfg.lsp.analysis import analyse, relocate
from vitscfg.lsp.convert import Positions, bom_shift, to_lsp
from vitscfg.lsp.data import DataChecks, DataKey, data_key
from vitscfg.lsp.documents import OpenDocument, opened, uri_path


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

    def shutdown(self) -> None:
        """Also when the client vanishes without `shutdown` (stdin closed)."""
        if self._data is not None:
            self._data.close()
        super().shutdown()  # type: ignore[no-untyped-call]

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
        if note and (before is None or before.analysis.skipped != analysis.skipped):
            self.log(note, types.MessageType.Info)  # once, not on every keystroke
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
