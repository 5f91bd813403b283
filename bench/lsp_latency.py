"""Latency of `vitscfg lsp` per change, as an editor sees it.

Why: the server re-checks the buffer on every keystroke; the bar is under 50 ms
per change on examples/ljs_base.json after warm-up, without importing torch.

A real LSP client (pygls) starts `python -m vitscfg lsp` on stdio, opens the
config, and sends full-text changes that alternately break and repair
`train.segment_size` (8000 / 8192, so VC201 comes and goes). For each change it
measures the wall time from sending `didChange` to receiving the matching
`publishDiagnostics` (JSON-RPC both ways included), and reads the server's own
fast-pass time from the `vitscfg/status` request.

With `--data N` the config is copied next to a generated corpus of N short WAVs
(filelist `train.txt`), and changes are spaced by `--interval` seconds (default
0.4, beyond the 0.3 s debounce), so each change also starts a data pass (N
header reads in the server's worker thread): the edit path must stay fast while
it runs.

Usage: .venv/bin/python bench/lsp_latency.py [CONFIG] [--changes N] [--data N]
[--interval S] [--check] (--check: exit 1 when the median misses the bar or
torch was imported).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "examples" / "ljs_base.json"
BAR_MS = 50.0
WARM_UP = 10


def corpus(config: Path, clips: int, folder: Path) -> Path:
    """A copy of `config` whose filelists name `clips` short WAVs beside it."""
    (folder / "wavs").mkdir()
    lines = []
    for i in range(clips):
        with wave.open(str(folder / "wavs" / f"{i}.wav"), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(22050)
            out.writeframes(b"\x00\x01" * 2205)
        lines.append(f"wavs/{i}.wav|a short sentence number {i}.\n")
    (folder / "train.txt").write_text("".join(lines), encoding="utf-8")
    cfg = json.loads(config.read_text(encoding="utf-8"))
    cfg["data"]["training_files"] = cfg["data"]["validation_files"] = "train.txt"
    copy = folder / "config.json"
    copy.write_text(json.dumps(cfg, indent=2), encoding="utf-8")
    return copy


async def run(config: Path, changes: int, interval: float = 0.0) -> dict[str, Any]:
    client = LanguageClient("lsp-latency-bench", "1")
    arrived: asyncio.Queue[list[str]] = asyncio.Queue()
    uri = config.resolve().as_uri()

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def diagnostics(params: types.PublishDiagnosticsParams) -> None:
        if params.uri == uri:
            arrived.put_nowait([str(d.code) for d in params.diagnostics])

    await client.start_io(sys.executable, "-m", "vitscfg", "lsp")
    started = time.perf_counter()
    await client.initialize_async(
        types.InitializeParams(capabilities=types.ClientCapabilities(), process_id=None)
    )
    client.initialized(types.InitializedParams())
    good = config.read_text(encoding="utf-8")
    if '"segment_size": 8192' not in good:
        raise SystemExit(f"{config}: expected a segment_size of 8192 to flip")
    bad = good.replace('"segment_size": 8192', '"segment_size": 8000', 1)
    opened = time.perf_counter()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "json", 1, good))
    )
    await arrived.get()
    first_ms = (time.perf_counter() - started) * 1000
    open_ms = (time.perf_counter() - opened) * 1000
    round_trips: list[float] = []
    server_side: list[float] = []
    for version in range(2, 2 + WARM_UP + changes):
        broken = version % 2 == 0
        sent = time.perf_counter()
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(version=version, uri=uri),
                [types.TextDocumentContentChangeWholeDocument(bad if broken else good)],
            )
        )
        while ("VC201" in await arrived.get()) != broken:
            pass  # a data pass published for the previous text; the next one is ours
        elapsed = (time.perf_counter() - sent) * 1000
        status: Any = await client.protocol.send_request_async("vitscfg/status", {})
        if interval:
            await asyncio.sleep(interval)
        if version >= 2 + WARM_UP:
            round_trips.append(elapsed)
            server_side.append(float(status.last_check_ms))
    torch = bool(status.torch_imported)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return {
        "first_ms": first_ms,
        "open_ms": open_ms,
        "round_trips": round_trips,
        "server_side": server_side,
        "torch_imported": torch,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", nargs="?", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--data", type=int, default=0, metavar="N")
    parser.add_argument("--interval", type=float, default=None, metavar="S")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    interval = args.interval if args.interval is not None else (0.4 if args.data else 0.0)
    with tempfile.TemporaryDirectory() as tmp:
        config = corpus(args.config, args.data, Path(tmp)) if args.data else args.config
        result = asyncio.run(run(config, args.changes, interval))
    trips = sorted(result["round_trips"])
    side = sorted(result["server_side"])

    def pct(values: list[float], q: float) -> float:
        return values[min(len(values) - 1, int(q * len(values)))]

    median = statistics.median(trips)
    print(f"config: {args.config}" + (f" (copy beside {args.data} WAVs)" if args.data else ""))
    if interval:
        print(f"changes every {interval:.2f} s: a data pass runs during the next change")
    print(
        f"process start + initialize + first diagnostics: {result['first_ms']:.0f} ms "
        f"(didOpen -> publishDiagnostics, cold: {result['open_ms']:.0f} ms)"
    )
    print(
        f"per change ({len(trips)} changes after {WARM_UP} warm-up), didChange -> "
        f"publishDiagnostics: median {median:.1f} ms, p95 {pct(trips, 0.95):.1f} ms, "
        f"max {trips[-1]:.1f} ms"
    )
    print(
        f"server side (fast pass + publish): median {statistics.median(side):.1f} ms, "
        f"p95 {pct(side, 0.95):.1f} ms"
    )
    print(f"torch imported by the server: {result['torch_imported']}")
    ok = median < BAR_MS and not result["torch_imported"]
    print(f"bar: median < {BAR_MS:.0f} ms and no torch -> {'met' if ok else 'MISSED'}")
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
