"""What the server knows about each open buffer: the last fast pass, the data
findings placed on it, and the last dialect seen (kept while the text does not
parse, so completion still knows the fork mid-edit)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlparse

from vitscfg.config.load import Document
from vitscfg.diagnostic import Diagnostic
from vitscfg.lsp.analysis import Analysis, merged


@dataclass(frozen=True)
class OpenDocument:
    uri: str
    path: str
    analysis: Analysis
    data: tuple[Diagnostic, ...] = ()  # the data pass, located on analysis.doc
    dialect: str | None = None  # of the last text that parsed
    tree: Any = None  # the last value tree that parsed

    @property
    def doc(self) -> Document | None:
        return self.analysis.doc

    @property
    def local(self) -> bool:
        """A file on disk (data checks make sense), not an unsaved buffer."""
        return self.uri.startswith("file:")

    def diagnostics(self) -> list[Diagnostic]:
        return merged(self.analysis.diagnostics, self.data)

    def present_keys(self, path: tuple[str, ...], tree: Any = None) -> set[str]:
        """Keys already in the object at `path`, in `tree` or else in the last
        tree that parsed."""
        node = self.tree if tree is None else tree
        for token in path:
            node = node.get(token) if isinstance(node, dict) else None
        return set(node) if isinstance(node, dict) else set()


def uri_path(uri: str) -> str:
    """The file system path of a file: URI; other schemes (untitled:) keep the URI,
    whose suffix still tells JSON from YAML."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return uri
    path = unquote(parsed.path)
    # file:///C:/x on Windows: drop the slash before the drive letter.
    if len(path) > 2 and path[0] == "/" and path[2] == ":":
        path = path[1:]
    return path


def opened(
    uri: str, analysis: Analysis, before: OpenDocument | None, data: tuple[Diagnostic, ...]
) -> OpenDocument:
    """The state after a fast pass, keeping what the new text cannot tell."""
    doc = analysis.doc
    parsed = doc is not None and doc.parsed and analysis.skipped is None
    return OpenDocument(
        uri,
        uri_path(uri),
        analysis,
        data if parsed else (),
        analysis.dialect if parsed else (before.dialect if before else None),
        doc.data if parsed and doc is not None else (before.tree if before else None),
    )


def lang_of(value: object) -> str | None:
    """'fr', 'fr-FR', 'fr_CA' -> 'fr'; any other locale -> 'en' (the docs' two languages)."""
    if not isinstance(value, str) or not value:
        return None
    return "fr" if value.lower().replace("_", "-").split("-")[0] == "fr" else "en"
