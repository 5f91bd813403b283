"""A fast subset of bench/mutation_recall.py: a seeded sample of mutants of every
config in tests/fixtures/unseen_configs must meet issue 15's bars."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench" / "mutation_recall.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutation_recall", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_sampled_mutants_meet_the_bars() -> None:
    bench = _bench()
    report = bench.run(bench.FOLDER, sample=10, seed=15, show=5)
    assert report["files"] >= 20
    assert report["breaking"] >= 150 and report["harmless"] >= 20
    assert report["crashes"] == 0, report["misses"]
    assert report["recall"] >= bench.RECALL_BAR, report["misses"]
    assert report["noise"] <= bench.NOISE_BAR, report["noisy_examples"]


def test_a_broken_checker_would_fail_the_bars() -> None:
    """The bench can fail: with every finding dropped, recall is 0."""
    bench = _bench()
    bench.findings = lambda config, suffix: set()
    report = bench.run(bench.FOLDER, sample=3, seed=1, show=0)
    assert report["recall"] == 0.0
