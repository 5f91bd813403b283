"""Per-project defaults from `[tool.vitscfg]` in the nearest pyproject.toml.

```toml
[tool.vitscfg]
dialect = "vits2"          # default for --dialect
select = ["VC1", "VC2"]    # default for --select
ignore = ["VC105"]         # default for --ignore
strict = false             # warnings fail the run
data = true                # false = --no-data
```
Command-line options always win.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


class SettingsError(Exception):
    pass


@dataclass(frozen=True)
class Settings:
    dialect: str | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    strict: bool = False
    data: bool = True
    source: Path | None = None


def find_pyproject(start: Path) -> Path | None:
    for folder in [start, *start.parents]:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_settings(start: Path | None = None) -> Settings:
    path = find_pyproject((start or Path.cwd()).resolve())
    if path is None:
        return Settings()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read [tool.vitscfg]: {exc}") from None
    if "vitscfg" not in text:  # most pyproject.toml files: skip tomllib (~10 ms per check)
        return Settings()
    import tomllib

    try:
        table: Any = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: cannot read [tool.vitscfg]: {exc}") from None
    section = table.get("tool", {}).get("vitscfg")
    if not isinstance(section, dict):
        return Settings()

    def codes(key: str) -> tuple[str, ...]:
        value = section.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SettingsError(f"{path}: [tool.vitscfg] {key} must be a list of rule codes")
        return tuple(v.upper() for v in value)

    dialect = section.get("dialect")
    if dialect is not None and not isinstance(dialect, str):
        raise SettingsError(f"{path}: [tool.vitscfg] dialect must be a string")
    for key in ("strict", "data"):
        if key in section and not isinstance(section[key], bool):
            raise SettingsError(f"{path}: [tool.vitscfg] {key} must be true or false")
    return Settings(
        dialect,
        codes("select"),
        codes("ignore"),
        bool(section.get("strict", False)),
        bool(section.get("data", True)),
        path,
    )
