"""The data pass (VC3xx) off the edit path: debounced, in one worker process,
cached by the config's content and the modification times of the files it names.

Why off the edit path: a data pass reads a filelist and one header per clip
(seconds on a large corpus); the edit path must answer in milliseconds. Why a
process, not a thread: in a thread, the pass's filelist parsing and header
threads hold the GIL, and edits waited behind them (bench/lsp_latency.py --data
3000, 2-core box: p95 76 ms, max 477 ms per change with a thread; 37 / 39 ms
with a process). Why one worker: two
cores are shared with the editor; passes never overlap, and a newer edit
cancels a pass that has not started yet. The worker is spawned (not forked from
a process running threads) on the first data pass.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from vitscfg.config.load import Document
from vitscfg.diagnostic import Diagnostic
from vitscfg.lsp.analysis import data_diagnostics

#: Wait this long after the last change before reading the disk.
DEBOUNCE_S = 0.3

DataKey = tuple[str, str, tuple[tuple[str, float], ...]]


def data_key(doc: Document) -> DataKey:
    """What a data pass depends on: the config's values and the files its data
    section names (filelists), by modification time. Editing the whole config is
    conservative: any value may change a data finding's wording or severity."""
    canonical = json.dumps(doc.data, sort_keys=True, default=str)
    section = doc.data.get("data") if isinstance(doc.data, dict) else None
    folder = Path(doc.path).resolve().parent
    stamps: list[tuple[str, float]] = []
    for value in (section or {}).values():
        if not isinstance(value, str) or not value.strip() or len(value) > 4096:
            continue
        for base in (folder, Path.cwd()):
            try:
                stamps.append((value, os.stat(base / value).st_mtime))
                break
            except (OSError, ValueError):
                continue
    return doc.path, canonical, tuple(stamps)


class DataChecks:
    """Schedules data passes; `done(uri, key, diagnostics)` is called on the event
    loop with each finished pass, so its owner updates its own state."""

    def __init__(
        self,
        done: Callable[[str, DataKey, tuple[Diagnostic, ...]], None],
        log: Callable[[str], None],
        debounce_s: float = DEBOUNCE_S,
    ) -> None:
        self._done = done
        self._log = log
        self._debounce_s = debounce_s
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._cache: dict[str, tuple[DataKey, tuple[Diagnostic, ...]]] = {}
        self._pool: ProcessPoolExecutor | None = None

    def cached(self, doc: Document) -> tuple[DataKey, tuple[Diagnostic, ...]] | None:
        """The last pass for this file, if nothing it depends on has changed."""
        entry = self._cache.get(doc.path)
        return entry if entry is not None and entry[0] == data_key(doc) else None

    def schedule(self, uri: str, doc: Document, *, now: bool = False) -> None:
        old = self._tasks.pop(uri, None)
        if old is not None:
            old.cancel()
        self._tasks[uri] = asyncio.get_running_loop().create_task(self._run(uri, doc, now))

    def forget(self, uri: str, path: str | None = None) -> None:
        task = self._tasks.pop(uri, None)
        if task is not None:
            task.cancel()
        if path is not None:
            self._cache.pop(path, None)

    async def _run(self, uri: str, doc: Document, now: bool) -> None:
        if not now:
            await asyncio.sleep(self._debounce_s)
        key = data_key(doc)
        entry = self._cache.get(doc.path)
        if entry is not None and entry[0] == key:
            self._done(uri, key, entry[1])
            return
        loop = asyncio.get_running_loop()
        try:
            found = await loop.run_in_executor(self._worker(), data_diagnostics, doc)
        except BrokenProcessPool:
            self._pool = None  # the worker died (killed, out of memory): a new one next time
            self._log(f"{doc.path}: the data-check worker stopped; retrying on the next edit")
            return
        except Exception as exc:  # a data pass must never take the server down
            self._log(f"{doc.path}: data checks failed: {type(exc).__name__}: {exc}")
            return
        self._cache[doc.path] = (key, found)
        self._done(uri, key, found)

    def _worker(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    def pending(self) -> int:
        return sum(1 for task in self._tasks.values() if not task.done())

    def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # A running pass cannot be cancelled, and interpreter exit would wait for
        # it (seconds on a large corpus): end the worker so the server exits now.
        terminate = getattr(pool, "terminate_workers", None)  # Python 3.14+
        if terminate is not None:
            terminate()
            return
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
