"""The package's import directions (one idea per package, no cycles), read
from the source with `ast`, lazy imports inside functions included:

- `config/` and `lint/` never import torch, `model/`, `train/` or `estimate/` (`check`
  stays torch-free and fast);
- `config/` and `data/` never import `lint/` (the shared Diagnostic type lives in
  `vitscfg/diagnostic.py`);
- `train/` never imports `estimate/` (the estimator imports the trainer's step; the
  trainer's memory check receives its predictor from the CLI).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "vitscfg"

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "config": ("torch", "vitscfg.model", "vitscfg.train", "vitscfg.estimate", "vitscfg.lint"),
    "lint": ("torch", "vitscfg.model", "vitscfg.train", "vitscfg.estimate"),
    "data": ("vitscfg.lint",),
    "train": ("vitscfg.estimate",),
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import statement in the file, wherever it stands."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # `from vitscfg import estimate` names the package in the alias.
            found.extend((node.lineno, f"{node.module}.{a.name}") for a in node.names)
    return found


def violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    out = []
    for path in sorted((PACKAGE / package).rglob("*.py")):
        for line, module in imported_modules(path):
            if any(module == f or module.startswith(f + ".") for f in forbidden):
                out.append(f"{path.relative_to(PACKAGE.parent)}:{line}: imports {module}")
    return out


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_import_directions(package: str) -> None:
    assert violations(package, FORBIDDEN[package]) == []


def test_the_checker_sees_lazy_and_from_imports(tmp_path: Path) -> None:
    """The rule must be able to fail: a function-level import and a `from X import Y`."""
    source = tmp_path / "m.py"
    source.write_text(
        "def f():\n    import torch.nn\n    from vitscfg import estimate\n", encoding="utf-8"
    )
    modules = [m for _, m in imported_modules(source)]
    assert "torch.nn" in modules and "vitscfg.estimate" in modules
