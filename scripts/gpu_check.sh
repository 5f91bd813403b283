#!/usr/bin/env bash
# scripts/gpu_check.py in one call of a GPU machine whose image has torch but not vitscfg's
# core dependencies (built here by `make gpu-deps`, carried as .gpu_deps). The device call
# and what to do with its files: docs/gpu-validation.md, "Running the GPU check".
#
#   bash scripts/gpu_check.sh [gpu_check.py options]
#
# Writes under $OUT (default bench/out): gpu_check.json, gpu_check.log and
# estimator-accuracy.md (the page, also written to docs/ on that machine).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-bench/out}"
mkdir -p "$OUT"
export OUT PYTHONUNBUFFERED=1
export PYTHONPATH="$PWD/.gpu_deps/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY="${PYTHON:-python3}"

# Say what is missing (or built for another Python) before any GPU time is spent.
"$PY" - <<'PYEOF' || exit 2
import pathlib, sys
here = f"{sys.version_info[0]}.{sys.version_info[1]}"
stamp = pathlib.Path(".gpu_deps/site/PYTHON_VERSION")
built = stamp.read_text().strip() if stamp.exists() else None
missing = []
for name in ("torch", "pydantic", "pydantic_core", "typer", "rich", "psutil", "pynvml", "yaml"):
    try:
        __import__(name)
    except Exception as exc:
        missing.append(f"{name} ({type(exc).__name__}: {exc})")
import importlib.util
print(f"gpu_check.sh: Python {here}; .gpu_deps built for {built or 'nothing (absent)'}")
if built and built != here:
    print(f"gpu_check.sh: .gpu_deps holds wheels for Python {built}, this is {here}: "
          f"rebuild with `make gpu-deps GPU_PY={here}`")
if missing:
    print("gpu_check.sh: cannot import " + "; ".join(missing) + ". Build .gpu_deps with "
          f"`make gpu-deps GPU_PY={here}` and carry it")
    sys.exit(2)
import torch
print(f"gpu_check.sh: torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}")
PYEOF

"$PY" scripts/gpu_check.py "$@" 2>&1 | tee "$OUT/gpu_check.log"
rc=${PIPESTATUS[0]}
[ -f docs/estimator-accuracy.md ] && cp docs/estimator-accuracy.md "$OUT/"
exit "$rc"
