"""Time the no-GPU path of `vitscfg estimate` (bar: under 30 s for ljs_base on 2 cores).

    .venv/bin/python bench/estimate_speed.py

Runs the CLI in a subprocess (imports included) for examples/ljs_base.json (fp32), the
reference ljs_base config (fp16_run: true) and the tiny example, default grids, --no-data, and prints wall and CPU seconds (the CLI and its forked
trace processes) with the 1-minute load average before each run: on a shared machine the
wall time scales with the load, the CPU time much less.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = [
    ROOT / "examples" / "ljs_base.json",  # fp32: meta traces
    # The reference ljs_base trains with fp16_run: meta traces with autocast emulated
    # (meta_autocast.py; 35 s as fake traces, 13 s now, at load 1.2).
    ROOT / "tests" / "fixtures" / "shared_configs" / "jaywalnut310__vits__configs_ljs_base.json",
    ROOT / "examples" / "tiny" / "config.json",
]


def main() -> int:
    for config in CONFIGS:
        load = os.getloadavg()[0]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "vitscfg",
                "estimate",
                str(config),
                "--no-data",
                "--format",
                "json",
            ],
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}"
        print(f"{config.name}: {wall:.1f} s wall, {cpu:.1f} s CPU ({status}, load {load:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
