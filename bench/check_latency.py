"""Start-up latency of `vitscfg check` against `check-jsonschema`, side by side.

Why: `vitscfg check` runs in pre-commit on every commit, so its cost is mostly
interpreter start-up plus imports. The bar (issue 15) is 0.35 times the wall time
of check-jsonschema validating the same file (ratio ours/theirs <= 0.35), and no
torch import on the check path.

Both commands run N times, interleaved and alternating which goes first, so
machine noise (CPU frequency, page cache) hits both alike. Then one in-process
run reports which heavy modules `vitscfg check` imported.

Usage: .venv/bin/python bench/check_latency.py [CONFIG] [--runs N] [--check]
(--check: exit 1 when the bar is missed or torch was imported).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = (
    REPO_ROOT / "tests/fixtures/shared_configs/jaywalnut310__vits__configs_ljs_base.json"
)
SCHEMA = REPO_ROOT / "schemas" / "vits.schema.json"
BAR = 0.35
HEAVY = ("torch", "numpy", "rich", "pydantic", "pydantic_core", "yaml", "typer", "click")

# Runs the real CLI in-process, then says which heavy modules it pulled in.
_PROBE = """
import json, sys
sys.argv = ["vitscfg", "check", sys.argv[1]]
from vitscfg.__main__ import main
try:
    main()
except SystemExit:
    pass
heavy = {heavy!r}
print("\\n@@MODULES@@" + json.dumps([m for m in heavy if m in sys.modules]))
"""


# An installed package has its .pyc files (pip compiles them); a shell with
# PYTHONDONTWRITEBYTECODE=1 would make the editable checkout recompile every
# module on every run while check-jsonschema's site-packages stay compiled.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _time(command: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_ENV)
    return time.perf_counter() - start, proc.returncode


def _schema(tmp: Path) -> tuple[Path, str]:
    """The generated VITS schema, or a trivial one (which only makes theirs faster)."""
    if SCHEMA.is_file():
        return SCHEMA, str(SCHEMA.relative_to(REPO_ROOT))
    trivial = tmp / "object.schema.json"
    trivial.write_text(json.dumps({"type": "object"}), encoding="utf-8")
    return trivial, f'{{"type": "object"}} (FALLBACK: {SCHEMA.relative_to(REPO_ROOT)} missing)'


def _imported_modules(bin_dir: Path, config: Path) -> list[str] | None:
    probe = _PROBE.format(heavy=HEAVY)
    proc = subprocess.run(
        [str(bin_dir / "python"), "-c", probe, str(config)], capture_output=True, text=True
    )
    for line in proc.stdout.splitlines():
        if line.startswith("@@MODULES@@"):
            return list(json.loads(line.removeprefix("@@MODULES@@")))
    print(f"probe failed (rc {proc.returncode}):\n{proc.stderr[-2000:]}", file=sys.stderr)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--check", action="store_true", help="exit 1 when the bar is missed")
    args = parser.parse_args()
    config: Path = args.config.resolve()
    if not config.is_file():
        parser.error(f"config not found: {config}")

    bin_dir = Path(sys.executable).parent
    ours_exe, theirs_exe = bin_dir / "vitscfg", bin_dir / "check-jsonschema"
    for exe in (ours_exe, theirs_exe):
        if not exe.exists():
            parser.error(f"{exe} not found: run with the project venv's python")

    with tempfile.TemporaryDirectory() as tmp:
        schema, schema_note = _schema(Path(tmp))
        ours = [str(ours_exe), "check", str(config)]
        theirs = [str(theirs_exe), "--schemafile", str(schema), str(config)]
        # One untimed warm-up each (page cache, .pyc files), which also shows
        # whether ours really ran: exit 1 means findings *or* a crash.
        warm = subprocess.run(ours, capture_output=True, text=True, env=_ENV)
        if "Traceback (most recent call last)" in warm.stderr:
            print("WARNING: `vitscfg check` crashed; its timings below mean nothing:")
            print(warm.stderr.strip().splitlines()[-1])
        _time(theirs)
        times: dict[str, list[float]] = {"ours": [], "theirs": []}
        codes: dict[str, set[int]] = {"ours": set(), "theirs": set()}
        for i in range(args.runs):
            order = [("ours", ours), ("theirs", theirs)]
            for name, command in order if i % 2 == 0 else reversed(order):
                elapsed, code = _time(command)
                times[name].append(elapsed)
                codes[name].add(code)

    modules = _imported_modules(bin_dir, config)
    med = {name: statistics.median(t) for name, t in times.items()}
    ratio = med["ours"] / med["theirs"]
    print(f"config: {config}")
    print(f"schema for check-jsonschema: {schema_note}")
    print(f"runs: {args.runs} each, interleaved")
    for name, label in (("ours", "vitscfg check"), ("theirs", "check-jsonschema")):
        print(
            f"  {label:<17} median {med[name] * 1000:7.1f} ms   min "
            f"{min(times[name]) * 1000:7.1f} ms   exit codes {sorted(codes[name])}"
        )
    verdict = "PASS" if ratio <= BAR else "FAIL"
    print(f"ratio ours/theirs (median): {ratio:.2f}  bar <= {BAR}: {verdict}")
    torch = None if modules is None else "torch" in modules
    print(f"torch imported by `vitscfg check`: {'unknown' if torch is None else torch}")
    print(f"heavy modules imported: {modules if modules is not None else 'unknown'}")
    if args.check and (ratio > BAR or torch is not False):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
